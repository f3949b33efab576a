//! The templates a template includes, imports or extends, found on the controller along
//! Ansible's search path for them and shipped with it (one round trip per node).
//!
//! Ansible's `template` action gives Jinja the task's search path (its role, the task file's
//! directory), the playbook's directory and the template's own directory, each as
//! `<dir>/templates` then `<dir>`; the `template` lookup puts the template's own directory
//! first. Names written as string constants are found here; a name computed while rendering
//! is not known before the run, and rendering it fails naming it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dr_agent::template::includes;
use dr_agent::wire::Task;

use super::search_path;

/// How many templates one template may bring in (a guard against runaway trees).
const MOST: usize = 1000;

/// Which search path: the `template` module's or the `template` lookup's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Searcher {
    Module,
    Lookup,
}

/// The texts of the templates `source` (read from `path`) names, and those they name in
/// turn, by name. Names not found or not UTF-8 are left out.
pub fn gather(
    source: &str,
    path: &Path,
    task: &Task,
    playbook_dir: &Path,
    searcher: Searcher,
) -> BTreeMap<String, String> {
    let dirs = dirs(path, task, playbook_dir, searcher);
    let mut found = BTreeMap::new();
    let mut pending = includes::named(source);
    while let Some(name) = pending.pop() {
        if found.contains_key(&name) || found.len() >= MOST {
            continue;
        }
        let Some(text) = dirs
            .iter()
            .map(|d| d.join(&name))
            .find(|p| p.is_file())
            .and_then(|p| std::fs::read_to_string(p).ok())
        else {
            continue;
        };
        pending.extend(includes::named(&text));
        found.insert(name, text);
    }
    found
}

/// The directories Jinja's loader searches, in order.
fn dirs(path: &Path, task: &Task, playbook_dir: &Path, searcher: Searcher) -> Vec<PathBuf> {
    let own = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut bases = search_path::bases(task, playbook_dir);
    match searcher {
        Searcher::Module => bases.push(own.clone()),
        Searcher::Lookup => {}
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    if searcher == Searcher::Lookup {
        dirs.push(own);
    }
    for base in bases {
        dirs.push(base.join("templates"));
        dirs.push(base);
    }
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

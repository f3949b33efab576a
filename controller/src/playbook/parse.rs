//! Loading playbook files into [`Playbook`]s: plays and `import_playbook`.

use std::path::{Path, PathBuf};

use super::play::{self, Imported};
use super::role::RoleSearch;
use super::scalar::{string_list, text_of};
use super::spec::Playbook;
use crate::diagnostic::{Diagnostic, Loc, did_you_mean};
use crate::yaml::{self, Node};

const MAX_IMPORT_DEPTH: usize = 32;

/// Keys an `import_playbook` entry takes.
const IMPORT_KEYWORDS: &[&str] = &["import_playbook", "name", "when", "vars", "tags"];

/// Loads a playbook file with its imports, finding roles through `search`.
pub fn load(path: &Path, search: &RoleSearch) -> Result<Playbook, Diagnostic> {
    let mut book = Playbook {
        path: path.to_path_buf(),
        plays: Vec::new(),
        rto_target: None,
        rpo_target: None,
    };
    load_into(
        &mut book,
        path,
        search,
        &Imported::default(),
        &mut Vec::new(),
    )?;
    Ok(book)
}

fn load_into(
    book: &mut Playbook,
    path: &Path,
    search: &RoleSearch,
    imported: &Imported,
    stack: &mut Vec<PathBuf>,
) -> Result<(), Diagnostic> {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if stack.contains(&canonical) || stack.len() > MAX_IMPORT_DEPTH {
        return Err(Diagnostic::new(
            Loc::file_start(path),
            format!(
                "`{}` imports itself (through `import_playbook`)",
                path.display()
            ),
        ));
    }
    stack.push(canonical);
    let root = yaml::load_file(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    crate::bridge::add_library(&dir.join("library"));
    crate::bridge::lookups::add_dir(&dir.join("lookup_plugins"));
    crate::bridge::plugins::add_dirs(&dir);
    let items = root.as_seq().ok_or_else(|| {
        Diagnostic::new(
            root.loc.clone(),
            format!("a playbook must be a list of plays, found {}", root.kind()),
        )
        .with_help("start each play with `- name: ...` and `hosts: ...`")
    })?;
    for item in items {
        let Some(entries) = item.as_map() else {
            return Err(Diagnostic::new(
                item.loc.clone(),
                format!("a play must be a mapping, found {}", item.kind()),
            ));
        };
        let has = |k: &str| entries.iter().any(|(key, _)| key.as_str() == Some(k));
        if has("import_playbook") || has("ansible.builtin.import_playbook") {
            let (file, inner) = import(entries, imported)?;
            load_into(book, &dir.join(file), search, &inner, stack)?;
        } else if (has("rto_target") || has("rpo_target")) && !has("hosts") && entries.len() <= 2 {
            book.rto_target = play::rto(entries)?;
            book.rpo_target = play::rpo(entries)?;
        } else {
            book.plays
                .push(play::parse(item, entries, &dir, search, imported)?);
        }
    }
    stack.pop();
    Ok(())
}

/// An `import_playbook` entry: the file, and what it passes to the imported plays.
fn import(entries: &[(Node, Node)], outer: &Imported) -> Result<(String, Imported), Diagnostic> {
    let mut inner = outer.clone();
    let mut file = None;
    for (key, v) in entries {
        let k = key.scalar_text().unwrap_or_default();
        match k.as_str() {
            "import_playbook" | "ansible.builtin.import_playbook" => {
                let name = text_of(v, "import_playbook")?;
                if name.contains("{{") {
                    return Err(Diagnostic::new(
                        v.loc.clone(),
                        "a templated `import_playbook` file name is not supported by dr yet",
                    ));
                }
                file = Some(name);
            }
            "name" => {}
            "when" => inner.when.extend(super::level::when_conditions(v)?),
            "tags" => inner.tags.extend(string_list(v, "tags")?),
            "vars" => {
                // The import's vars sit below each imported play's own.
                inner.vars.extend(super::level::mapping(v, "vars")?);
            }
            _ => {
                let help = did_you_mean(&k, IMPORT_KEYWORDS.iter().copied())
                    .unwrap_or_else(|| format!("it accepts: {}", IMPORT_KEYWORDS.join(", ")));
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    format!("`import_playbook` has no keyword `{k}`"),
                )
                .with_help(help));
            }
        }
    }
    Ok((file.unwrap_or_default(), inner))
}

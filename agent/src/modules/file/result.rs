//! The registered result of `file` in Ansible's shape: `path` (or `dest` and `src` for
//! links and `touch`), the path's owner, group, mode, state and size after the run
//! (`add_path_info`), and in diff mode a `diff` of `before`/`after` mappings as the module
//! builds it (`initial_diff`: the state when it changes, a removed directory's content; a
//! link's old and new `src`; mode, owner and group that change).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::{Map, Value as Json, json};

use super::Change;
use crate::fsutil::{Attrs, Current};

/// Ansible's `get_state`: what `path` is, with a regular file of several names `hard`.
pub(super) fn prev_state(path: &Path) -> &'static str {
    let Ok(link) = std::fs::symlink_metadata(path) else {
        return "absent";
    };
    if link.file_type().is_symlink() {
        return "link";
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => "directory",
        Ok(m) if m.nlink() > 1 => "hard",
        _ => "file",
    }
}

/// What the `diff` holds besides the path and the state.
#[derive(Default)]
pub(super) struct DiffFacts {
    /// A link's target before and after, when it changes.
    pub src: Option<(String, String)>,
    /// The directory a removal walks (`path_content`).
    pub removed_dir: Option<std::path::PathBuf>,
}

/// The path a `diff` is about.
pub(super) struct Subject<'a> {
    /// The path as the result names it.
    pub path: &'a str,
    /// Where the attributes change (a link's target).
    pub attrs_of: &'a Path,
    /// The state asked for, and the state found.
    pub state: &'a str,
    pub prev: &'a str,
}

/// Ansible's `diff` for a `file` task on `subject`, with the attribute changes among
/// `changes`.
pub(super) fn diff(
    subject: Subject<'_>,
    changes: &[Change],
    facts: &DiffFacts,
    check_mode: bool,
) -> Json {
    let Subject {
        path,
        attrs_of: target,
        state,
        prev,
    } = subject;
    let mut before = Map::new();
    let mut after = Map::new();
    before.insert("path".into(), json!(path));
    after.insert("path".into(), json!(path));
    if prev != state {
        before.insert("state".into(), json!(prev));
        after.insert("state".into(), json!(state));
        if let Some(dir) = &facts.removed_dir {
            before.insert("path_content".into(), path_content(dir));
        }
    }
    if let Some((old, new)) = &facts.src {
        before.insert("src".into(), json!(old));
        after.insert("src".into(), json!(new));
    }
    for change in changes {
        let Change::Attrs(p, wanted) = change else {
            continue;
        };
        if p != target {
            continue;
        }
        // A path this run creates: Ansible compares the wanted attributes with what
        // `mkdir`/`open` gave it (the umask's mode, the agent's ids); in check mode it
        // stops before that.
        let created = changes.iter().find_map(|c| match c {
            Change::CreateDir(d) if d == target => Some(0o777),
            Change::CreateFile(f) if f == target => Some(0o666),
            _ => None,
        });
        let current = match created {
            Some(_) if check_mode => continue,
            Some(full) => Some(Current {
                mode: full & !umask(),
                uid: rustix::process::geteuid().as_raw(),
                gid: rustix::process::getegid().as_raw(),
            }),
            None => Current::of(p).ok(),
        };
        if let Some(current) = current {
            attributes(&current, wanted, &mut before, &mut after);
        }
    }
    json!({"before": before, "after": after})
}

/// `set_mode_if_different` and friends: the old and new mode (`0%03o`), owner and group
/// (numeric, as Ansible records them).
fn attributes(
    current: &Current,
    wanted: &Attrs,
    before: &mut Map<String, Json>,
    after: &mut Map<String, Json>,
) {
    if let Some(m) = wanted.mode.filter(|m| *m != current.mode) {
        before.insert("mode".into(), json!(format!("0{:03o}", current.mode)));
        after.insert("mode".into(), json!(format!("0{m:03o}")));
    }
    if let Some(u) = wanted.uid.filter(|u| *u != current.uid) {
        before.insert("owner".into(), json!(current.uid));
        after.insert("owner".into(), json!(u));
    }
    if let Some(g) = wanted.gid.filter(|g| *g != current.gid) {
        before.insert("group".into(), json!(current.gid));
        after.insert("group".into(), json!(g));
    }
}

/// What a removed directory held, as `os.walk` lists it: `directories` and `files`.
fn path_content(dir: &Path) -> Json {
    use std::os::unix::ffi::OsStrExt;
    let mut directories = Vec::new();
    let mut files = Vec::new();
    let text = |b: &[u8]| Json::from(String::from_utf8_lossy(b).into_owned());
    let _ = super::super::find::walk::walk::<()>(
        dir.as_os_str().as_bytes(),
        false,
        &mut |level| {
            for d in &level.dirs {
                directories.push(text(&super::super::find::walk::join(&level.root, d)));
            }
            for f in &level.files {
                files.push(text(&super::super::find::walk::join(&level.root, f)));
            }
            Ok(super::super::find::walk::Next::Descend)
        },
        &mut |_, _| Ok(()),
    );
    json!({"directories": directories, "files": files})
}

/// The process's umask, from `/proc/self/status` (reading it with `umask(2)` would change
/// it for every thread for a moment).
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

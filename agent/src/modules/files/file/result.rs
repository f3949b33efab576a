//! The registered result of `file` in Ansible's shape: `path` (or `dest` and `src` for
//! links and `touch`), the path's owner, group, mode, state and size after the run
//! (`add_path_info`), and in diff mode a `diff` of `before`/`after` mappings as the module
//! builds it (`initial_diff`: the state when it changes, a removed directory's content; a
//! link's old and new `src`; mode, owner and group that change).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::{Map, Value as Json, json};

use super::Change;
use super::times::Stamp;
use crate::fsutil::{Attrs, Current};

/// A failure as the module's `fail_json` gives it: the message, these keys and the
/// module's `warnings`.
pub(super) fn failed(msg: String, keys: &[(&str, &str)], warnings: &[String]) -> super::Plan {
    let mut outcome = super::Outcome::failed(msg);
    for (k, v) in keys {
        outcome.data.insert((*k).into(), json!(v));
    }
    if !warnings.is_empty() {
        outcome.data.insert("warnings".into(), json!(warnings));
    }
    outcome.ansible_shape = true;
    super::Plan::done(outcome)
}

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
        if let Change::Times(p, mtime, atime) = change
            && p == target
        {
            times(p, *mtime, *atime, &mut before, &mut after);
            continue;
        }
        if let Change::LinkOwner(p, wanted) = change
            && p.as_os_str() == path
        {
            // The link's own owner before: what it had, or the agent's for a new link.
            let own = match std::fs::symlink_metadata(p) {
                Ok(m)
                    if m.file_type().is_symlink()
                        && !changes.iter().any(|c| matches!(c, Change::Link(..))) =>
                {
                    (m.uid(), m.gid())
                }
                _ => (
                    rustix::process::geteuid().as_raw(),
                    rustix::process::getegid().as_raw(),
                ),
            };
            let current = Current {
                mode: 0o777,
                uid: own.0,
                gid: own.1,
            };
            attributes(&current, wanted, &mut before, &mut after);
            continue;
        }
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
                mode: full & !crate::fsutil::umask(),
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

/// `update_timestamp_for_file`: the old and new `mtime`/`atime` (seconds, as floats) that
/// change; `now` always does.
fn times(
    path: &Path,
    mtime: Stamp,
    atime: Stamp,
    before: &mut Map<String, Json>,
    after: &mut Map<String, Json>,
) {
    let secs = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let now = secs(std::time::SystemTime::now());
    let meta = std::fs::metadata(path).ok();
    let had = |modified: bool| {
        meta.as_ref()
            .and_then(|m| if modified { m.modified() } else { m.accessed() }.ok())
            .map_or(now, secs)
    };
    for (key, stamp, previous) in [("mtime", mtime, had(true)), ("atime", atime, had(false))] {
        let wanted = match stamp {
            Stamp::Preserve => continue,
            Stamp::Now => now,
            Stamp::At(t) if secs(t) == previous => continue,
            Stamp::At(t) => secs(t),
        };
        before.insert(key.into(), json!(previous));
        after.insert(key.into(), json!(wanted));
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

/// In check mode, as Ansible's `check_owner_exists`/`check_group_exists`: an `owner` or
/// `group` the host does not know yet is a warning (an earlier task may create it).
pub(super) fn unknown_owner_warnings(owner: Option<&Json>, group: Option<&Json>) -> Vec<String> {
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut warnings = Vec::new();
    if let Some(owner) = owner.map(text).filter(|o| !o.is_empty()) {
        let users = super::super::accounts::users().unwrap_or_default();
        match owner.parse::<u32>() {
            Ok(uid) if !users.iter().any(|u| u.uid == uid) => warnings.push(format!(
                "failed to look up user with uid {uid}. Create user up to this point in real play"
            )),
            Err(_) if !users.iter().any(|u| u.name == owner) => warnings.push(format!(
                "failed to look up user {owner}. Create user up to this point in real play"
            )),
            _ => {}
        }
    }
    if let Some(group) = group.map(text).filter(|g| !g.is_empty()) {
        let groups = super::super::accounts::groups().unwrap_or_default();
        match group.parse::<u32>() {
            Ok(gid) if !groups.iter().any(|g| g.gid == gid) => warnings.push(format!(
                "failed to look up group with gid {gid}. Create group up to this point in real play"
            )),
            Err(_) if !groups.iter().any(|g| g.name == group) => warnings.push(format!(
                "failed to look up group {group}. Create group up to this point in real play"
            )),
            _ => {}
        }
    }
    warnings
}

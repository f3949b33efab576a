//! `file: state=hard`: `path` as another name of the file `src`, as Ansible's
//! `ensure_hardlink` decides it (same inode: nothing to do; a different file or hard link
//! there: only with `force`).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{Change, Kind, attr_changes};
use crate::modules::ModuleError;
use crate::modules::attrs::AttrSpec;
use crate::wire::Diff;
use crate::{diff, fsutil};

/// What the task asks for.
pub(super) struct Wanted<'a> {
    pub path: &'a Path,
    pub shown: &'a str,
    pub kind: Kind,
    pub src: Option<&'a str>,
    pub force: bool,
    pub attrs: &'a AttrSpec,
}

/// Plans the link and then the attributes of the linked file.
pub(super) fn plan(
    w: Wanted<'_>,
    changes: &mut Vec<Change>,
    diffs: &mut Vec<Diff>,
) -> Result<(), ModuleError> {
    let fail = |m: String| Err(ModuleError::Failed(m));
    let shown = w.shown;
    let is_hard = w.kind == Kind::File && fs::metadata(w.path).is_ok_and(|m| m.nlink() > 1);
    let Some(src) = w.src else {
        if is_hard {
            return attr_changes(w.path, w.attrs, changes, diffs);
        }
        return fail("src is required for creating new hardlinks".to_owned());
    };
    let Ok(src_meta) = fs::metadata(src) else {
        // Checked before (Ansible's result, with `dest` and `src`); it went away since.
        return fail(format!("src does not exist: `{src}`"));
    };
    let same_file =
        fs::metadata(w.path).is_ok_and(|m| m.ino() == src_meta.ino() && m.dev() == src_meta.dev());
    let link = |changes: &mut Vec<Change>, diffs: &mut Vec<Diff>, before: &str| {
        diffs.push(diff::line(
            shown,
            "state",
            before,
            &format!("hard link to {src}"),
        ));
        changes.push(Change::HardLink(w.path.to_path_buf(), PathBuf::from(src)));
    };
    match w.kind {
        Kind::Absent => link(changes, diffs, "absent"),
        // Ansible compares a symlink's own target with `src`, as written.
        Kind::Link if fs::read_link(w.path).is_ok_and(|t| t == Path::new(src)) => {}
        Kind::Link => link(changes, diffs, "link"),
        Kind::File if same_file => {}
        Kind::File if !w.force => {
            let what = if is_hard {
                "different hard link"
            } else {
                "file"
            };
            return fail(format!(
                "Cannot link, {what} exists at destination `{shown}`"
            ));
        }
        Kind::File => link(changes, diffs, "file"),
        Kind::Directory => {
            return fail(format!(
                "Cannot link: `{shown}` is a directory and a hard link would replace it"
            ));
        }
    }
    // The attributes are the linked file's: one inode under both names.
    attr_changes(Path::new(src), w.attrs, changes, diffs)
}

/// Links `src` under a temporary name beside `path` and renames it over `path` (atomic).
pub(super) fn replace_with_hard_link(path: &Path, src: &Path) -> Result<(), ModuleError> {
    let dir = fsutil::parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.dr-hardlink", std::process::id()));
    let _ = fs::remove_file(&tmp);
    fs::hard_link(src, &tmp).map_err(|e| ModuleError::io("cannot link", src.display(), e))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        ModuleError::io("cannot rename link to", path.display(), e)
    })?;
    fsutil::sync_dir(dir).map_err(|e| ModuleError::io("cannot sync", dir.display(), e))
}

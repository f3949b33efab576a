//! The `diff` entry a copy's registered result carries in Ansible's diff mode (its
//! action's `_get_diff_data`): the destination's text as `before` (empty when it is
//! missing), the new text as `after`, each with its header, or a marker instead of the text
//! when a side looks binary or is larger than Ansible's `MAX_FILE_SIZE_FOR_DIFF`.

use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value as Json};

use super::super::ModuleError;
use super::super::attrs::{self, AttrSpec};
use crate::fsutil::Current;

/// Ansible's default `MAX_FILE_SIZE_FOR_DIFF` (bytes).
const MAX_FILE_SIZE_FOR_DIFF: u64 = 104_448;

/// How much of the destination Ansible's `_diff_peek` reads to tell whether it is binary.
const PEEK_BYTES: u64 = 8192;

/// The entry for writing `after` to `dest`; `after_header` names the source (the
/// destination itself for `content`).
pub(super) fn entry(dest: &Path, after: &[u8], after_header: &str) -> Json {
    let mut diff = Map::new();
    before(&mut diff, dest);
    if after.len() as u64 > MAX_FILE_SIZE_FOR_DIFF {
        diff.insert("src_larger".into(), Json::from(MAX_FILE_SIZE_FOR_DIFF));
    } else if after.contains(&0) {
        diff.insert("src_binary".into(), Json::from(1));
    } else {
        diff.insert("after_header".into(), Json::from(after_header));
        diff.insert(
            "after".into(),
            Json::from(String::from_utf8_lossy(after).into_owned()),
        );
    }
    Json::Object(diff)
}

/// The destination's side: its text, or why it is left out. A destination that cannot be
/// read is left out, as Ansible leaves out one its `slurp` cannot read.
fn before(diff: &mut Map<String, Json>, dest: &Path) {
    let Ok(meta) = std::fs::metadata(dest) else {
        diff.insert("before".into(), Json::from(""));
        return;
    };
    let Ok(file) = std::fs::File::open(dest) else {
        return;
    };
    let mut head = Vec::new();
    if file.take(PEEK_BYTES).read_to_end(&mut head).is_err() {
        return;
    }
    if head.contains(&0) {
        diff.insert("dst_binary".into(), Json::from(1));
    } else if meta.len() > MAX_FILE_SIZE_FOR_DIFF {
        diff.insert("dst_larger".into(), Json::from(MAX_FILE_SIZE_FOR_DIFF));
    } else if let Ok(bytes) = std::fs::read(dest) {
        diff.insert(
            "before_header".into(),
            Json::from(dest.display().to_string()),
        );
        diff.insert(
            "before".into(),
            Json::from(String::from_utf8_lossy(&bytes).into_owned()),
        );
    }
}

/// The `diff` when the content is already there: Ansible's action then runs the `file`
/// module for the attributes, and its result (a mapping, not a list) is the task's: the
/// path on both sides, with the owner and group ids and the mode that change.
pub(super) fn unchanged(dest: &Path, spec: &AttrSpec) -> Result<Json, ModuleError> {
    let path = || {
        let mut side = Map::new();
        side.insert("path".into(), Json::from(dest.display().to_string()));
        side
    };
    let (mut before, mut after) = (path(), path());
    if let Ok(current) = Current::of(dest) {
        let wanted = spec.resolve("copy", Some(current.mode), false)?;
        let (delta, _) = attrs::changes(dest, &current, wanted);
        if let Some(uid) = delta.uid {
            before.insert("owner".into(), Json::from(current.uid));
            after.insert("owner".into(), Json::from(uid));
        }
        if let Some(gid) = delta.gid {
            before.insert("group".into(), Json::from(current.gid));
            after.insert("group".into(), Json::from(gid));
        }
        if let Some(mode) = delta.mode {
            before.insert("mode".into(), Json::from(format!("0{:03o}", current.mode)));
            after.insert("mode".into(), Json::from(format!("0{mode:03o}")));
        }
    }
    let mut diff = Map::new();
    diff.insert("before".into(), Json::Object(before));
    diff.insert("after".into(), Json::Object(after));
    Ok(Json::Object(diff))
}

//! Writing the response's body to `dest`, as Ansible's `uri` `write_file` and its file
//! arguments: atomically and only when the content differs, then `mode`/`owner`/`group`
//! (the task reports a change either way, as Ansible's).

use std::path::Path;

use crate::fsutil::{self, Current};
use crate::modules::attrs::{self, AttrSpec};

/// Writes `bytes` to `dest` with the wanted attributes; the error is Ansible's message.
pub(super) fn write(dest: &Path, bytes: &[u8], wanted: &AttrSpec) -> Result<(), String> {
    let current = Current::of(dest).ok();
    let wanted = wanted
        .resolve("uri", current.as_ref().map(|c| c.mode), false)
        .map_err(|e| e.to_string())?;
    if fsutil::same_content(dest, bytes).ok().flatten() == Some(true) {
        let Some(current) = current else {
            return Ok(());
        };
        let (changes, _) = attrs::changes(dest, &current, wanted);
        if !attrs::any(&changes) {
            return Ok(());
        }
        return fsutil::set_attrs(dest, changes)
            .map_err(|e| format!("cannot set attributes of {}: {e}", dest.display()));
    }
    fsutil::write_atomic(dest, bytes, wanted, 0o666 & !fsutil::umask()).map_err(|e| {
        let dest = dest.display();
        format!("failed to copy the response to {dest}: Could not replace '{dest}': {e}.")
    })
}

//! Writing the response's body to `dest`, as Ansible's `uri` `write_file`: atomically,
//! and only when the content differs (the task reports a change either way).

use std::path::Path;

use crate::fsutil;

/// Writes `bytes` to `dest`; the error is Ansible's message.
pub(super) fn write(dest: &Path, bytes: &[u8]) -> Result<(), String> {
    if fsutil::same_content(dest, bytes).ok().flatten() == Some(true) {
        return Ok(());
    }
    fsutil::write_atomic(
        dest,
        bytes,
        fsutil::Attrs::default(),
        0o666 & !fsutil::umask(),
    )
    .map_err(|e| {
        let dest = dest.display();
        format!("failed to copy the response to {dest}: Could not replace '{dest}': {e}.")
    })
}

//! What Ansible adds to the result of a module whose result names a `dest` or `path`
//! (`AnsibleModule.add_path_info`): owner, group, mode, state and size of that path.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::fsutil::{self, Db};

/// Inserts `uid`, `gid`, `owner`, `group`, `mode`, `state` and `size` of `path` into
/// `data` when the path exists.
pub(super) fn add(data: &mut Map<String, Json>, path: &Path) {
    // lstat, as Ansible: a link's own owner, mode and size.
    let Ok(link) = std::fs::symlink_metadata(path) else {
        return;
    };
    let m = &link;
    data.insert("uid".into(), Json::from(m.uid()));
    data.insert("gid".into(), Json::from(m.gid()));
    data.insert(
        "owner".into(),
        Json::from(fsutil::id_name(Db::User, m.uid())),
    );
    data.insert(
        "group".into(),
        Json::from(fsutil::id_name(Db::Group, m.gid())),
    );
    // `'0%03o'`: `01444` with the sticky bit, where `stat` says `1444`.
    data.insert(
        "mode".into(),
        Json::from(format!("0{:03o}", link.permissions().mode() & 0o7777)),
    );
    let state = if link.file_type().is_symlink() {
        "link"
    } else if link.is_dir() {
        "directory"
    } else if link.nlink() > 1 {
        "hard"
    } else {
        "file"
    };
    data.insert("state".into(), Json::from(state));
    data.insert("size".into(), Json::from(link.len()));
}

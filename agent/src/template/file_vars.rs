//! The variables a template file renders with beside the play's (Ansible's
//! `generate_ansible_template_vars`).

use serde_json::{Map, Value as Json};

/// The variables Ansible's `template` module and lookup add while rendering: the source
/// (`src` as written, and where it was read), the destination, the controller's host, owner
/// and time, and `ansible_managed` (Ansible's default text, so files written by Ansible
/// before do not change) unless the play sets it.
pub fn file_vars(
    origin: &str,
    meta: Option<&crate::wire::FileMeta>,
    src: &str,
    dest: Option<&str>,
    managed: bool,
) -> Map<String, Json> {
    let mut m = Map::new();
    if let Some(meta) = meta {
        m.insert("template_host".into(), Json::from(meta.host.clone()));
        m.insert("template_uid".into(), Json::from(meta.owner.clone()));
        m.insert("template_mtime".into(), Json::from(meta.mtime.clone()));
    }
    m.insert(
        "template_run_date".into(),
        Json::from(crate::clock::timestamp(std::time::SystemTime::now())),
    );
    if managed {
        m.insert("ansible_managed".into(), Json::from("Ansible managed"));
    }
    m.insert("template_path".into(), Json::from(src));
    m.insert("template_fullpath".into(), Json::from(origin));
    m.insert(
        "template_destpath".into(),
        dest.map_or(Json::Null, Json::from),
    );
    m
}

//! `ansible.posix.synchronize` on the host: the arguments its action plugin adds before the
//! collection's module runs, when rsync runs on the host the files go to (the task
//! delegated to that host itself, or the local connection without `delegate_to`). Then
//! both paths are the host's and no SSH is involved. rsync from the controller or from
//! another host to this one (Ansible's other cases) is refused when the task runs.
//! `ansible_password` is not handed to the module (it only matters to rsync over SSH).

use serde_json::{Map, Value as Json};

use crate::modules::ModuleError;
use crate::template::Scope;

/// The module's fully qualified name.
pub const FQCN: &str = "ansible.posix.synchronize";

/// The argument carrying the task's `delegate_to` (rendered like any argument), removed
/// before the module sees its arguments.
pub const DELEGATE_KEY: &str = "_dr_synchronize_delegate_to";

/// Whether the bridged module named `python_name` is synchronize.
pub(super) fn is(python_name: &str) -> bool {
    python_name.ends_with("ansible.posix.plugins.modules.synchronize")
}

/// Adds to `args` what the action plugin adds when rsync runs on this host, or says why
/// dr does not run this task.
pub(super) fn action_args(scope: &Scope, args: &mut Map<String, Json>) -> Result<(), ModuleError> {
    let var = |name: &str| -> Result<Option<Json>, ModuleError> {
        match scope.vars().get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => scope
                .render_value(v)
                .map(Some)
                .map_err(|e| ModuleError::Failed(format!("`{name}`: {e}"))),
        }
    };
    let text = |v: Option<Json>| match v {
        Some(Json::String(s)) => Some(s),
        Some(Json::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let host = text(var("inventory_hostname")?).unwrap_or_default();
    match args.remove(DELEGATE_KEY) {
        Some(to) => {
            let to = text(Some(to)).unwrap_or_default();
            let address = text(var("ansible_host")?);
            if to != host && Some(&to) != address.as_ref() {
                return Err(ModuleError::Failed(format!(
                    "synchronize delegated to `{to}` runs rsync there and copies to `{host}` over SSH, which dr does not do; dr runs it where both paths are the host's own (`delegate_to: \"{{{{ inventory_hostname }}}}\"`)"
                )));
            }
        }
        None => {
            if text(var("ansible_connection")?).as_deref() != Some("local") {
                return Err(ModuleError::Failed(format!(
                    "synchronize from the controller to `{host}` runs rsync on the controller over SSH, which dr does not do; dr runs it on the host, with both paths the host's own (`delegate_to: \"{{{{ inventory_hostname }}}}\"`), or over the local connection"
                )));
            }
        }
    }
    for key in ["src", "dest"] {
        if let Some(Json::String(path)) = args.get(key)
            && !path.starts_with('/')
            && !path.contains(':')
        {
            return Err(ModuleError::Failed(format!(
                "synchronize: the relative `{key}` `{path}` is a path in the role's or playbook's `files/` on the controller in Ansible; dr runs synchronize with both paths the host's: write an absolute path"
            )));
        }
    }
    let rsync = text(var("ansible_rsync_path")?).filter(|p| !p.is_empty());
    args.insert(
        "_local_rsync_path".into(),
        Json::String(rsync.unwrap_or_else(|| "rsync".into())),
    );
    if !args.contains_key("dest_port")
        && let Some(port) = var("ansible_port")?
    {
        args.insert("dest_port".into(), port);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value as Json, json};

    use super::{DELEGATE_KEY, action_args};
    use crate::template::Templater;

    fn prepared(vars: Json, args: Json) -> Result<Map<String, Json>, String> {
        let scope = Templater::new().scope(vars.as_object().cloned().unwrap_or_default());
        let mut args = args.as_object().cloned().unwrap_or_default();
        action_args(&scope, &mut args).map_err(|e| e.to_string())?;
        Ok(args)
    }

    #[test]
    fn on_the_host_itself_the_module_gets_the_plugins_arguments() {
        let vars = json!({"inventory_hostname": "db1", "ansible_host": "10.0.0.5",
            "ansible_port": 2222, "ansible_rsync_path": "/opt/bin/rsync"});
        for to in ["db1", "10.0.0.5"] {
            let args = prepared(
                vars.clone(),
                json!({"src": "/a/", "dest": "/b/", DELEGATE_KEY: to}),
            )
            .unwrap();
            assert_eq!(args["_local_rsync_path"], "/opt/bin/rsync");
            assert_eq!(args["dest_port"], 2222);
            assert!(!args.contains_key(DELEGATE_KEY));
        }
        let local = prepared(
            json!({"inventory_hostname": "box", "ansible_connection": "local"}),
            json!({"src": "/a/", "dest": "/b/", "dest_port": 22}),
        )
        .unwrap();
        assert_eq!(local["_local_rsync_path"], "rsync");
        assert_eq!(local["dest_port"], 22);
    }

    #[test]
    fn rsync_over_ssh_and_relative_paths_are_refused() {
        let e = prepared(
            json!({"inventory_hostname": "db1", "ansible_connection": "ssh"}),
            json!({"src": "/a/", "dest": "/b/"}),
        )
        .unwrap_err();
        assert!(
            e.contains("synchronize from the controller to `db1`"),
            "{e}"
        );
        let e = prepared(
            json!({"inventory_hostname": "db1"}),
            json!({"src": "/a/", "dest": "/b/", DELEGATE_KEY: "backup1"}),
        )
        .unwrap_err();
        assert!(e.contains("synchronize delegated to `backup1`"), "{e}");
        let e = prepared(
            json!({"inventory_hostname": "db1", "ansible_connection": "local"}),
            json!({"src": "files/a", "dest": "/b/"}),
        )
        .unwrap_err();
        assert!(e.contains("the relative `src` `files/a`"), "{e}");
    }
}

//! `ansible.posix.synchronize` where rsync runs on the host itself: Ansible's action plugin
//! runs rsync where the task is delegated, and when that is the host the files go to
//! (`delegate_to: "{{ inventory_hostname }}"`, or the local connection without
//! `delegate_to`), both paths are the host's own and the module runs there with the
//! arguments the plugin adds. dr runs the collection's module through the bridge in that
//! case; rsync from the controller or from another host over SSH fails when the task runs,
//! saying so (whether a host is that host is known only then).

use dr_agent::modules::bridge::synchronize::{DELEGATE_KEY, FQCN};
use dr_agent::wire::Task;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Loc};

/// Whether the module `fqcn` (its action plugin on the controller) runs through the bridge.
pub fn bridges(fqcn: &str) -> bool {
    fqcn == FQCN
}

/// Prepares a synchronize task (its `delegate_to` known): the argument the action plugin
/// takes out (`use_ssh_args`, which only rsync over SSH reads) goes, the task's
/// `delegate_to` travels for the agent to compare with the host, and a relative path (a
/// path in the role's or playbook's `files/` on the controller, in Ansible) is refused.
pub fn prepare(task: &mut Task, loc: &Loc) -> Result<(), Diagnostic> {
    let delegate = task.delegate_to.clone();
    let Value::Object(args) = &mut task.args else {
        return Ok(());
    };
    args.remove("use_ssh_args");
    for key in ["src", "dest"] {
        if let Some(Value::String(path)) = args.get(key)
            && !path.contains("{{")
            && !path.starts_with('/')
            && !path.contains(':')
        {
            return Err(Diagnostic::new(
                loc.clone(),
                format!("synchronize: the relative `{key}` `{path}` is a path on the controller"),
            )
            .with_help(
                "Ansible looks for it in the role's or playbook's `files/` on the controller; dr runs synchronize on the host, with both paths the host's: write an absolute path",
            ));
        }
    }
    if let Some(to) = delegate {
        args.insert(DELEGATE_KEY.into(), Value::String(to));
    }
    Ok(())
}

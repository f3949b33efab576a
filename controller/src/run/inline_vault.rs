//! Inline `!vault` values inside tasks: their arguments (`set_fact: {x: !vault |...}`),
//! vars, environment and loop. Ansible opens them when the task uses them; dr opens them
//! when it builds the host's request, as it does for the play's variables
//! ([`crate::secrets::Secrets::decrypt_inline`]): the plaintext becomes a secret, and a
//! value the run cannot open fails only the task that uses it, naming it.

use dr_agent::wire::Task;

use crate::secrets::Secrets;

/// Opens the inline vault values of `tasks` and of the tasks nested in them.
pub fn open(tasks: &mut [Task], secrets: &Secrets) {
    for task in tasks {
        let module = task.module.clone();
        secrets.decrypt_inline(&module, &mut task.args);
        for (name, value) in task.vars.iter_mut().chain(task.environment.iter_mut()) {
            secrets.decrypt_inline(name, value);
        }
        if let Some(items) = &mut task.loop_ {
            secrets.decrypt_inline("loop", items);
        }
        open(&mut task.block, secrets);
        open(&mut task.rescue, secrets);
        open(&mut task.always, secrets);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn holds_vault(v: &Value) -> bool {
        match v {
            Value::String(s) => s.trim_start().starts_with("$ANSIBLE_VAULT;"),
            Value::Array(items) => items.iter().any(holds_vault),
            Value::Object(m) => m.values().any(holds_vault),
            _ => false,
        }
    }

    #[test]
    fn a_vault_the_run_cannot_open_becomes_a_marker_naming_it() {
        let task: Task = serde_json::from_value(serde_json::json!({
            "module": "set_fact",
            "location": "t.yml:1:3",
            "args": {"x": "$ANSIBLE_VAULT;1.1;AES256\n3132"},
        }))
        .unwrap();
        let mut tasks = vec![task];
        open(&mut tasks, &Secrets::default());
        assert!(!holds_vault(&tasks[0].args));
        let x = tasks[0].args["x"].as_str().unwrap();
        assert!(x.contains("set_fact.x"), "{x}");
    }
}

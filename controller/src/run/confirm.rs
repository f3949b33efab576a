//! Consent before destructive steps (`dr apply` without `--yes`).
//!
//! Two kinds of steps destroy data. Some are destructive by what their arguments say
//! ([`is_destructive`]: a replica rebuild with `destroy_data`, a forced promotion): without
//! `--yes` they are listed and must be confirmed on a terminal before anything runs; with
//! no terminal the apply is refused and nothing changes. Others are destructive only
//! depending on what is on the host ([`may_be_destructive`]: `file: state=absent` removes
//! a non-empty directory tree): on a terminal they are listed with the first kind and the
//! answer covers them; the consent travels in the request, and an agent without it refuses
//! (fails the task, naming the path) to remove a non-empty directory.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::Value;

use crate::Error;
use crate::dag::Dag;
use crate::playbook::PlaySpec;

/// Tasks that destroy data or override a safety check, by what their arguments say.
pub fn is_destructive(module: &str, args: &Value) -> Option<&'static str> {
    let truthy = |k: &str| match args.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "yes" | "true" | "True") || s.contains("{{"),
        _ => false,
    };
    match module {
        "postgres_replica" if truthy("destroy_data") => Some("empties a PostgreSQL data directory"),
        "postgres_promote" if truthy("force") => {
            Some("promotes without proving the old primary is down")
        }
        _ => None,
    }
}

/// Tasks that destroy data depending on what the host holds: only the agent can tell.
pub fn may_be_destructive(module: &str, args: &Value) -> Option<&'static str> {
    let state = args.get("state").and_then(Value::as_str);
    match module {
        // A templated state could render to `absent`.
        "file" if state.is_some_and(|s| s == "absent" || s.contains("{{")) => {
            Some("removes it and everything in it, if it is a non-empty directory")
        }
        _ => None,
    }
}

/// What a destructive task acts on, as written in the playbook (a template stays a
/// template: it is rendered on the host).
fn target_of(args: &Value) -> Option<&str> {
    ["path", "dest", "name", "data_dir"]
        .iter()
        .find_map(|k| args.get(*k).and_then(Value::as_str))
}

/// One destructive step, for the list shown before an apply.
struct Step {
    line: String,
    certain: bool,
}

/// Lists the destructive steps the run would take and asks for consent. Returns whether
/// the operator consented (`false` when there was nothing to ask); refuses the apply when
/// a step that is destructive by its arguments cannot be confirmed (no terminal) or the
/// answer is no.
pub fn destructive_steps(dag: &Dag, plays: &[PlaySpec]) -> Result<bool, Error> {
    let steps = steps_of(dag, plays);
    if steps.is_empty() {
        return Ok(false);
    }
    let list = steps
        .iter()
        .map(|s| s.line.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    if !std::io::stdin().is_terminal() {
        if steps.iter().any(|s| s.certain) {
            return Err(Error::Message(format!(
                "refused: this apply has destructive steps and no terminal to confirm them; nothing was changed:\n{list}\nrun `dr plan` to review, then `dr apply --yes`"
            )));
        }
        // Only the host can tell whether these destroy anything; without consent the
        // agent refuses the ones that would.
        return Ok(false);
    }
    eprint!("This apply has destructive steps:\n{list}\nContinue? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Message(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(true)
    } else {
        Err(Error::Message(
            "not applied: the destructive steps were not confirmed; nothing was changed".into(),
        ))
    }
}

fn steps_of(dag: &Dag, plays: &[PlaySpec]) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, play) in plays.iter().enumerate() {
        let hosts: Vec<&str> = dag
            .nodes
            .iter()
            .filter(|n| n.play == i)
            .map(|n| n.host.as_str())
            .collect();
        if hosts.is_empty() {
            continue;
        }
        for task in play
            .tasks
            .iter()
            .chain(play.handlers.iter())
            .flat_map(dr_agent::wire::Task::walk)
        {
            let (what, certain) = match is_destructive(&task.module, &task.args) {
                Some(what) => (what, true),
                None => match may_be_destructive(&task.module, &task.args) {
                    Some(what) => (what, false),
                    None => continue,
                },
            };
            let name = task.name.clone().unwrap_or_else(|| task.module.clone());
            let target = target_of(&task.args)
                .map(|t| format!(" `{t}`:"))
                .unwrap_or_default();
            steps.push(Step {
                line: format!(
                    "  - `{name}` ({}){target} {what} on {}",
                    task.location,
                    hosts.join(", ")
                ),
                certain,
            });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn file_absent_may_be_destructive_and_names_its_path() {
        let args = json!({"path": "{{ app_dir }}/", "state": "absent"});
        assert!(is_destructive("file", &args).is_none());
        assert_eq!(
            may_be_destructive("file", &args),
            Some("removes it and everything in it, if it is a non-empty directory")
        );
        assert_eq!(target_of(&args), Some("{{ app_dir }}/"));
        assert!(may_be_destructive("file", &json!({"path": "/a", "state": "directory"})).is_none());
        assert!(may_be_destructive("file", &json!({"path": "/a", "state": "{{ s }}"})).is_some());
        assert!(may_be_destructive("copy", &json!({"dest": "/a", "state": "absent"})).is_none());
    }

    #[test]
    fn forced_promotion_and_replica_rebuild_are_destructive() {
        assert!(is_destructive("postgres_promote", &json!({"force": true})).is_some());
        assert!(is_destructive("postgres_promote", &json!({"force": false})).is_none());
        let rebuild = json!({"data_dir": "/var/lib/postgresql/15/main", "destroy_data": "yes"});
        assert!(is_destructive("postgres_replica", &rebuild).is_some());
        assert_eq!(target_of(&rebuild), Some("/var/lib/postgresql/15/main"));
    }
}

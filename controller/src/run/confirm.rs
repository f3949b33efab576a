//! Asking before destructive steps (`dr apply` without `--yes`).

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

/// Lists the destructive steps the run would take and asks; refuses without a terminal.
pub fn destructive_steps(dag: &Dag, plays: &[PlaySpec]) -> Result<(), Error> {
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
            if let Some(what) = is_destructive(&task.module, &task.args) {
                let name = task.name.clone().unwrap_or_else(|| task.module.clone());
                steps.push(format!(
                    "  - `{name}` ({}) {what} on {}",
                    task.location,
                    hosts.join(", ")
                ));
            }
        }
    }
    if steps.is_empty() {
        return Ok(());
    }
    let list = steps.join("\n");
    if !std::io::stdin().is_terminal() {
        return Err(Error::Message(format!(
            "this apply has destructive steps and no terminal to confirm them:\n{list}\nrun `dr plan` to review, then `dr apply --yes`"
        )));
    }
    eprint!("This apply has destructive steps:\n{list}\nContinue? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Message(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::Message(
            "not applied: the destructive steps were not confirmed".into(),
        ))
    }
}

//! Templated `run_once` (`run_once: "{{ primary_only | default(false) }}"`), rendered per
//! host when its request is built.
//!
//! Ansible renders a task's `run_once` on the controller with the host's variables when
//! the linear strategy queues the task (the first host whose value is true runs it for the
//! hosts after it). dr renders it on the controller too, with the host's variables known
//! before the play (inventory, play, role, task and extra vars), and runs it as written
//! with `true` or `false`. A template that reads what only the host knows (facts,
//! registered results) fails the host's play before it starts, and so does one that
//! renders differently for the hosts of a batch, which dr does not run as Ansible would.

use dr_agent::template::Templater;
use dr_agent::wire::Task;
use serde_json::{Map, Value};

/// Whether a task or handler of the play has a templated `run_once`.
pub fn templated(tasks: &[Task], handlers: &[Task]) -> bool {
    all(tasks, handlers).any(|t| t.run_once_template.is_some())
}

/// What each templated `run_once` renders to with `vars`, in depth-first order.
pub fn rendered(tasks: &[Task], handlers: &[Task], vars: &Map<String, Value>) -> Vec<Rendered> {
    all(tasks, handlers)
        .filter_map(|t| Some(render(t.run_once_template.as_deref()?, t, vars)))
        .collect()
}

/// One host's value of a templated `run_once`, or why it does not render.
pub type Rendered = Result<bool, String>;

/// Renders every templated `run_once` of `tasks` and `handlers` for `host` into
/// [`Task::run_once`]. `others` renders them for another host of `batch` (`None` when that
/// host's request cannot be built: its own play reports why).
pub fn resolve(
    tasks: &mut [Task],
    handlers: &mut [Task],
    vars: &Map<String, Value>,
    host: &str,
    batch: &[String],
    others: impl Fn(&str) -> Option<Vec<Rendered>>,
) -> Result<(), String> {
    let mine = rendered(tasks, handlers, vars);
    let theirs: Vec<(&String, Vec<Rendered>)> = batch
        .iter()
        .filter(|h| *h != host)
        .filter_map(|h| Some((h, others(h)?)))
        .collect();
    let mut at = 0;
    for task in tasks.iter_mut().chain(handlers.iter_mut()) {
        walk_mut(task, &mut |t| {
            let Some(template) = t.run_once_template.take() else {
                return Ok(());
            };
            let value = mine.get(at).cloned().unwrap_or_else(|| {
                Err("the `run_once` values went out of step (a bug in dr)".into())
            });
            let value = value.map_err(|why| {
                format!(
                    "cannot render `run_once: {template}` ({}) for `{host}` before the play: {why}; dr renders a templated `run_once` with the host's inventory, play, role, task and extra vars, not facts or registered results",
                    t.location
                )
            })?;
            for (other, values) in &theirs {
                if let Some(Ok(v)) = values.get(at)
                    && *v != value
                {
                    return Err(format!(
                        "`run_once: {template}` ({}) is {value} for `{host}` but {v} for `{other}`; dr runs a templated `run_once` only when it is the same for every host of the batch",
                        t.location
                    ));
                }
            }
            t.run_once = value;
            at += 1;
            Ok(())
        })?;
    }
    Ok(())
}

fn all<'a>(tasks: &'a [Task], handlers: &'a [Task]) -> impl Iterator<Item = &'a Task> {
    tasks.iter().chain(handlers).flat_map(Task::walk)
}

/// [`Task::walk`]'s order, mutably.
fn walk_mut(
    task: &mut Task,
    f: &mut impl FnMut(&mut Task) -> Result<(), String>,
) -> Result<(), String> {
    f(task)?;
    for t in task
        .block
        .iter_mut()
        .chain(task.rescue.iter_mut())
        .chain(task.always.iter_mut())
    {
        walk_mut(t, f)?;
    }
    Ok(())
}

/// `template` rendered with `vars` and the task's own vars, read as Ansible reads a
/// boolean keyword (`boolean(value, strict=True)`).
fn render(template: &str, task: &Task, vars: &Map<String, Value>) -> Rendered {
    let mut scope = vars.clone();
    scope.extend(task.vars.clone());
    let value = Templater::new()
        .scope(scope)
        .render_value(&Value::String(template.to_owned()))
        .map_err(|e| e.to_string())?;
    boolean(&value).ok_or_else(|| format!("`{value}` is not a valid boolean"))
}

/// Ansible's `BOOLEANS_TRUE` and `BOOLEANS_FALSE`.
fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(template: &str) -> Task {
        Task {
            module: "debug".into(),
            location: "play.yml:3:7".into(),
            run_once_template: Some(template.into()),
            ..Task::default()
        }
    }

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn renders_with_the_hosts_and_the_tasks_vars() {
        let mut tasks = vec![task("{{ once | default(False) }}"), task("{{ mine }}")];
        tasks[1].vars = vars(json!({"mine": "yes"}));
        let v = vars(json!({}));
        resolve(&mut tasks, &mut [], &v, "a", &["a".into()], |_| None).unwrap();
        assert!(!tasks[0].run_once && tasks[1].run_once);
        assert!(tasks.iter().all(|t| t.run_once_template.is_none()));
    }

    #[test]
    fn a_value_only_the_host_knows_is_refused_with_its_location() {
        let mut tasks = vec![task("{{ is_primary }}")];
        let err = resolve(&mut tasks, &mut [], &vars(json!({})), "a", &[], |_| None).unwrap_err();
        assert!(err.contains("play.yml:3:7"), "{err}");
        assert!(err.contains("'is_primary' is undefined"), "{err}");
    }

    #[test]
    fn hosts_of_a_batch_that_disagree_are_refused() {
        let mut tasks = vec![task("{{ primary }}")];
        let batch = ["a".to_owned(), "b".to_owned()];
        let v = vars(json!({"primary": true}));
        let err = resolve(&mut tasks, &mut [], &v, "a", &batch, |_| {
            Some(vec![Ok(false)])
        })
        .unwrap_err();
        assert!(err.contains("is true for `a` but false for `b`"), "{err}");
    }

    #[test]
    fn not_a_boolean_is_refused() {
        let mut tasks = vec![task("{{ 'sometimes' }}")];
        let err = resolve(&mut tasks, &mut [], &vars(json!({})), "a", &[], |_| None).unwrap_err();
        assert!(
            err.contains("`\"sometimes\"` is not a valid boolean"),
            "{err}"
        );
    }
}

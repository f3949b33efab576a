//! Which tasks read other hosts' variables, and so wait for their batch first (a barrier:
//! `docs/cross-host.md`). A task reads them when its templates name `hostvars`, or a
//! variable whose value does (directly or through other variables). Marking too much only
//! costs waiting, as Ansible's linear strategy always waits; marking too little would read
//! a stale value, so the variables are looked up across every host of the play.

use std::collections::HashSet;
use std::sync::LazyLock;

use dr_agent::wire::{Condition, FileContent, Task, TaskKind};
use regex::Regex;
use serde_json::{Map, Value};

/// Identifiers in template text.
static WORD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").ok());

/// The names whose values read `hostvars`, directly or through each other, among
/// `sources` (maps of variables).
#[cfg(test)]
pub fn tainted<'a>(sources: impl IntoIterator<Item = &'a Map<String, Value>>) -> HashSet<String> {
    closure(&templated(sources))
}

/// The variables among `sources` whose values are templates, as (name, text), each pair
/// once (an inventory repeats its group variables in every host).
pub fn templated<'a>(
    sources: impl IntoIterator<Item = &'a Map<String, Value>>,
) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    for vars in sources {
        for (name, value) in vars {
            // The magic variables hold every host's data, not templates.
            if matches!(name.as_str(), "hostvars" | "groups") {
                continue;
            }
            // Most values hold no template: checked before their text is gathered.
            if has_template(value) {
                let mut all = String::new();
                strings(value, &mut all);
                seen.insert((name.clone(), all));
            }
        }
    }
    seen.into_iter().collect()
}

/// The names among `texts` whose values read `hostvars`, directly or through each other.
pub fn closure(texts: &[(String, String)]) -> HashSet<String> {
    let mut out = HashSet::new();
    loop {
        let before = out.len();
        for (name, text) in texts {
            if !out.contains(name) && reads(text, &out) {
                out.insert(name.clone());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// Marks the tasks of `tasks` (a play's tree, not its handlers) that read other hosts'
/// variables: `tainted` names such variables; `files` are the template sources.
pub fn mark(
    tasks: &mut [Task],
    tainted: &HashSet<String>,
    files: &std::collections::BTreeMap<String, FileContent>,
) {
    for task in tasks {
        let mut text = String::new();
        own_text(task, &mut text);
        if task.module == "template"
            && let Some(src) = task.args.get("src").and_then(Value::as_str)
            && let Some(content) = files.get(src)
        {
            text.push_str(&String::from_utf8_lossy(content.bytes()));
        }
        task.sync = reads(&text, tainted);
        mark(&mut task.block, tainted, files);
        mark(&mut task.rescue, tainted, files);
        mark(&mut task.always, tainted, files);
    }
}

/// Whether `text` names `hostvars` (or the hosts still in the play, which other hosts'
/// failures change) or one of `tainted`.
fn reads(text: &str, tainted: &HashSet<String>) -> bool {
    if ["hostvars", "ansible_play_hosts", "ansible_play_batch"]
        .iter()
        .any(|magic| text.contains(magic))
    {
        return true;
    }
    if tainted.is_empty() {
        return false;
    }
    WORD.as_ref()
        .is_some_and(|re| re.find_iter(text).any(|w| tainted.contains(w.as_str())))
}

/// A task's own templated text (not that of the tasks nested in it).
fn own_text(task: &Task, out: &mut String) {
    let mut push = |s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    if task.kind == TaskKind::Module {
        let mut args = String::new();
        strings(&task.args, &mut args);
        push(&args);
    }
    let mut rest = String::new();
    if let Some(l) = &task.loop_ {
        strings(l, &mut rest);
    }
    for v in task.vars.values().chain(task.environment.values()) {
        strings(v, &mut rest);
    }
    push(&rest);
    for s in task.when.iter().map(Condition::as_str).chain(
        task.changed_when
            .iter()
            .chain(&task.failed_when)
            .chain(&task.break_when)
            .chain(task.until.iter())
            .chain(task.name.iter())
            .chain(task.loop_label.iter())
            .chain(task.include_file.iter())
            .chain(task.delegate_to.iter())
            .map(String::as_str),
    ) {
        push(s);
    }
}

/// Whether a string inside `v` holds a template (`strings` joins them by line ends, so
/// none starts across two).
fn has_template(v: &Value) -> bool {
    match v {
        // A one-byte search first: a two-byte pattern is searched far slower in short text.
        Value::String(s) => s.contains('{') && (s.contains("{{") || s.contains("{%")),
        Value::Array(items) => items.iter().any(has_template),
        Value::Object(map) => map.values().any(has_template),
        _ => false,
    }
}

fn strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn variables_that_read_hostvars_taint_those_that_read_them() {
        let play = map(json!({
            "primary": "{{ groups['db'][0] }}",
            "primary_ip": "{{ hostvars[primary]['ansible_host'] }}",
            "url": "postgres://{{ primary_ip }}/app",
            "port": 5432,
            "plain": "{{ port }}",
        }));
        let t = tainted([&play]);
        assert!(t.contains("primary_ip") && t.contains("url"), "{t:?}");
        assert!(!t.contains("primary") && !t.contains("plain") && !t.contains("port"));
    }

    #[test]
    fn tasks_reading_other_hosts_are_marked_nested_ones_too() {
        let t: HashSet<String> = ["url".to_owned()].into();
        let mut tasks: Vec<Task> = serde_json::from_value(json!([
            {"module": "debug", "args": {"msg": "{{ url }}"}, "location": "a:1:1"},
            {"module": "debug", "args": {"msg": "{{ other_url }}"}, "location": "a:2:1"},
            {"module": "block", "args": null, "location": "a:3:1", "kind": "block", "block": [
                {"module": "debug", "args": {}, "when": ["hostvars['db1'].ready"], "location": "a:4:1"}
            ]},
        ]))
        .unwrap();
        mark(&mut tasks, &t, &Default::default());
        assert!(tasks[0].sync);
        assert!(!tasks[1].sync, "`other_url` is another name");
        assert!(!tasks[2].sync && tasks[2].block[0].sync);
    }
}

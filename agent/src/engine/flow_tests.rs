//! Blocks, includes, `meta` endings and handler flushes, as Ansible runs them.

use serde_json::{Value as Json, json};

use super::super::tests::{debug, events, finished, messages, request, results, task};
use crate::wire::Status;

fn block(body: Json, rescue: Json, always: Json) -> Json {
    json!({"module": "block", "kind": "block", "location": "play.yml:1:1",
           "block": body, "rescue": rescue, "always": always})
}

fn fail(msg: &str) -> Json {
    task("fail", json!({"msg": msg}), json!({"name": "boom"}))
}

#[test]
fn rescue_makes_the_host_ok_and_sees_the_failed_task() {
    let req = request(
        json!([
            block(
                json!([debug("in block"), fail("broken"), debug("never")]),
                json!([debug(
                    "rescued {{ ansible_failed_task.name }}: {{ ansible_failed_result.msg }}"
                )]),
                json!([debug("always")]),
            ),
            debug("after"),
        ]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(
        messages(&ev),
        ["in block", "rescued boom: broken", "always", "after"]
    );
    let (stats, error) = finished(&ev);
    assert_eq!(error, None);
    assert_eq!((stats.failed, stats.rescued), (0, 1));
}

#[test]
fn always_runs_and_an_unrescued_failure_still_fails_the_host() {
    let req = request(
        json!([
            block(
                json!([fail("broken")]),
                json!([]),
                json!([debug("cleanup")])
            ),
            debug("after"),
        ]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(messages(&ev), ["cleanup"]);
    let (stats, error) = finished(&ev);
    assert!(error.unwrap_or_default().contains("broken"));
    assert_eq!(stats.failed, 1);
}

#[test]
fn a_failing_rescue_fails_and_nested_blocks_rescue_outward() {
    let inner = block(
        json!([fail("inner")]),
        json!([fail("rescue failed too")]),
        json!([]),
    );
    let req = request(
        json!([block(
            json!([inner]),
            json!([debug("outer rescue")]),
            json!([])
        )]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(messages(&ev), ["outer rescue"]);
    let (stats, error) = finished(&ev);
    assert_eq!(error, None);
    assert_eq!(stats.rescued, 2);
}

#[test]
fn clear_host_errors_in_always_takes_the_failure_back_also_from_a_nested_block() {
    let clear = task("meta", json!("clear_host_errors"), json!({}));
    let req = request(
        json!([
            block(
                json!([fail("broken")]),
                json!([]),
                json!([block(json!([clear]), json!([]), json!([]))]),
            ),
            debug("after"),
        ]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(messages(&ev), ["after"]);
    let (stats, error) = finished(&ev);
    assert_eq!(error, None);
    // The failure still shows in the counts, as in Ansible's recap.
    assert_eq!(stats.failed, 1);
}

#[test]
fn end_host_ends_the_play_without_failing_and_skips_always() {
    let req = request(
        json!([
            block(
                json!([
                    task("meta", json!("end_host"), json!({})),
                    debug("not reached")
                ]),
                json!([]),
                json!([debug("always not reached")]),
            ),
            debug("not reached either"),
        ]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert!(messages(&ev).is_empty(), "{:?}", messages(&ev));
    assert_eq!(finished(&ev).1, None);
}

#[test]
fn include_evaluates_when_and_loop_once_and_scopes_its_vars() {
    let include = json!({
        "module": "include_tasks", "kind": "include", "location": "play.yml:1:1",
        "loop": [1, 2, 3], "when": ["item != 2"], "vars": {"who": "x{{ item }}"},
        "block": [debug("{{ who }} {{ item }}")],
    });
    let req = request(
        json!([include, debug("{{ who | default('gone') }}")]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(messages(&ev), ["x1 1", "x3 3", "gone"]);
    let skipped = results(&ev)
        .into_iter()
        .filter(|r| r.2 == Status::Skipped)
        .count();
    assert_eq!(skipped, 1);
}

#[test]
fn implicit_flush_runs_handlers_between_sections_and_force_handlers_after_failure() {
    let notify = task(
        "set_fact",
        json!({"x": 1}),
        json!({"changed_when": ["true"], "notify": ["h"]}),
    );
    let flush =
        json!({"module": "meta", "args": "flush_handlers", "location": "p:1:1", "implicit": true});
    let handler = task("debug", json!({"msg": "handler"}), json!({"name": "h"}));
    let req = request(
        json!([notify, flush, debug("post task")]),
        json!([handler.clone()]),
        json!({}),
    );
    assert_eq!(messages(&events(&req)), ["handler", "post task"]);

    let mut req = request(json!([notify, fail("x")]), json!([handler]), json!({}));
    assert!(
        messages(&events(&req)).is_empty(),
        "handlers ran after a failure"
    );
    req.play.force_handlers = true;
    let ev = events(&req);
    assert_eq!(messages(&ev), ["handler"]);
    assert!(finished(&ev).1.is_some(), "the host must stay failed");
}

#[test]
fn loop_control_index_var_extended_and_break_when() {
    let t = task(
        "debug",
        json!({"msg": "{{ i }}/{{ ansible_loop.revindex }}:{{ item }}"}),
        json!({"loop": ["a", "b", "c"], "index_var": "i", "loop_extended": true,
               "break_when": ["item == 'b'"]}),
    );
    let ev = events(&request(json!([t]), json!([]), json!({})));
    assert_eq!(messages(&ev), ["0/3:a", "1/2:b"]);
    let plain = task(
        "debug",
        json!({"msg": "{{ 'yes' if ansible_loop is defined else 'no' }}"}),
        json!({"loop": [1]}),
    );
    let ev = events(&request(json!([plain]), json!([]), json!({})));
    assert_eq!(messages(&ev), ["no"]);
}

#[test]
fn facts_beat_task_vars_and_extra_vars_beat_both() {
    let mut req = request(
        json!([
            task("set_fact", json!({"a": "fact", "b": "fact"}), json!({})),
            task(
                "debug",
                json!({"msg": "{{ a }} {{ b }}"}),
                json!({"vars": {"a": "task", "b": "task"}})
            ),
        ]),
        json!([]),
        json!({"b": "extra"}),
    );
    req.extra_vars = vec!["b".into()];
    assert_eq!(messages(&events(&req)), ["fact extra"]);
}

#[test]
fn a_templated_include_runs_the_file_its_name_renders_to_or_says_why_not() {
    let choice = |file: &str, msg: &str| {
        json!({"module": "block", "kind": "block", "name": file, "location": "p:1:1",
               "block": [debug(msg)]})
    };
    let include = json!({
        "module": "include_tasks", "kind": "include", "location": "play.yml:4:7",
        "include_file": "{{ which }}.yml", "loop": ["a", "b"], "loop_var": "which",
        "block": [choice("a.yml", "ran a"), choice("b.yml", "ran b {{ which }}")],
    });
    let ev = events(&request(json!([include.clone()]), json!([]), json!({})));
    assert_eq!(messages(&ev), ["ran a", "ran b b"]);

    let mut late = include;
    late["loop"] = json!(["c"]);
    let ev = events(&request(json!([late]), json!([]), json!({})));
    let error = finished(&ev).1.unwrap_or_default();
    assert!(
        error.contains("names `c.yml`, which dr did not resolve"),
        "{error}"
    );
}

#[test]
fn retries_and_delay_may_be_templates() {
    let t = task(
        "command",
        json!({"cmd": "false"}),
        json!({"register": "r", "until": "r.rc == 0", "retries": "{{ n + 1 }}", "delay": "{{ 0 }}",
               "ignore_errors": true}),
    );
    let ev = events(&request(
        json!([t, debug("{{ r.attempts }}")]),
        json!([]),
        json!({"n": 1}),
    ));
    // Three runs; as Ansible, a result whose attempts ran out says one fewer.
    assert_eq!(messages(&ev), ["2"]);
}

#[test]
fn arguments_given_as_one_template_are_splatted_under_args() {
    let t = task(
        "assert",
        json!({"_dr_args_template": "{{ item }}", "quiet": true}),
        json!({"loop": [{"that": "1 == 1"}, {"that": "a == 'one'"}]}),
    );
    let ev = events(&request(json!([t]), json!([]), json!({"a": "one"})));
    assert_eq!(finished(&ev).1, None);
    let bad = task(
        "assert",
        json!({"_dr_args_template": "{{ 'x' }}"}),
        json!({}),
    );
    let ev = events(&request(json!([bad]), json!([]), json!({})));
    assert!(
        finished(&ev)
            .1
            .unwrap_or_default()
            .contains("Task args must resolve to a 'dict' not 'str'")
    );
}

#[test]
fn a_command_runs_as_its_become_user() {
    let whoami = task(
        "command",
        json!("id -un"),
        json!({"register": "r", "become": "nobody", "ignore_errors": true}),
    );
    let ev = events(&request(
        json!([whoami, debug("{{ r.stdout | default(r.msg) }}")]),
        json!([]),
        json!({}),
    ));
    let said = messages(&ev);
    if rustix::process::geteuid().is_root() {
        assert_eq!(said, ["nobody"]);
    } else {
        assert!(said[0].contains("cannot switch users"), "{said:?}");
    }
}

/// Runs `tasks` with `vars` and gives what each `debug` said.
fn said(tasks: Json, vars: Json) -> Vec<String> {
    messages(&events(&request(tasks, json!([]), vars)))
}

#[test]
fn become_variables_override_the_keywords_when_the_task_runs() {
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let whoami = |extra: Json| {
        let mut keywords = json!({"register": "r", "ignore_errors": true});
        keywords
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        task("command", json!("id -un"), keywords)
    };
    let show = debug("{{ r.stdout | default(r.msg) }}");
    // Task `vars` escalate a task whose keywords do not.
    let vars = json!({"vars": {"ansible_become": true, "ansible_become_user": "nobody"}});
    assert_eq!(
        said(json!([whoami(vars), show.clone()]), json!({})),
        ["nobody"]
    );
    // The variable beats the keyword, wherever it was set (here the host's).
    let keyword = json!({"become": "nobody"});
    let host = json!({"ansible_become_user": "root"});
    assert_eq!(said(json!([whoami(keyword), show.clone()]), host), ["root"]);
    // `ansible_become: false` turns the keyword's escalation off.
    let off = json!({"become": "nobody", "vars": {"ansible_become": false}});
    assert_eq!(
        said(json!([whoami(off), show.clone()]), json!({})),
        ["root"]
    );
    // `set_fact` changes who the next tasks run as.
    let fact = task(
        "set_fact",
        json!({"ansible_become": true, "ansible_become_user": "nobody"}),
        json!({}),
    );
    assert_eq!(
        said(json!([fact, whoami(json!({})), show.clone()]), json!({})),
        ["nobody"]
    );
    // `dr_become_user` comes before `ansible_become_user`.
    let both =
        json!({"ansible_become": true, "ansible_become_user": "root", "dr_become_user": "nobody"});
    assert_eq!(said(json!([whoami(json!({})), show]), both), ["nobody"]);
}

#[test]
fn a_task_that_cannot_run_as_its_become_user_fails_saying_why() {
    let stat = task(
        "ping",
        json!({}),
        json!({"register": "r", "ignore_errors": true, "vars": {"ansible_become": true, "ansible_become_user": "nobody"}}),
    );
    let got = said(json!([stat, debug("{{ r.msg }}")]), json!({}));
    assert!(got[0].contains("must run as `nobody`"), "{got:?}");
    let bad = task(
        "command",
        json!("true"),
        json!({"register": "r", "ignore_errors": true, "vars": {"ansible_become": "maybe"}}),
    );
    let got = said(json!([bad, debug("{{ r.msg }}")]), json!({}));
    assert!(
        got[0].contains("`ansible_become` must be a boolean, got `maybe`"),
        "{got:?}"
    );
}

#[test]
fn facts_from_earlier_plays_come_in_and_this_plays_go_out() {
    let mut req = request(
        json!([
            debug("{{ earlier }} {{ hostvars[inventory_hostname].earlier }}"),
            task("set_fact", json!({"now": 2}), json!({"register": "r"})),
        ]),
        json!([]),
        json!({"hostvars": {"h1": {}}}),
    );
    req.facts.insert("earlier".into(), json!(1));
    let ev = events(&req);
    assert_eq!(messages(&ev), ["1 1"]);
    let Some(crate::wire::Event::Finished { facts, .. }) = ev.last() else {
        panic!("no Finished event");
    };
    assert_eq!(facts.get("earlier"), Some(&json!(1)));
    assert_eq!(facts.get("now"), Some(&json!(2)));
    assert!(facts.get("r").is_some_and(|r| r["changed"] == json!(false)));
}

#[test]
fn a_cacheable_set_fact_is_a_host_fact_too_and_above_play_vars() {
    let req = request(
        json!([
            task(
                "set_fact",
                json!({"ansible_color": "blue", "cacheable": "yes"}),
                json!({})
            ),
            task(
                "set_fact",
                json!({"scratch": 1, "cacheable": false}),
                json!({})
            ),
            debug("{{ ansible_color }} {{ ansible_facts.color }}"),
            task(
                "set_fact",
                json!({"x": 1, "cacheable": "maybe"}),
                json!({"ignore_errors": true})
            ),
        ]),
        json!([]),
        json!({"ansible_color": "red", "hostvars": {"h1": {}}}),
    );
    let ev = events(&req);
    assert_eq!(messages(&ev), ["blue blue"]);
    let Some(crate::wire::Event::Finished {
        facts, host_facts, ..
    }) = ev.last()
    else {
        panic!("no Finished event");
    };
    assert_eq!(host_facts.get("ansible_color"), Some(&json!("blue")));
    assert_eq!(host_facts["ansible_facts"]["color"], json!("blue"));
    assert_eq!(host_facts.get("scratch"), None);
    assert_eq!(facts.get("ansible_color"), Some(&json!("blue")));
    assert_eq!(facts.get("scratch"), Some(&json!(1)));
    let last = results(&ev).pop().unwrap();
    assert_eq!(last.2, Status::Failed, "{last:?}");
    assert!(last.3.contains("is not a valid boolean"), "{last:?}");
}

#[test]
fn a_task_that_changes_its_connection_fails_naming_the_variable() {
    let run = |keywords: Json, before: Vec<Json>| {
        let mut tasks = before;
        tasks.push(task("command", json!("true"), keywords));
        tasks.push(debug("{{ r.msg if r is failed else 'ran' }}"));
        said(
            Json::Array(tasks),
            json!({"ansible_host": "10.0.0.1", "target": "10.0.0.1"}),
        )
    };
    let own = json!({"register": "r", "ignore_errors": true, "vars": {"ansible_host": "10.0.0.2"}});
    let got = run(own, vec![]);
    assert!(
        got[0].contains("`ansible_host` is set for this task"),
        "{got:?}"
    );
    // The same address, written as a template, is no change.
    let same = json!({"register": "r", "vars": {"ansible_host": "{{ target }}"}});
    assert_eq!(run(same, vec![]), ["ran"]);
    // A fact set earlier counts, and so does a variable the play did not have.
    let fact = task("set_fact", json!({"ansible_user": "app"}), json!({}));
    let got = run(json!({"register": "r", "ignore_errors": true}), vec![fact]);
    assert!(
        got[0].contains("`ansible_user` is set for this task"),
        "{got:?}"
    );
    // Tasks that never reach the host are not concerned.
    let fact = task("set_fact", json!({"ansible_port": 2222}), json!({}));
    assert_eq!(
        said(json!([fact, debug("{{ ansible_port }}")]), json!({})),
        ["2222"]
    );
}

#[test]
fn a_templated_no_log_is_rendered_when_the_task_starts() {
    let shown = |hide: Json| {
        let t = task(
            "command",
            json!("echo visible-output"),
            json!({"no_log": false, "no_log_when": "{{ hide }}"}),
        );
        let ev = events(&request(json!([t]), json!([]), json!({"hide": hide})));
        results(&ev).into_iter().map(|r| r.3).collect::<Vec<_>>()
    };
    let hidden = shown(json!(true));
    assert!(hidden[0].contains("hidden"), "{hidden:?}");
    let visible = shown(json!(false));
    assert!(!visible[0].contains("hidden"), "{visible:?}");
    let bad = shown(json!("maybe"));
    assert!(
        bad[0].contains("`no_log`: the value 'maybe' is not a valid boolean"),
        "{bad:?}"
    );
}

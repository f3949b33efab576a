//! Engine semantics, run through [`run`] with real (local, harmless) modules.

use serde_json::{Value as Json, json};

use super::run;
use crate::wire::{Event, Request, Stats, Status};

pub(super) fn request(tasks: Json, handlers: Json, vars: Json) -> Request {
    let req = json!({
        "protocol": 1,
        "host": "h1",
        "mode": "apply",
        "diff": true,
        "play": {"name": "p", "tasks": tasks, "handlers": handlers},
        "vars": vars,
        "files": {},
    });
    match serde_json::from_value(req) {
        Ok(r) => r,
        Err(e) => panic!("bad test request: {e}"),
    }
}

pub(super) fn task(module: &str, args: Json, extra: Json) -> Json {
    let mut t = json!({"module": module, "args": args, "location": "play.yml:1:1"});
    if let (Json::Object(t), Json::Object(extra)) = (&mut t, extra) {
        t.extend(extra);
    }
    t
}

pub(super) fn events(req: &Request) -> Vec<Event> {
    let mut out = Vec::new();
    run(req, &mut |e| out.push(e));
    out
}

pub(super) fn finished(ev: &[Event]) -> (Stats, Option<String>) {
    match ev.last() {
        Some(Event::Finished { stats, error, .. }) => (*stats, error.clone()),
        other => panic!("last event is not Finished: {other:?}"),
    }
}

/// (name, item, status, msg) of every task result.
pub(super) fn results(ev: &[Event]) -> Vec<(String, Option<String>, Status, String)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::TaskResult {
                name,
                item,
                status,
                msg,
                ..
            } => Some((name.clone(), item.clone(), *status, msg.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn messages(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Message { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn debug(msg: &str) -> Json {
    task("debug", json!({"msg": msg}), json!({}))
}

#[test]
fn when_skips_and_runs() {
    let req = request(
        json!([
            task("debug", json!({"msg": "a"}), json!({"when": ["x == 1"]})),
            task("debug", json!({"msg": "b"}), json!({"when": ["x == 2"]})),
            task(
                "debug",
                json!({"msg": "c"}),
                json!({"when": ["true", "x is defined"]})
            ),
        ]),
        json!([]),
        json!({"x": 1}),
    );
    let ev = events(&req);
    assert_eq!(messages(&ev), vec!["a", "c"]);
    let r = results(&ev);
    assert_eq!(r[1].2, Status::Skipped);
    let (stats, error) = finished(&ev);
    assert_eq!(error, None);
    assert_eq!(
        stats,
        Stats {
            ok: 2,
            changed: 0,
            failed: 0,
            skipped: 1,
            rescued: 0
        }
    );
}

#[test]
fn loop_with_register_collects_results() {
    let req = request(
        json!([
            task(
                "shell",
                json!("echo {{ item }}"),
                json!({"loop": ["a", "b"], "register": "out"})
            ),
            debug("{{ out.results | map(attribute='stdout') | join(',') }} {{ out.changed }}"),
            task(
                "debug",
                json!({"msg": "{{ n }}"}),
                json!({"loop": "{{ [1, 2] }}", "loop_var": "n"})
            ),
        ]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    let r = results(&ev);
    assert_eq!(r[0].1.as_deref(), Some("a"));
    assert_eq!(r[1].1.as_deref(), Some("b"));
    assert_eq!(messages(&ev), vec!["a,b True", "1", "2"]);
    assert_eq!(finished(&ev).1, None);
}

#[test]
fn handlers_run_once_in_definition_order() {
    let changed = |notify: Json| task("shell", json!("true"), json!({"notify": notify}));
    let req = request(
        json!([
            changed(json!(["second"])),
            changed(json!(["first", "second"])),
            task(
                "debug",
                json!({"msg": "unchanged"}),
                json!({"notify": ["third"]})
            ),
        ]),
        json!([
            task("debug", json!({"msg": "h1"}), json!({"name": "first"})),
            task("debug", json!({"msg": "h2"}), json!({"name": "second"})),
            task("debug", json!({"msg": "h3"}), json!({"name": "third"})),
            task(
                "debug",
                json!({"msg": "h4"}),
                json!({"name": "listener", "listen": ["second"]})
            ),
        ]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(messages(&ev), vec!["unchanged", "h1", "h2", "h4"]);
    let handler_starts = ev
        .iter()
        .filter(|e| matches!(e, Event::TaskStart { handler: true, .. }))
        .count();
    assert_eq!(handler_starts, 3);
}

#[test]
fn handlers_do_not_run_after_a_failure() {
    let req = request(
        json!([
            task("shell", json!("true"), json!({"notify": ["h"]})),
            task("fail", json!({"msg": "boom"}), json!({"name": "stop here"})),
            debug("never"),
        ]),
        json!([task(
            "debug",
            json!({"msg": "handler ran"}),
            json!({"name": "h"})
        )]),
        json!({}),
    );
    let ev = events(&req);
    assert!(messages(&ev).is_empty());
    let (stats, error) = finished(&ev);
    assert_eq!(
        error.as_deref(),
        Some("boom (in task `stop here` at play.yml:1:1)")
    );
    assert_eq!(stats.failed, 1);
    assert_eq!(stats.changed, 1);
}

#[test]
fn changed_when_failed_when_and_ignore_errors() {
    let req = request(
        json!([
            task(
                "shell",
                json!("echo hi; exit 3"),
                json!({"register": "r", "failed_when": ["r.rc not in [0, 3]"], "changed_when": ["'hi' in r.stdout and false"]})
            ),
            task(
                "shell",
                json!("exit 1"),
                json!({"ignore_errors": true, "register": "r2"})
            ),
            task(
                "assert",
                json!({"that": ["r is not changed", "r is succeeded", "r2 is failed", "r2.rc == 1"]}),
                json!({})
            ),
        ]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    let r = results(&ev);
    assert_eq!(r[0].2, Status::Ok);
    assert_eq!(r[1].2, Status::Failed);
    assert_eq!(r[2].2, Status::Ok, "{:?}", r[2]);
    let ignored = ev
        .iter()
        .any(|e| matches!(e, Event::TaskResult { ignored: true, .. }));
    assert!(ignored);
    let (stats, error) = finished(&ev);
    assert_eq!(error, None);
    assert_eq!(stats.failed, 1);
}

#[test]
fn assert_that_templating_a_constant_string_is_untrusted() {
    // As Ansible: `that: "{{ '1 == 1' }}"` fails rather than evaluating the string.
    let req = request(
        json!([task("assert", json!({"that": "{{ '1 == 1' }}"}), json!({}))]),
        json!([]),
        json!({}),
    );
    let r = results(&events(&req));
    assert_eq!(r[0].2, Status::Failed, "{:?}", r[0]);
    assert!(
        r[0].3
            .contains("Encountered untrusted template or expression."),
        "{:?}",
        r[0]
    );
}

#[test]
fn until_retries_until_the_condition_holds() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let counter = dir.path().join("n");
    let script = format!(
        "n=$(cat {p} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {p}; echo $n",
        p = counter.display()
    );
    let req = request(
        json!([
            task(
                "shell",
                json!(script),
                json!({"register": "r", "until": "r.stdout == '3'", "retries": 5, "delay": 0})
            ),
            debug("{{ r.attempts }}"),
            task(
                "shell",
                json!("false"),
                json!({"register": "x", "until": "x.rc == 0", "retries": 1, "delay": 0})
            ),
        ]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(messages(&ev), vec!["3"]);
    let (_, error) = finished(&ev);
    assert!(error.is_some_and(|e| e.contains("non-zero return code")));
}

#[test]
fn no_log_hides_output_and_secrets_are_masked() {
    let mut req = request(
        json!([
            task(
                "debug",
                json!({"msg": "pw={{ pw }}"}),
                json!({"no_log": true})
            ),
            debug("pw={{ pw }} url=postgres://app:other@db/x"),
            task("fail", json!({"msg": "failed with {{ pw }}"}), json!({})),
        ]),
        json!([]),
        json!({"pw": "s3cr3tvalue"}),
    );
    req.secrets = vec!["s3cr3tvalue".into()];
    let ev = events(&req);
    let r = results(&ev);
    assert_eq!(r[0].3, super::NO_LOG_MSG);
    assert_eq!(
        messages(&ev),
        vec!["pw=******** url=postgres://app:********@db/x"]
    );
    let all = serde_json::to_string(
        &ev.iter()
            .map(|e| e.to_line().unwrap_or_default())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    assert!(!all.contains("s3cr3tvalue"), "{all}");
    assert!(!all.contains("other@"), "{all}");
    assert_eq!(
        finished(&ev).1.as_deref(),
        Some("failed with ******** (in task `fail` at play.yml:1:1)")
    );
}

#[test]
fn tags_select_tasks() {
    let mut req = request(
        json!([
            task("debug", json!({"msg": "db"}), json!({"tags": ["db"]})),
            task("debug", json!({"msg": "web"}), json!({"tags": ["web"]})),
            task(
                "debug",
                json!({"msg": "always"}),
                json!({"tags": ["always"]})
            ),
            task("debug", json!({"msg": "never"}), json!({"tags": ["never"]})),
        ]),
        json!([]),
        json!({}),
    );
    req.tags = vec!["db".into()];
    assert_eq!(messages(&events(&req)), vec!["db", "always"]);
    req.tags = vec![];
    req.skip_tags = vec!["db".into()];
    assert_eq!(messages(&events(&req)), vec!["web", "always"]);
}

#[test]
fn check_mode_plans_commands_unless_the_task_says_otherwise() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let marker = dir.path().join("ran");
    let mut req = request(
        json!([
            task(
                "command",
                json!(format!("touch {}", marker.display())),
                json!({"register": "planned"})
            ),
            task(
                "shell",
                json!("echo real"),
                json!({"check_mode": false, "register": "r"})
            ),
            debug("{{ r.stdout }} {{ ansible_check_mode }}"),
            // Registered as Ansible's command registers a run check mode skipped.
            debug("{{ planned.msg }} {{ planned is skipped }} {{ planned is changed }}"),
            // With `creates`, the check decided: a change, not a skip.
            task(
                "command",
                json!({"cmd": format!("touch {}", marker.display()), "creates": marker.display().to_string()}),
                json!({"register": "guarded"})
            ),
            debug("{{ guarded is skipped }} {{ guarded is changed }}"),
        ]),
        json!([]),
        json!({}),
    );
    req.mode = crate::wire::Mode::Check;
    let ev = events(&req);
    let r = results(&ev);
    assert_eq!(r[0].2, Status::Changed);
    assert_eq!(r[0].3, format!("would run: touch {}", marker.display()));
    assert!(!marker.exists());
    assert_eq!(
        messages(&ev),
        vec![
            "real True",
            "Command would have run if not in check mode True False",
            "False True"
        ]
    );
}

#[test]
fn read_only_commands_are_no_change_in_check_mode() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("m");
    let mut req = request(
        json!([
            task(
                "command",
                json!(format!("touch {}", marker.display())),
                json!({"changed_when": ["false"]})
            ),
            task(
                "command",
                json!("true"),
                json!({"changed_when": ["r.rc != 0"], "register": "r"})
            ),
        ]),
        json!([]),
        json!({}),
    );
    req.mode = crate::wire::Mode::Check;
    let r = results(&events(&req));
    assert_eq!(r[0].2, Status::Ok, "changed_when: false is never a change");
    assert!(
        r[0].3.ends_with("(read-only: changed_when is false)"),
        "{}",
        r[0].3
    );
    assert!(!marker.exists());
    assert_eq!(
        r[1].2,
        Status::Changed,
        "a condition on the result cannot be known in check mode"
    );
}

#[test]
fn undefined_variable_names_variable_and_location() {
    let req = request(
        json!([task(
            "debug",
            json!({"msg": "host={{ db_host }}"}),
            json!({"name": "write env", "location": "playbooks/demo.yml:12:7"})
        )]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(
        finished(&ev).1.as_deref(),
        Some(
            "Error while resolving value for 'msg': 'db_host' is undefined (in task `write env` at playbooks/demo.yml:12:7)"
        )
    );
    assert_eq!(
        results(&ev)[0].3,
        "Error while resolving value for 'msg': 'db_host' is undefined (in task `write env` at playbooks/demo.yml:12:7)"
    );
}

#[test]
fn default_on_a_chain_and_set_fact_persist() {
    let req = request(
        json!([
            task(
                "set_fact",
                json!({"port": "{{ cfg.db.port | default(5432) }}", "hosts": "{{ ['a', 'b'] }}"}),
                json!({})
            ),
            debug("{{ port + 1 }} {{ hosts | length }}"),
            task("debug", json!({"var": "port"}), json!({})),
        ]),
        json!([]),
        json!({"cfg": {}}),
    );
    let ev = events(&req);
    assert_eq!(messages(&ev), vec!["5433 2", "port: 5432"]);
}

#[test]
fn planned_and_unknown_modules_fail_at_run_time() {
    for planned in crate::modules::PLANNED {
        let req = request(
            json!([task(planned, json!({}), json!({}))]),
            json!([]),
            json!({}),
        );
        assert_eq!(
            finished(&events(&req)).1,
            Some(format!(
                "module `{planned}` is not available in this version of dr (in task `{planned}` at play.yml:1:1)"
            ))
        );
    }
    let req = request(
        json!([task("no_such_module", json!({}), json!({}))]),
        json!([]),
        json!({}),
    );
    assert_eq!(
        finished(&events(&req)).1.as_deref(),
        Some("unknown module `no_such_module` (in task `no_such_module` at play.yml:1:1)")
    );
}

#[test]
fn flush_handlers_runs_pending_handlers_now() {
    let req = request(
        json!([
            task("shell", json!("true"), json!({"notify": ["h"]})),
            task("meta", json!("flush_handlers"), json!({})),
            debug("after"),
        ]),
        json!([task(
            "debug",
            json!({"msg": "handler"}),
            json!({"name": "h"})
        )]),
        json!({}),
    );
    assert_eq!(messages(&events(&req)), vec!["handler", "after"]);
}

#[test]
fn a_notified_handler_runs_whatever_the_tags_select() {
    // As Ansible, which filters the play's tasks by tags but never its handlers.
    let mut req = request(
        json!([task(
            "shell",
            json!("true"),
            json!({"notify": ["h"], "tags": ["t"]})
        )]),
        json!([task(
            "debug",
            json!({"msg": "handler"}),
            json!({"name": "h"})
        )]),
        json!({}),
    );
    req.tags = vec!["t".into()];
    assert_eq!(messages(&events(&req)), vec!["handler"]);
}

#[test]
fn a_name_notifies_its_first_handler_and_a_topic_one_listener_per_name() {
    let set = |var: &str, extra: Json| task("set_fact", json!({ var: true }), extra);
    let req = request(
        json!([
            task("shell", json!("true"), json!({"notify": ["n"]})),
            task("shell", json!("true"), json!({"notify": ["topic"]})),
            task("meta", json!("flush_handlers"), json!({})),
            debug(
                "{{ [first is defined, second is defined, l1 is defined, l2 is defined, l3 is defined] | to_json }}"
            ),
        ]),
        json!([
            set("first", json!({"name": "n"})),
            set("second", json!({"name": "n"})),
            set("l1", json!({"name": "same", "listen": ["topic"]})),
            set("l2", json!({"name": "same", "listen": ["topic"]})),
            set("l3", json!({"listen": ["topic"]})),
        ]),
        json!({}),
    );
    assert_eq!(
        messages(&events(&req)).last().map(String::as_str),
        Some("[true, false, true, false, true]")
    );
}

#[test]
fn a_templated_notify_may_name_a_list_of_handlers() {
    let req = request(
        json!([
            task("shell", json!("true"), json!({"notify": ["{{ both }}"]})),
            task("meta", json!("flush_handlers"), json!({})),
        ]),
        json!([
            task("debug", json!({"msg": "a ran"}), json!({"name": "a"})),
            task("debug", json!({"msg": "b ran"}), json!({"name": "b"})),
        ]),
        json!({"both": ["a", "b"]}),
    );
    assert_eq!(messages(&events(&req)), ["a ran", "b ran"]);
}

#[test]
fn the_plays_own_handler_wins_over_a_roles_of_the_same_name() {
    // Ansible searches its handler blocks last first: the play's own before its roles'.
    let req = request(
        json!([
            task("shell", json!("true"), json!({"notify": ["n"]})),
            task("meta", json!("flush_handlers"), json!({})),
            debug("{{ [from_role is defined, from_play is defined] | to_json }}"),
        ]),
        json!([
            task(
                "set_fact",
                json!({"from_role": true}),
                json!({"name": "n", "vars": {"role_name": "r"}})
            ),
            task("set_fact", json!({"from_play": true}), json!({"name": "n"})),
        ]),
        json!({}),
    );
    assert_eq!(
        messages(&events(&req)).last().map(String::as_str),
        Some("[false, true]")
    );
}

#[test]
fn a_handler_whose_name_cannot_be_templated_is_unusable_with_ansibles_warning() {
    let req = request(
        json!([
            task("shell", json!("true"), json!({"notify": ["h"]})),
            task("meta", json!("flush_handlers"), json!({})),
        ]),
        json!([
            task(
                "debug",
                json!({"msg": "never"}),
                json!({"name": "h {{ nope }}"})
            ),
            task("debug", json!({"msg": "ran"}), json!({"name": "h"})),
        ]),
        json!({}),
    );
    let shown = messages(&events(&req));
    assert!(
        shown[0].starts_with(
            "[WARNING]: Handler 'h {{ nope }}' is unusable because it has no listen topics and the name could not be templated"
        ),
        "{shown:?}"
    );
    assert_eq!(shown[1..], ["ran"]);
}

#[test]
fn a_notified_handler_that_does_not_exist_fails_the_play() {
    let req = request(
        json!([task(
            "shell",
            json!("true"),
            json!({"notify": ["restart nothing"]})
        )]),
        json!([]),
        json!({}),
    );
    let err = finished(&events(&req)).1.unwrap_or_default();
    assert!(err.contains("`restart nothing`"), "{err}");
    assert!(
        err.contains("The requested handler 'restart nothing' was not found in either the main handlers list nor in the listening handlers list"),
        "{err}"
    );
    // `ERROR_ON_MISSING_HANDLER = false`: a warning, and the play goes on.
    let mut req = req;
    req.missing_handler_warns = true;
    let ev = events(&req);
    assert_eq!(finished(&ev).1, None);
    assert_eq!(
        messages(&ev),
        [
            "[WARNING]: The requested handler 'restart nothing' was not found in either the main handlers list nor in the listening handlers list"
        ]
    );
}

#[test]
fn every_result_carries_duration_and_finished_is_last() {
    let req = request(
        json!([task("shell", json!("sleep 0.05"), json!({}))]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    let d = ev.iter().find_map(|e| match e {
        Event::TaskResult { duration_ms, .. } => Some(*duration_ms),
        _ => None,
    });
    assert!(d.is_some_and(|d| d >= 50), "{d:?}");
    assert!(matches!(ev.first(), Some(Event::TaskStart { .. })));
}

#[test]
fn diffs_are_masked_and_check_mode_leaves_the_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = dir.path().join(".env");
    std::fs::write(
        &env,
        "DATABASE_URL=postgres://app:oldpw@db01/akira\nTOKEN=abc\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut req = request(
        json!([task(
            "env_file",
            json!({"path": env.display().to_string(), "set": {"DATABASE_URL": "postgres://app:{{ pw }}@db02/akira", "TOKEN": "{{ token }}"}}),
            json!({"name": "point at db02"})
        )]),
        json!([]),
        json!({"pw": "n3wpass", "token": "vault-token-value"}),
    );
    req.secrets = vec!["vault-token-value".into()];
    req.mode = crate::wire::Mode::Check;
    let ev = events(&req);
    let diff = ev
        .iter()
        .find_map(|e| match e {
            Event::TaskResult { diffs, status, .. } if *status == Status::Changed => {
                diffs.first().map(|d| d.text.clone())
            }
            _ => None,
        })
        .unwrap_or_default();
    assert!(
        diff.contains("+DATABASE_URL=postgres://app:********@db02/akira"),
        "{diff}"
    );
    assert!(
        diff.contains("-DATABASE_URL=postgres://app:********@db01/akira"),
        "{diff}"
    );
    assert!(diff.contains("+TOKEN=********"), "{diff}");
    assert!(!diff.contains("n3wpass") && !diff.contains("vault-token-value"));
    assert_eq!(
        std::fs::read_to_string(&env).unwrap_or_default(),
        "DATABASE_URL=postgres://app:oldpw@db01/akira\nTOKEN=abc\n"
    );
}

#[test]
fn no_log_task_sends_no_diff() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let f = dir.path().join("f");
    let req = request(
        json!([task(
            "copy",
            json!({"content": "x", "dest": f.display().to_string()}),
            json!({"no_log": true})
        )]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    let sent_diffs = ev
        .iter()
        .any(|e| matches!(e, Event::TaskResult { diffs, .. } if !diffs.is_empty()));
    assert!(!sent_diffs);
    assert_eq!(results(&ev)[0].2, Status::Changed);
}

#[test]
fn task_environment_and_vars_reach_the_command() {
    let req = request(
        json!([
            task(
                "shell",
                json!("echo $GREETING"),
                json!({"register": "r", "environment": {"GREETING": "{{ word }}"}, "vars": {"word": "hi {{ who }}"}})
            ),
            debug("{{ r.stdout }}"),
        ]),
        json!([]),
        json!({"who": "ops"}),
    );
    assert_eq!(messages(&events(&req)), vec!["hi ops"]);
}

#[test]
fn handler_chain_and_check_mode_handlers_still_report() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = |n: &str| dir.path().join(n).display().to_string();
    let mut req = request(
        json!([
            task(
                "copy",
                json!({"content": "x", "dest": file("t")}),
                json!({"notify": ["a"]})
            ),
            // As Ansible, which skips a command in check mode: "would run" notifies nothing.
            task("shell", json!("true"), json!({"notify": ["never"]})),
        ]),
        json!([
            task(
                "copy",
                json!({"content": "y", "dest": file("a")}),
                json!({"name": "a", "notify": ["b"]})
            ),
            task("debug", json!({"msg": "b ran"}), json!({"name": "b"})),
            task(
                "debug",
                json!({"msg": "never ran"}),
                json!({"name": "never"})
            ),
        ]),
        json!({}),
    );
    req.mode = crate::wire::Mode::Check;
    let ev = events(&req);
    assert_eq!(messages(&ev), vec!["b ran"]);
    let (stats, error) = finished(&ev);
    assert_eq!(error, None);
    assert_eq!(stats.changed, 3);
    assert!(!dir.path().join("t").exists() && !dir.path().join("a").exists());
}

#[test]
fn omitted_arguments_are_dropped() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("f");
    let req = request(
        json!([task(
            "copy",
            json!({"content": "x", "dest": dest.display().to_string(), "mode": "{{ nope | default(omit) }}"}),
            json!({})
        )]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(finished(&ev).1, None);
    assert_eq!(std::fs::read_to_string(&dest).unwrap_or_default(), "x");
}

#[test]
fn bad_input_fails_cleanly_and_finished_is_always_last() {
    let cases = vec![
        task("copy", json!("not a mapping"), json!({})),
        task("copy", json!({"dest": 5, "content": []}), json!({})),
        task("debug", json!({"msg": "{{ unclosed"}), json!({})),
        task("debug", json!({"msg": "x"}), json!({"loop": "{{ 5 }}"})),
        task("debug", json!({"msg": "x"}), json!({"when": ["{{{{"]})),
        task("shell", json!(null), json!({})),
        task(
            "lineinfile",
            json!({"path": "/nonexistent/x", "regexp": "(", "line": "a"}),
            json!({}),
        ),
        task(
            "file",
            json!({"path": "", "state": "directory", "mode": "u=xyz"}),
            json!({}),
        ),
        task("no_such_module", json!({}), json!({})),
        task(
            "debug",
            json!({"msg": "{{ a }}"}),
            json!({"vars": {"a": "{{ b }}", "b": "{{ a }}"}}),
        ),
        task("set_fact", json!({"1bad": 1}), json!({})),
        task(
            "env_file",
            json!({"path": "/nonexistent/dir/.env", "set": {"A": {"nested": [1]}}}),
            json!({}),
        ),
    ];
    for case in cases {
        let req = request(json!([case.clone()]), json!([]), json!({}));
        let ev = events(&req);
        let (stats, error) = finished(&ev);
        assert_eq!(stats.failed, 1, "{case}: {ev:?}");
        assert!(error.is_some_and(|e| !e.is_empty()), "{case}");
    }
}

#[test]
fn retries_zero_means_one_attempt() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = dir.path().join("log");
    let req = request(
        json!([task(
            "shell",
            json!(format!("echo x >> {}; false", log.display())),
            json!({"register": "r", "until": "r.rc == 0", "retries": 0, "delay": 0})
        )]),
        json!([]),
        json!({}),
    );
    let _ = events(&req);
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "x\n");
}

#[test]
fn with_items_flattens_and_labels_are_rendered() {
    let req = request(
        json!([task(
            "debug",
            json!({"msg": "{{ item.name | default(item) }}"}),
            json!({"loop": [[1, 2], {"name": "db", "password": "pw"}], "loop_with": "items", "loop_label": "{{ item.name | default(item) }}"})
        )]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    let items: Vec<Option<String>> = results(&ev).into_iter().map(|r| r.1).collect();
    assert_eq!(
        items,
        vec![Some("1".into()), Some("2".into()), Some("db".into())]
    );
}

#[test]
fn registered_output_is_data_not_a_template() {
    let req = request(
        json!([
            task(
                "shell",
                json!("echo '{''{ not_a_var }}'"),
                json!({"register": "r"})
            ),
            task("set_fact", json!({"copy_of": "{{ r.stdout }}"}), json!({})),
            debug("{{ r.stdout }} {{ copy_of }}"),
            task(
                "debug",
                json!({"msg": "{{ item }}"}),
                json!({"loop": "{{ r.stdout_lines }}"})
            ),
        ]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(finished(&ev).1, None);
    assert_eq!(
        messages(&ev),
        vec!["{{ not_a_var }} {{ not_a_var }}", "{{ not_a_var }}"]
    );
}

#[test]
fn failed_when_list_is_joined_with_and() {
    let req = request(
        json!([
            task(
                "shell",
                json!("echo partial; exit 1"),
                json!({"register": "r", "failed_when": ["r.rc != 0", "'fatal' in r.stdout"]})
            ),
            task(
                "shell",
                json!("echo fatal"),
                json!({"register": "r2", "failed_when": ["r2.rc == 0", "'fatal' in r2.stdout"]})
            ),
        ]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    let r = results(&ev);
    assert_eq!(r[0].2, Status::Changed);
    assert_eq!(r[1].2, Status::Failed);
}

#[test]
fn a_loop_over_an_undefined_variable_is_skipped_when_the_when_guards_it() {
    let guarded = request(
        json!([task(
            "debug",
            json!({"msg": "{{ item }}"}),
            json!({"loop": "{{ nope }}", "when": ["nope is defined"]})
        )]),
        json!([]),
        json!({}),
    );
    let ev = events(&guarded);
    assert_eq!(finished(&ev).1, None, "{ev:?}");
    assert_eq!(finished(&ev).0.skipped, 1, "{ev:?}");
    let unguarded = request(
        json!([task(
            "debug",
            json!({"msg": "{{ item }}"}),
            json!({"loop": "{{ nope }}"})
        )]),
        json!([]),
        json!({}),
    );
    let err = finished(&events(&unguarded)).1.unwrap_or_default();
    assert!(err.contains("'nope' is undefined"), "{err}");
}

#[test]
fn an_environment_template_is_merged_where_it_was_written() {
    let key = format!("{}{{{{ env }}}}", crate::wire::ENV_TEMPLATE_KEY);
    let mut environment = serde_json::Map::new();
    environment.insert("A".into(), json!("first"));
    environment.insert(key, json!("{{ env }}"));
    environment.insert("C".into(), json!("last"));
    let req = request(
        json!([
            task(
                "shell",
                json!("echo $A $B $C"),
                json!({"register": "r", "environment": environment})
            ),
            debug("{{ r.stdout }}"),
        ]),
        json!([]),
        json!({"env": {"A": "templated", "B": "b", "C": "templated"}}),
    );
    assert_eq!(messages(&events(&req)), vec!["templated b last"]);
}

#[test]
fn extended_loops_have_the_neighbouring_items_and_all_items() {
    let req = request(
        json!([task(
            "debug",
            json!({"msg": "{{ ansible_loop.previtem | default('-') }} {{ item }} {{ ansible_loop.nextitem | default('-') }} {{ ansible_loop.allitems | length }}"}),
            json!({"loop": ["a", "b", "c"], "loop_extended": true})
        )]),
        json!([]),
        json!({}),
    );
    assert_eq!(messages(&events(&req)), ["- a b 3", "a b c 3", "b c - 3"]);
}

#[test]
fn a_templated_loop_var_names_the_loop_variable() {
    let req = request(
        json!([task(
            "debug",
            json!({"msg": "{{ fruit }}"}),
            json!({"loop": ["a"], "loop_var": "{{ name_of_var }}", "vars": {"name_of_var": "fruit"}})
        )]),
        json!([]),
        json!({}),
    );
    assert_eq!(messages(&events(&req)), ["a"]);
}

#[test]
fn a_templated_tag_is_rendered_with_the_task_variables() {
    let mut req = request(
        json!([
            task(
                "debug",
                json!({"msg": "picked"}),
                json!({"tags": ["{{ which }}"]})
            ),
            task("debug", json!({"msg": "other"}), json!({"tags": ["other"]})),
        ]),
        json!([]),
        json!({"which": "mine,extra"}),
    );
    req.tags = vec!["extra".into()];
    assert_eq!(messages(&events(&req)), vec!["picked"]);
}

#[test]
fn debug_var_marked_unsafe_is_untrusted_and_a_non_string_var_is_refused() {
    let req = request(
        json!([
            task(
                "debug",
                json!({"var": "{% raw %}x{% endraw %}"}),
                json!({"ignore_errors": true})
            ),
            task(
                "debug",
                json!({"var": ["x"]}),
                json!({"ignore_errors": true})
            ),
        ]),
        json!([]),
        json!({"x": 1}),
    );
    let r = results(&events(&req));
    assert!(
        r[0].3
            .contains("Encountered untrusted template or expression."),
        "{:?}",
        r[0]
    );
    assert!(
        r[1].3.contains("argument 'var' is of type list and we were unable to convert to _check_type_str_no_conversion: '['x']' is not a string and conversion is not allowed"),
        "{:?}",
        r[1]
    );
}

//! The control modules read and report; they never change a host. Applying them twice
//! (or any number of times) plans nothing, in check mode and in apply mode.

use serde_json::json;

use super::Module;
use super::testutil::Harness;

#[test]
fn control_modules_never_change_anything() {
    let h = Harness::new();
    let cases: [(&dyn Module, serde_json::Value); 6] = [
        (&super::debug::Debug, json!({"msg": "hello"})),
        (&super::assert::Assert, json!({"that": ["1 == 1"]})),
        (&super::set_fact::SetFact, json!({"answer": 42})),
        (&super::setup::Setup, json!({})),
        (&super::meta::Meta, json!("flush_handlers")),
        (&super::fail::Fail, json!({"msg": "stop"})),
    ];
    for (module, args) in cases {
        for check_mode in [true, false] {
            for _ in 0..2 {
                let plan = module
                    .check(&h.ctx(check_mode), &args)
                    .unwrap_or_else(|e| panic!("{}: {e}", module.name()));
                assert!(
                    !plan.outcome.changed,
                    "`{}` reports a change",
                    module.name()
                );
                assert!(plan.action.is_none(), "`{}` plans an action", module.name());
            }
        }
    }
}

#[test]
fn shell_with_creates_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("m");
    let h = Harness::new();
    let args = json!({"cmd": format!("echo x > {}", marker.display()), "creates": marker.display().to_string()});
    let first = h.apply(&super::shell::Shell, args.clone());
    assert!(first.changed && marker.exists());
    let again = h.check(&super::shell::Shell, args);
    assert!(
        !again.outcome.changed && again.action.is_none(),
        "a second run plans nothing"
    );
}

/// Bytes (`!!binary`) in a message: `fail` shows them as Ansible's display does; `assert`
/// refuses them as Ansible's `str_or_list_of_str` does.
#[test]
fn bytes_in_messages_as_ansible() {
    let h = Harness::new();
    let mixed = crate::pybytes::encode(b"hel\xff\xfflo");
    let plan = super::fail::Fail
        .check(&h.ctx(false), &json!({"msg": mixed}))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.outcome.msg, "hel?lo");
    let err = super::assert::Assert
        .check(&h.ctx(false), &json!({"that": [false], "msg": mixed}))
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "argument 'fail_msg' is of type bytes and we were unable to convert to str_or_list_of_str: a string or list of strings is required"
        )
    );
}

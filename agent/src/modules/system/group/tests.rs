//! `group` against this machine's real account files (the tests run as root): unique
//! `drtest…` names, removed at the end whatever happens.

use serde_json::json;

use super::Group;
use crate::modules::accounts::{
    self,
    testing::{Doomed, free_id},
};
use crate::modules::testutil::Harness;

fn gid_of(name: &str) -> Option<u32> {
    accounts::group_named(name).map(|g| g.gid)
}

#[test]
fn a_group_is_created_given_a_gid_and_removed_each_once() {
    let mut doomed = Doomed::new();
    let name = doomed.group();
    let h = Harness::new();
    let present = json!({"name": name});

    let plan = h.check(&Group, present.clone());
    assert!(plan.outcome.changed && plan.action.is_some());
    assert_eq!(plan.outcome.msg, format!("would create group `{name}`"));
    assert_eq!(plan.outcome.diffs[0].text, "state absent -> present");
    assert!(plan.outcome.data.is_empty(), "{:?}", plan.outcome.data);
    assert_eq!(gid_of(&name), None, "check mode created the group");

    let out = h.apply(&Group, present.clone());
    assert!(out.changed && !out.failed, "{}", out.msg);
    let gid = gid_of(&name).unwrap_or_else(|| panic!("`{name}` was not created"));
    assert_eq!(out.data["gid"], json!(gid));
    assert_eq!(out.data["state"], json!("present"));
    assert_eq!(out.data["system"], json!(false));
    let again = h.check(&Group, present.clone());
    assert!(
        !again.outcome.changed && again.action.is_none(),
        "{}",
        again.outcome.msg
    );
    assert_eq!(again.outcome.data["gid"], json!(gid));

    let new_gid = free_id(gid + 1000);
    let moved = json!({"name": name, "gid": new_gid.to_string()});
    let plan = h.check(&Group, moved.clone());
    assert_eq!(
        plan.outcome.diffs[0].text,
        format!("gid {gid} -> {new_gid}")
    );
    assert_eq!(
        plan.outcome.data["gid"],
        json!(gid),
        "check mode reports the current gid"
    );
    assert_eq!(gid_of(&name), Some(gid));
    let out = h.apply(&Group, moved.clone());
    assert!(
        out.changed && out.data["gid"] == json!(new_gid),
        "{:?}",
        out.data
    );
    assert_eq!(gid_of(&name), Some(new_gid));
    assert!(!h.check(&Group, moved).outcome.changed);

    let absent = json!({"name": name, "state": "absent"});
    let plan = h.check(&Group, absent.clone());
    assert!(plan.outcome.changed);
    assert_eq!(gid_of(&name), Some(new_gid), "check mode removed the group");
    let out = h.apply(&Group, absent.clone());
    assert!(out.changed && !out.failed, "{}", out.msg);
    assert_eq!(out.data.get("gid"), None);
    assert_eq!(gid_of(&name), None);
    let again = h.apply(&Group, absent);
    assert!(!again.changed, "{}", again.msg);
}

#[test]
fn a_system_group_with_a_gid_is_made_as_asked() {
    let mut doomed = Doomed::new();
    let name = doomed.group();
    let gid = free_id(61000);
    let h = Harness::new();
    let args = json!({"name": name, "gid": gid, "system": "yes"});
    let out = h.apply(&Group, args.clone());
    assert!(out.changed, "{}", out.msg);
    assert_eq!(out.data["system"], json!(true));
    assert_eq!(gid_of(&name), Some(gid));
    let again = h.check(&Group, args);
    assert!(!again.outcome.changed && again.action.is_none());

    // Another group cannot take that gid unless `non_unique` says so.
    let other = doomed.group();
    let out = h.apply(&Group, json!({"name": other, "gid": gid}));
    assert!(out.failed, "{}", out.msg);
    assert!(
        out.msg.starts_with(&format!(
            "cannot create group `{other}` (exit 4): groupadd:"
        )),
        "{}",
        out.msg
    );
    let out = h.apply(
        &Group,
        json!({"name": other, "gid": gid, "non_unique": true}),
    );
    assert!(out.changed && !out.failed, "{}", out.msg);
    assert_eq!(gid_of(&other), Some(gid));
}

#[test]
fn arguments_it_cannot_honour_are_refused() {
    let h = Harness::new();
    let e = h.check_err(&Group, json!({"name": "drtestx", "local": true}));
    assert!(
        e.starts_with("invalid arguments for module `group`: `local: true`"),
        "{e}"
    );
    let e = h.check_err(&Group, json!({"name": "drtestx", "non_unique": true}));
    assert!(e.contains("`non_unique: true` needs `gid`"), "{e}");
    let e = h.check_err(&Group, json!({"name": "drtestx", "state": "gone"}));
    assert!(e.contains("unknown variant `gone`"), "{e}");
    let e = h.check_err(&Group, json!({"name": "drtestx", "gid": "12a"}));
    assert!(e.contains("expected an id"), "{e}");
    let e = h.check_err(&Group, json!({"name": "drtestx", "members": ["a"]}));
    assert!(e.contains("unknown field `members`"), "{e}");
    let e = h.check_err(&Group, json!({"name": "a:b"}));
    assert!(e.contains("`a:b` is not a valid group name"), "{e}");
}

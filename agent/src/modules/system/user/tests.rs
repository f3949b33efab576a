//! `user` against this machine's real account files (the tests run as root): unique
//! `drtest…` names, removed at the end whatever happens; homes under a temporary directory.

use std::os::unix::fs::MetadataExt;

use serde_json::{Value as Json, json};

use super::User;
use crate::modules::accounts::{
    self,
    testing::{Doomed, free_id},
};
use crate::modules::group::Group;
use crate::modules::testutil::Harness;
use crate::modules::{Module, Outcome, Plan};

const HASH: &str = "$6$drtestsalt$nnxqyT38nvbduMQabOo/ab0zhZt3.o2cMAHd1CUeQCT5IVZRw.vO9XT2X5bhZ/cgyo/NyFIHMxxve1OhRuR691";
const HASH2: &str = "$6$drtestsalt2$tNSncuMSncDdjonyrTfk4U6NXyv9Gm960ulK4T0F6miKsNW9jrtQswB5OW94Db3WaQomdj2XU2JNpDmUaEgGN1";

/// The account files, to show check mode changed nothing.
fn databases() -> Vec<String> {
    ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"]
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect()
}

/// Everything an outcome shows, to prove the hash is not in it.
fn shown(o: &Outcome) -> String {
    format!("{} {:?} {}", o.msg, o.diffs, Json::Object(o.data.clone()))
}

fn check(h: &Harness, args: &Json) -> Plan {
    let before = databases();
    let plan = h.check(&User, args.clone());
    assert_eq!(databases(), before, "check mode changed the account files");
    assert!(
        !shown(&plan.outcome).contains("drtestsalt"),
        "{}",
        shown(&plan.outcome)
    );
    plan
}

fn apply(h: &Harness, args: &Json) -> Outcome {
    let out = h.apply(&User, args.clone());
    assert!(!out.failed, "{}", out.msg);
    assert!(!shown(&out).contains("drtestsalt"), "{}", shown(&out));
    out
}

fn settled(h: &Harness, args: &Json) {
    let again = check(h, args);
    assert!(
        !again.outcome.changed && again.action.is_none(),
        "a second run would change: {} {:?}",
        again.outcome.msg,
        again.outcome.diffs
    );
}

fn members(user: &str) -> Vec<String> {
    accounts::groups()
        .unwrap_or_default()
        .into_iter()
        .filter(|g| g.members.iter().any(|m| m == user))
        .map(|g| g.name)
        .collect()
}

#[test]
fn a_user_is_created_changed_and_removed_each_once() {
    let mut doomed = Doomed::new();
    let (name, primary, extra1, extra2) = (
        doomed.user(),
        doomed.group(),
        doomed.group(),
        doomed.group(),
    );
    let h = Harness::new();
    for g in [&primary, &extra1, &extra2] {
        assert!(h.apply(&Group, json!({"name": g})).changed);
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let home = dir.path().join("homes").join(&name);
    let uid = free_id(42000);
    let create = json!({
        "name": name, "uid": uid, "group": primary, "groups": [extra1],
        "shell": "/bin/sh", "comment": "DR test", "home": home.display().to_string(),
        "password": HASH,
    });

    let plan = check(&h, &create);
    assert!(plan.outcome.changed && plan.action.is_some());
    assert_eq!(plan.outcome.msg, format!("would create user `{name}`"));
    assert!(plan.outcome.data.is_empty(), "{:?}", plan.outcome.data);
    assert!(plan.outcome.diffs[0].text.contains("a password hash"));
    assert!(!home.exists());

    let out = apply(&h, &create);
    assert!(out.changed);
    assert_eq!(out.msg, format!("created user `{name}`"));
    assert_eq!(out.data["uid"], json!(uid));
    assert_eq!(out.data["password"], json!("NOT_LOGGING_PASSWORD"));
    assert_eq!(out.data["groups"], json!(extra1));
    assert_eq!(out.data["create_home"], json!(true));
    let user = accounts::user_named(&name).unwrap_or_else(|| panic!("`{name}` was not created"));
    assert_eq!(
        (user.uid, user.shell.as_str(), user.comment.as_str()),
        (uid, "/bin/sh", "DR test")
    );
    assert_eq!(
        Some(user.gid),
        accounts::group_named(&primary).map(|g| g.gid)
    );
    assert_eq!(members(&name), vec![extra1.clone()]);
    assert_eq!(
        accounts::shadow_password(&name).ok().flatten().as_deref(),
        Some(HASH)
    );
    let meta = std::fs::metadata(&home).unwrap_or_else(|e| panic!("no home: {e}"));
    assert_eq!(meta.uid(), uid);
    assert!(
        home.join(".profile").exists(),
        "the skeleton was not copied"
    );
    settled(&h, &create);

    // Appending a group keeps the others; the same list again changes nothing.
    let append = json!({"name": name, "groups": extra2, "append": true});
    let plan = check(&h, &append);
    assert_eq!(
        plan.outcome.diffs[0].text,
        format!(
            "groups {extra1} -> {}",
            [&extra1, &extra2].map(|s| s.as_str()).join(",")
        )
    );
    assert_eq!(
        plan.outcome.data["uid"],
        json!(uid),
        "check mode reports the account"
    );
    apply(&h, &append);
    let mut both = members(&name);
    both.sort();
    let mut want = vec![extra1.clone(), extra2.clone()];
    want.sort();
    assert_eq!(both, want);
    settled(&h, &append);

    // Exactly these groups, a new shell and a new hash.
    let modify = json!({"name": name, "groups": [extra2], "shell": "/bin/bash", "password": HASH2});
    let plan = check(&h, &modify);
    let diffs: Vec<&str> = plan.outcome.diffs.iter().map(|d| d.text.as_str()).collect();
    assert!(diffs.contains(&"shell /bin/sh -> /bin/bash"), "{diffs:?}");
    assert!(diffs.contains(&"password hash changed"), "{diffs:?}");
    let out = apply(&h, &modify);
    assert_eq!(
        out.msg,
        format!("changed groups, shell, password of user `{name}`")
    );
    assert_eq!(members(&name), vec![extra2.clone()]);
    assert_eq!(
        accounts::shadow_password(&name).ok().flatten().as_deref(),
        Some(HASH2)
    );
    settled(&h, &modify);
    // `on_create` leaves an existing user's hash alone.
    settled(
        &h,
        &json!({"name": name, "password": HASH, "update_password": "on_create"}),
    );

    // Locking prefixes the hash with `!`; it is idempotent too.
    let lock = json!({"name": name, "password_lock": true});
    assert_eq!(check(&h, &lock).outcome.diffs[0].text, "password locked");
    apply(&h, &lock);
    assert_eq!(
        accounts::shadow_password(&name).ok().flatten(),
        Some(format!("!{HASH2}"))
    );
    settled(&h, &lock);

    // A home removed behind its back is made again (create_home defaults to yes).
    std::fs::remove_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    let plain = json!({"name": name});
    let plan = check(&h, &plain);
    assert_eq!(
        plan.outcome.diffs[0].text,
        format!("home directory {} created", home.display())
    );
    assert!(!home.exists());
    apply(&h, &plain);
    assert_eq!(std::fs::metadata(&home).map(|m| m.uid()).ok(), Some(uid));
    settled(&h, &plain);

    let absent = json!({"name": name, "state": "absent", "remove": true});
    let plan = check(&h, &absent);
    assert!(plan.outcome.changed && plan.outcome.dangerous);
    assert_eq!(
        plan.outcome.msg,
        format!(
            "would remove user `{name}` and its home directory `{}` (3 entries)",
            home.display()
        )
    );
    let mut refused = Harness::new();
    refused.consent = false;
    let out = refused.apply(&User, absent.clone());
    assert!(out.failed, "{}", out.msg);
    assert!(
        out.msg.starts_with(&format!(
            "refusing to remove user `{name}` with its home directory"
        )),
        "{}",
        out.msg
    );
    assert!(home.exists() && accounts::user_named(&name).is_some());
    // Without `remove`, the home stays and no consent is needed.
    assert!(
        !refused
            .check(&User, json!({"name": name, "state": "absent"}))
            .outcome
            .dangerous
    );
    assert!(home.exists() && accounts::user_named(&name).is_some());
    let out = apply(&h, &absent);
    assert_eq!(out.data["remove"], json!(true));
    assert!(accounts::user_named(&name).is_none());
    assert!(!home.exists(), "`remove: true` left the home");
    settled(&h, &absent);
}

#[test]
fn a_system_user_without_a_home_and_its_own_group() {
    let mut doomed = Doomed::new();
    let name = doomed.user();
    // The group named like the user exists already: useradd must not try to make it.
    let h = Harness::new();
    let gid = free_id(62000);
    assert!(h.apply(&Group, json!({"name": name, "gid": gid})).changed);
    doomed.adopt_group(&name);
    let args =
        json!({"name": name, "system": true, "create_home": "no", "home": "/nonexistent-drtest"});
    let out = apply(&h, &args);
    assert_eq!(out.data["system"], json!(true));
    let user = accounts::user_named(&name).unwrap_or_else(|| panic!("not created"));
    assert!(user.uid < 1000, "not a system uid: {}", user.uid);
    assert!(!std::path::Path::new("/nonexistent-drtest").exists());
    settled(&h, &args);
}

#[test]
fn arguments_and_groups_it_cannot_honour_are_refused() {
    let mut doomed = Doomed::new();
    let name = doomed.user();
    let h = Harness::new();
    let e = h.check_err(&User, json!({"name": name, "non_unique": true}));
    assert!(e.contains("`non_unique: true` needs `uid`"), "{e}");
    let e = h.check_err(&User, json!({"name": name, "seuser": "staff_u"}));
    assert!(e.contains("`seuser`") && e.contains("not supported"), "{e}");
    let e = h.check_err(&User, json!({"name": name, "login_class": "staff"}));
    assert!(e.contains("`login_class` applies to BSD"), "{e}");
    let e = h.check_err(&User, json!({"name": name, "hidden": true}));
    assert!(e.contains("unknown field `hidden`"), "{e}");
    let e = h.check_err(&User, json!({"name": name, "password": "a:b"}));
    assert!(
        e.contains("`password` holds `:`") && !e.contains("a:b"),
        "{e}"
    );

    // Check mode plans a user whose groups an earlier task would create; apply refuses.
    let args = json!({"name": name, "groups": ["drtest-no-such-group"]});
    assert!(check(&h, &args).outcome.changed);
    let ctx = h.ctx(false);
    let plan = User.check(&ctx, &args).unwrap_or_else(|e| panic!("{e}"));
    let err = match plan.action.map(|a| a.apply(&ctx)) {
        Some(Err(e)) => e.to_string(),
        _ => panic!("expected a failure"),
    };
    assert_eq!(
        err,
        format!("user `{name}`: group `drtest-no-such-group` does not exist")
    );
    assert!(accounts::user_named(&name).is_none());

    // A clear-text password is stored as given, as Ansible does, with a warning.
    let plan = check(&h, &json!({"name": name, "password": "hunter2"}));
    assert_eq!(
        plan.outcome.data["warnings"],
        json!([
            "The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly."
        ])
    );
    assert!(!shown(&plan.outcome).contains("hunter2"));
    // Ansible's exceptions: the locking values, and `=` in a hash.
    for pw in [
        "!",
        "*",
        "*************",
        "$5$salt$abcdefghijklmnopqrstuvwxyz0123456789ABCD./=",
    ] {
        let plan = check(&h, &json!({"name": name, "password": pw}));
        assert!(plan.outcome.data.get("warnings").is_none(), "{pw}");
    }
}

/// The shadow entry's fields of `name`.
fn shadow(name: &str) -> Vec<String> {
    accounts::shadow_fields(name)
        .unwrap_or_default()
        .unwrap_or_else(|| panic!("no shadow entry for {name}"))
}

#[test]
fn expiry_and_an_ssh_key_are_set_once() {
    let mut doomed = Doomed::new();
    let name = doomed.user();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let home = dir.path().join(&name);
    let h = Harness::new();
    // 2030-01-02 12:00 UTC: day 21916.
    let args = json!({"name": name, "home": home.display().to_string(),
                      "expires": 1_893_585_600.0, "password_expire_max": 90,
                      "password_expire_min": 1, "password_expire_warn": 7});
    assert!(check(&h, &args).outcome.changed);
    apply(&h, &args);
    let f = shadow(&name);
    assert_eq!(
        (f[3].as_str(), f[4].as_str(), f[5].as_str(), f[7].as_str()),
        ("1", "90", "7", "21916")
    );
    settled(&h, &args);

    // Another time on the same day is no change; another day is; -1 removes it.
    settled(
        &h,
        &json!({"name": name, "expires": 1_893_585_600.0 + 3600.0}),
    );
    let next =
        json!({"name": name, "expires": 1_893_585_600.0 + 86_400.0, "password_expire_max": 60});
    let plan = check(&h, &next);
    assert_eq!(
        plan.outcome.msg,
        format!("would change expires, password expiry of user `{name}`")
    );
    let texts: Vec<&str> = plan.outcome.diffs.iter().map(|d| d.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "expires 2030-01-02 -> 2030-01-03",
            "password_expire_max -> 60"
        ]
    );
    apply(&h, &next);
    assert_eq!(
        (shadow(&name)[4].as_str(), shadow(&name)[7].as_str()),
        ("60", "21917")
    );
    settled(&h, &next);
    let never = json!({"name": name, "expires": -1});
    apply(&h, &never);
    assert_eq!(shadow(&name)[7], "");
    settled(&h, &never);

    // generate_ssh_key: planned in check mode (nothing made), made once, owned by the user.
    let key = json!({"name": name, "generate_ssh_key": true, "ssh_key_type": "ed25519",
                     "ssh_key_comment": "drtest key"});
    let plan = check(&h, &key);
    assert!(plan.outcome.changed);
    let file = home.join(".ssh/id_ed25519");
    assert_eq!(
        plan.outcome.data["ssh_key_file"],
        json!(file.display().to_string())
    );
    assert_eq!(plan.outcome.data["ssh_fingerprint"], json!(""));
    assert!(!file.exists() && !home.join(".ssh").exists());
    let out = apply(&h, &key);
    let user = accounts::user_named(&name).unwrap_or_else(|| panic!("gone"));
    let meta = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((meta.uid(), meta.gid()), (user.uid, user.gid));
    let dir_meta = std::fs::metadata(home.join(".ssh")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dir_meta.mode() & 0o777, 0o700);
    let public = out.data["ssh_public_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        public.starts_with("ssh-ed25519 ") && public.ends_with(" drtest key"),
        "{public}"
    );
    assert!(
        out.data["ssh_fingerprint"]
            .as_str()
            .is_some_and(|f| f.contains("SHA256:"))
    );
    // Again: the key is kept (no `force`), and reported.
    let again = check(&h, &key);
    assert!(!again.outcome.changed && again.action.is_none());
    assert_eq!(again.outcome.data["ssh_public_key"], json!(public));
}

#[test]
fn password_expire_account_disable_is_set_on_creation_and_changed_once() {
    let mut doomed = Doomed::new();
    let name = doomed.user();
    let h = Harness::new();
    let args = json!({"name": name, "create_home": false, "password_expire_account_disable": 15});
    assert!(check(&h, &args).outcome.changed);
    apply(&h, &args);
    assert_eq!(shadow(&name)[6], "15");
    settled(&h, &args);

    let ten = json!({"name": name, "create_home": false, "password_expire_account_disable": 10});
    let plan = check(&h, &ten);
    let texts: Vec<&str> = plan.outcome.diffs.iter().map(|d| d.text.as_str()).collect();
    assert_eq!(texts, ["password_expire_account_disable 15 -> 10"]);
    apply(&h, &ten);
    assert_eq!(shadow(&name)[6], "10");
    settled(&h, &ten);
}

#[test]
fn a_key_with_a_passphrase_opens_with_it_alone() {
    let mut doomed = Doomed::new();
    let name = doomed.user();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let home = dir.path().join(&name);
    let h = Harness::new();
    let passphrase = "drtest pass'phrase $x";
    let args = json!({"name": name, "home": home.display().to_string(),
                      "generate_ssh_key": true, "ssh_key_type": "ed25519",
                      "ssh_key_passphrase": passphrase});
    let out = apply(&h, &args);
    assert!(!shown(&out).contains(passphrase), "{}", shown(&out));
    let key = home.join(".ssh/id_ed25519");
    let opened = std::process::Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .arg("-P")
        .arg(passphrase)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(opened.status.success(), "{opened:?}");
    let public = std::fs::read_to_string(home.join(".ssh/id_ed25519.pub")).unwrap_or_default();
    let opened = String::from_utf8_lossy(&opened.stdout).into_owned();
    assert!(public.starts_with(opened.trim()), "{public} / {opened}");
    // Without it, the key does not open.
    let wrong = std::process::Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .arg("-P")
        .arg("")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!wrong.status.success());
    settled(&h, &args);
}

#[test]
fn local_users_are_managed_with_libuser_s_tools_as_ansible_does() {
    let mut doomed = Doomed::new();
    let name = doomed.user();
    let (g1, g2, g3) = (doomed.group(), doomed.group(), doomed.group());
    let h = Harness::new();
    for g in [&g1, &g2, &g3] {
        apply_group(&h, g);
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let home = dir.path().join(&name);
    // 2050-03-03: day 29281, given by `lchage -E` after `luseradd`.
    let args = json!({"name": name, "local": true, "home": home.display().to_string(),
                      "groups": [g1.clone(), g2.clone()], "expires": 2_529_881_062_u64});
    assert!(check(&h, &args).outcome.changed);
    apply(&h, &args);
    assert!(accounts::user_named(&name).is_some());
    assert_eq!(shadow(&name)[7], "29281");
    let mut now = members(&name);
    now.sort();
    assert_eq!(now, [g1.clone(), g2.clone()]);
    settled(&h, &args);

    // `append` adds with `lgroupmod -M`; without it the others go with `-m`.
    let append = json!({"name": name, "local": true, "groups": [g3.clone()], "append": true});
    apply(&h, &append);
    assert_eq!(members(&name).len(), 3);
    settled(&h, &append);
    let only = json!({"name": name, "local": true, "groups": [g3.clone()]});
    apply(&h, &only);
    assert_eq!(members(&name), std::slice::from_ref(&g3));
    settled(&h, &only);

    let e = h.check_err(&User, json!({"name": name, "local": true, "umask": "077"}));
    assert!(e.contains("'umask' can not be used with 'local'"), "{e}");

    let gone = json!({"name": name, "local": true, "state": "absent", "remove": true});
    apply(&h, &gone);
    assert!(accounts::user_named(&name).is_none());
    settled(&h, &gone);
}

#[test]
fn append_without_groups_gives_ansible_s_warning() {
    let mut doomed = Doomed::new();
    let name = doomed.user();
    let h = Harness::new();
    let plan = check(&h, &json!({"name": name, "append": true}));
    assert_eq!(
        plan.outcome.data["warnings"],
        json!([
            "'append' is set, but no 'groups' are specified. Use 'groups' for appending new groups.This will change to an error in Ansible 2.14."
        ])
    );
}

fn apply_group(h: &Harness, name: &str) {
    let out = h.apply(&Group, json!({"name": name}));
    assert!(!out.failed, "{}", out.msg);
}

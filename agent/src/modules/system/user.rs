//! `user`: a local account present (with its uid, groups, shell, home, comment, password
//! hash) or absent, through the host's `useradd`, `usermod` and `userdel`, with Ansible's
//! arguments, decisions and result keys.
//!
//! State is read from `/etc/passwd`, `/etc/group` and `/etc/shadow` ([`accounts`]). The
//! password hash never appears in a message, diff or result (`password` reads
//! `NOT_LOGGING_PASSWORD`, as in Ansible). `remove: true` destroys the home directory:
//! a non-empty one is removed only with the operator's consent (the request's `consent`),
//! and never when it is `/`. After the account come `generate_ssh_key` (through
//! `ssh-keygen`, [`ssh_key`]) and the `password_expire_*` family (through `chage`,
//! [`expiry`]); `expires` goes to `useradd`/`usermod -e`. `local: true` runs libuser's
//! tools instead ([`commands`]). Refused by name: `seuser`, `login_class`; the options of other
//! platforms (`hidden`, `profile`, ...) are not accepted.

mod commands;
mod expiry;
mod fields;
mod home;
mod ssh_key;

use std::path::Path;
use std::process::Command;

use self::commands::{useradd, userdel, usermod};
use self::expiry::PasswordExpiry;
use self::fields::{Field, wanted_group, wanted_groups};
use self::ssh_key::KeySpec;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish, opt_text};
use super::group::{State, output_keys, program};
use super::{
    Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, accounts, hostcmd, parse_args,
    path_arg,
};
use crate::wire::Diff;

/// The `user` module.
pub struct User;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSpec {
    #[serde(alias = "user")]
    name: String,
    #[serde(default)]
    state: State,
    #[serde(default, deserialize_with = "accounts::opt_id")]
    uid: Option<u32>,
    /// Allow a uid another user has (`-o`).
    #[serde(default, deserialize_with = "bool_ish")]
    non_unique: bool,
    /// The primary group, by name or gid.
    #[serde(default, deserialize_with = "opt_text")]
    group: Option<String>,
    /// Supplementary groups; `[]` (or `""`) means none.
    #[serde(default, deserialize_with = "opt_list")]
    groups: Option<Vec<String>>,
    /// With `groups`: add to these instead of setting exactly these.
    #[serde(default, deserialize_with = "bool_ish")]
    append: bool,
    #[serde(default, deserialize_with = "opt_text")]
    comment: Option<String>,
    home: Option<String>,
    shell: Option<String>,
    /// A crypt(3) hash, never the clear text.
    #[serde(default, deserialize_with = "opt_text")]
    password: Option<String>,
    #[serde(default)]
    update_password: UpdatePassword,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    password_lock: Option<bool>,
    #[serde(
        default = "super::args::yes",
        deserialize_with = "bool_ish",
        alias = "createhome"
    )]
    create_home: bool,
    skeleton: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    system: bool,
    /// With a new `home`: move the old one's contents there (`usermod -m`).
    #[serde(default, deserialize_with = "bool_ish")]
    move_home: bool,
    /// With `state: absent`: remove the home directory and mail spool (`userdel -r`).
    #[serde(default, deserialize_with = "bool_ish")]
    remove: bool,
    /// With `state: absent`: even while logged in (`userdel -f`).
    #[serde(default, deserialize_with = "bool_ish")]
    force: bool,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    local: Option<bool>,
    #[serde(default, deserialize_with = "opt_text")]
    umask: Option<String>,
    #[serde(default, deserialize_with = "accounts::opt_id")]
    uid_min: Option<u32>,
    #[serde(default, deserialize_with = "accounts::opt_id")]
    uid_max: Option<u32>,
    /// When the account expires, in seconds since the epoch (UTC day kept); a time before
    /// the epoch removes the expiry.
    #[serde(default, deserialize_with = "opt_float")]
    expires: Option<f64>,
    #[serde(default, deserialize_with = "opt_int")]
    password_expire_max: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    password_expire_min: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    password_expire_warn: Option<i64>,
    /// Days after the password expires until the account is disabled (`useradd`/`usermod
    /// -f`, the shadow entry's inactive field).
    #[serde(default, deserialize_with = "opt_int")]
    password_expire_account_disable: Option<i64>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    generate_ssh_key: Option<bool>,
    #[serde(default, deserialize_with = "opt_int")]
    ssh_key_bits: Option<i64>,
    #[serde(default, deserialize_with = "opt_text")]
    ssh_key_type: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    ssh_key_file: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    ssh_key_comment: Option<String>,
    /// The new key's passphrase (see [`ssh_key::KeySpec::passphrase`]).
    #[serde(default, deserialize_with = "opt_text")]
    ssh_key_passphrase: Option<String>,
    /// Refused (SELinux user mapping).
    #[serde(default, deserialize_with = "opt_text")]
    seuser: Option<String>,
    /// Refused (BSD login classes).
    #[serde(default, deserialize_with = "opt_text")]
    login_class: Option<String>,
}

/// Ansible's `type='int'`: a whole number, or a string holding one.
fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Json::deserialize(d)? {
        Json::Null => Ok(None),
        Json::Number(n) if n.as_i64().is_some() => Ok(n.as_i64()),
        Json::String(s) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().ok()),
        v => Err(de::Error::custom(format!(
            "expected an integer, found `{v}`"
        ))),
    }
}

/// Ansible's `type='float'`: a number, or a string holding one.
fn opt_float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = match Json::deserialize(d)? {
        Json::Null => return Ok(None),
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match v {
        Some(f) if f.is_finite() => Ok(Some(f)),
        _ => Err(de::Error::custom(
            "expected a number of seconds since the epoch",
        )),
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum UpdatePassword {
    #[default]
    Always,
    OnCreate,
}

/// Ansible's `type='list', elements='str'`: a list, or a comma-separated string; entries
/// trimmed, empty ones dropped.
fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let items: Vec<String> = match Json::deserialize(d)? {
        Json::Null => return Ok(None),
        Json::String(s) => s.split(',').map(str::to_owned).collect(),
        Json::Number(n) => vec![n.to_string()],
        Json::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Json::String(s) => Ok(s),
                v @ (Json::Number(_) | Json::Bool(_)) => Ok(v.to_string()),
                v => Err(de::Error::custom(format!(
                    "expected a group name, found `{v}`"
                ))),
            })
            .collect::<Result<_, _>>()?,
        v => return Err(de::Error::custom(format!("expected a list, found `{v}`"))),
    };
    Ok(Some(
        items
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    ))
}

/// What `check` found to do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    /// `useradd`.
    Create,
    /// `usermod` for these fields (maybe none), then the missing home directory if set.
    Modify(Vec<Field>, Option<String>),
    /// `userdel`.
    Remove,
}

impl Change {
    /// The change in words: `create user `x``, or in the past tense `created user `x``.
    fn describe(&self, name: &str, done: bool, extra: &[&'static str]) -> String {
        match (self, done) {
            (Change::Create, false) => format!("create user `{name}`"),
            (Change::Create, true) => format!("created user `{name}`"),
            (Change::Remove, false) => format!("remove user `{name}`"),
            (Change::Remove, true) => format!("removed user `{name}`"),
            (Change::Modify(fields, home), done) => format!(
                "{} {} of user `{name}`",
                if done { "changed" } else { "change" },
                fields
                    .iter()
                    .map(Field::label)
                    .chain(home.as_ref().map(|_| "home directory"))
                    .chain(extra.iter().copied())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl Module for User {
    fn name(&self) -> &'static str {
        "user"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "name",
            "user",
            "state",
            "uid",
            "non_unique",
            "group",
            "groups",
            "append",
            "comment",
            "home",
            "shell",
            "password",
            "update_password",
            "password_lock",
            "create_home",
            "createhome",
            "skeleton",
            "system",
            "move_home",
            "remove",
            "force",
            "local",
            "umask",
            "uid_min",
            "uid_max",
            "expires",
            "password_expire_max",
            "password_expire_min",
            "password_expire_warn",
            "password_expire_account_disable",
            "generate_ssh_key",
            "ssh_key_bits",
            "ssh_key_type",
            "ssh_key_file",
            "ssh_key_comment",
            "ssh_key_passphrase",
            "seuser",
            "login_class",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let mut spec: UserSpec = parse_args("user", args)?;
        validate(&spec)?;
        for p in [&mut spec.home, &mut spec.shell, &mut spec.ssh_key_file]
            .into_iter()
            .flatten()
        {
            *p = path_arg::expand(p, ctx.environment);
        }
        let current = accounts::users()
            .map_err(|e| ModuleError::io("cannot read", "/etc/passwd", e))?
            .into_iter()
            .find(|u| u.name == spec.name);
        let mut change = match (&current, spec.state) {
            (None, State::Absent) => None,
            (Some(_), State::Absent) => Some(Change::Remove),
            // The groups are checked when it is created: an earlier task may create them,
            // which check mode does not.
            (None, State::Present) => Some(Change::Create),
            (Some(user), State::Present) => {
                let fields = fields::changes(&spec, user)?;
                let home = spec.home.as_deref().unwrap_or(&user.home);
                let missing = (spec.create_home && !Path::new(home).exists()).then(|| home.into());
                (!fields.is_empty() || missing.is_some()).then_some(Change::Modify(fields, missing))
            }
        };
        // After the account: the SSH key and the password's expiry.
        let post = match (&current, spec.state) {
            (Some(user), State::Present) => Post::of(&spec, user)?,
            _ => Post::default(),
        };
        if change.is_none() && !post.is_empty() {
            change = Some(Change::Modify(Vec::new(), None));
        }
        let Some(change) = change else {
            let mut o = Outcome::ok(format!("user `{}` is {}", spec.name, spec.state.name()));
            o.data = base_keys(&spec);
            add_warnings(&mut o.data, spec_warnings(&spec));
            if let Some(user) = &current {
                o.data.insert("append".into(), Json::Bool(spec.append));
                o.data
                    .insert("move_home".into(), Json::Bool(spec.move_home));
                account_keys(&mut o.data, &spec, user);
                if let Some(k) = key_spec(&spec) {
                    add_warnings(&mut o.data, k.warnings(user));
                    k.result_keys(user, &mut o.data);
                }
            }
            return Ok(Plan::done(o));
        };
        let mut note = String::new();
        if let (Change::Remove, Some(user), true) = (&change, &current, spec.remove) {
            let home = Path::new(&user.home);
            if home.canonicalize().is_ok_and(|p| p == Path::new("/")) {
                return Err(ModuleError::Failed(format!(
                    "user `{}`: refusing `remove: true`: its home directory `{}` is `/`",
                    spec.name, user.home
                )));
            }
            let entries = home::entries(home);
            if entries > 0 {
                if !ctx.check_mode && !ctx.consent {
                    return Ok(Plan::done(Outcome::failed(format!(
                        "refusing to remove user `{}` with its home directory `{}` ({entries} entries) without consent: review it with `dr plan`, then run `dr apply --yes` (or answer the prompt on a terminal)",
                        spec.name, user.home
                    ))));
                }
                note = format!(
                    " and its home directory `{}` ({entries} entries)",
                    user.home
                );
            }
        }
        let mut diffs = diffs(&spec, &change);
        diffs.extend(post.diffs(&spec.name));
        // As Ansible, check mode reports only the change for a user it would create or
        // remove, and the current account for one it would modify.
        let mut data = Map::new();
        add_warnings(&mut data, spec_warnings(&spec));
        if let (Change::Modify(..), Some(user)) = (&change, &current) {
            let warnings = data.remove("warnings");
            data = base_keys(&spec);
            data.extend(warnings.map(|w| ("warnings".to_owned(), w)));
            data.insert("append".into(), Json::Bool(spec.append));
            data.insert("move_home".into(), Json::Bool(spec.move_home));
            account_keys(&mut data, &spec, user);
            if let Some(k) = key_spec(&spec) {
                add_warnings(&mut data, k.warnings(user));
                k.result_keys(user, &mut data);
            }
        }
        let outcome = Outcome {
            changed: true,
            msg: format!(
                "would {}{note}",
                change.describe(&spec.name, false, &post.labels())
            ),
            diffs,
            data,
            dangerous: !note.is_empty(),
            ..Outcome::default()
        };
        let commands = match &change {
            Change::Create => useradd(&spec)?,
            Change::Remove => vec![userdel(&spec)?],
            Change::Modify(fields, _) => usermod(&spec, fields)?,
        };
        Ok(Plan::change(
            outcome,
            Apply {
                spec,
                change,
                commands,
                post,
            },
        ))
    }
}

/// Refuses what the module cannot do, before anything is read.
fn validate(spec: &UserSpec) -> Result<(), ArgsError> {
    let bad = |detail: String| Err(ArgsError::new("user", detail));
    if spec.local == Some(true) {
        for (set, name) in [
            (spec.umask.is_some(), "umask"),
            (spec.uid_min.is_some(), "uid_min"),
            (spec.uid_max.is_some(), "uid_max"),
        ] {
            if set {
                return bad(format!("'{name}' can not be used with 'local'"));
            }
        }
    }
    if spec.seuser.is_some() {
        return bad("`seuser` (the SELinux user, `useradd -Z`) is not supported by dr".into());
    }
    if spec.login_class.is_some() {
        return bad("`login_class` applies to BSD login classes, which Linux accounts do not have; dr manages Linux accounts".into());
    }
    if spec.non_unique && spec.uid.is_none() {
        return bad("`non_unique: true` needs `uid`".into());
    }
    if spec.name.is_empty() || spec.name.contains([':', ',', '\n', '/']) {
        return bad(format!("`{}` is not a valid user name", spec.name));
    }
    if let Some(pw) = &spec.password
        && pw.contains([':', '\n'])
    {
        // Not echoed: it may be a clear-text password.
        return bad("`password` holds `:` or a newline, which /etc/shadow cannot store".into());
    }
    Ok(())
}

/// Whether a `password` looks like a crypt hash (Ansible warns otherwise).
/// The module's warnings about its arguments, in Ansible's order: `append` without
/// `groups`, then a `password` that does not look like a crypt hash (it is stored as given,
/// as Ansible stores it).
fn spec_warnings(spec: &UserSpec) -> Vec<String> {
    let mut out = Vec::new();
    if spec.append && spec.groups.is_none() {
        out.push("'append' is set, but no 'groups' are specified. Use 'groups' for appending new groups.This will change to an error in Ansible 2.14.".to_owned());
    }
    if spec
        .password
        .as_ref()
        .is_some_and(|pw| !pw.is_empty() && !looks_hashed(pw))
    {
        out.push("The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly.".to_owned());
    }
    out
}

/// Whether `pw` looks like a crypt hash, as Ansible's `check_password_encrypted` decides.
fn looks_hashed(pw: &str) -> bool {
    if ["*", "!", "*************"].contains(&pw) {
        return true;
    }
    if pw.contains([':', '*', '!']) || !pw.contains('$') {
        return false;
    }
    let fields: Vec<&str> = pw.split('$').collect();
    let Some(last) = fields.last().filter(|_| fields.len() >= 3) else {
        return false;
    };
    let ok_chars = last
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '='));
    let len_ok = match fields[1] {
        "1" => last.len() == 22,
        "5" | "y" => last.len() == 43,
        "6" => last.len() == 86,
        _ => true,
    };
    ok_chars && len_ok
}

/// One-line diffs of the change (no password hash, ever).
fn diffs(spec: &UserSpec, change: &Change) -> Vec<Diff> {
    let target = format!("user {}", spec.name);
    let lines: Vec<String> = match change {
        Change::Create => {
            let mut set = Vec::new();
            if let Some(uid) = spec.uid {
                set.push(format!("uid {uid}"));
            }
            if let Some(g) = &spec.group {
                set.push(format!("group {g}"));
            }
            if let Some(g) = spec.groups.as_ref().filter(|g| !g.is_empty()) {
                set.push(format!("groups {}", g.join(",")));
            }
            if let Some(h) = &spec.home {
                set.push(format!("home {h}"));
            }
            if let Some(s) = &spec.shell {
                set.push(format!("shell {s}"));
            }
            if spec.password.is_some() {
                set.push("a password hash".into());
            }
            if set.is_empty() {
                vec!["state absent -> present".into()]
            } else {
                vec![format!("state absent -> present ({})", set.join(", "))]
            }
        }
        Change::Remove if spec.remove => {
            vec!["state present -> absent (home directory and mail spool removed)".into()]
        }
        Change::Remove => vec!["state present -> absent".into()],
        Change::Modify(fields, home) => fields
            .iter()
            .map(Field::diff)
            .chain(home.iter().map(|h| format!("home directory {h} created")))
            .collect(),
    };
    lines
        .into_iter()
        .map(|text| Diff {
            target: target.clone(),
            text,
        })
        .collect()
}

/// `name`, `state`, and the masked `password` when one was given.
fn base_keys(spec: &UserSpec) -> Map<String, Json> {
    let mut data = Map::new();
    data.insert("name".into(), Json::from(spec.name.clone()));
    data.insert("state".into(), Json::from(spec.state.name()));
    if spec.password.is_some() && spec.state == State::Present {
        data.insert("password".into(), Json::from("NOT_LOGGING_PASSWORD"));
    }
    data
}

/// The account's fields under Ansible's result keys.
fn account_keys(data: &mut Map<String, Json>, spec: &UserSpec, user: &accounts::User) {
    data.insert("uid".into(), Json::from(user.uid));
    data.insert("group".into(), Json::from(user.gid));
    data.insert("comment".into(), Json::from(user.comment.clone()));
    data.insert("home".into(), Json::from(user.home.clone()));
    data.insert("shell".into(), Json::from(user.shell.clone()));
    if let Some(groups) = &spec.groups {
        data.insert("groups".into(), Json::from(groups.join(",")));
    }
}

/// Adds the module's warnings to a result's `warnings`.
fn add_warnings(data: &mut Map<String, Json>, warnings: Vec<String>) {
    if warnings.is_empty() {
        return;
    }
    let list = data
        .entry("warnings")
        .or_insert_with(|| Json::Array(Vec::new()));
    if let Json::Array(items) = list {
        items.extend(warnings.into_iter().map(Json::from));
    }
}

/// The SSH key of `generate_ssh_key`, as the module builds its spec.
fn key_spec(spec: &UserSpec) -> Option<KeySpec> {
    (spec.generate_ssh_key == Some(true)).then(|| {
        let key_type = spec.ssh_key_type.clone().unwrap_or_else(|| "rsa".into());
        KeySpec {
            file: spec
                .ssh_key_file
                .clone()
                .unwrap_or_else(|| format!(".ssh/id_{key_type}")),
            key_type,
            bits: spec.ssh_key_bits.unwrap_or(0),
            comment: spec
                .ssh_key_comment
                .clone()
                .unwrap_or_else(ssh_key::default_comment),
            force: spec.force,
            passphrase: spec.ssh_key_passphrase.clone(),
        }
    })
}

fn password_expiry(spec: &UserSpec) -> PasswordExpiry {
    PasswordExpiry {
        min: spec.password_expire_min,
        max: spec.password_expire_max,
        warn: spec.password_expire_warn,
    }
}

/// What follows the account itself on an existing user: a key to generate, and `chage`'s
/// options.
#[derive(Debug, Default)]
struct Post {
    ssh_key: Option<String>,
    chage: Vec<String>,
}

impl Post {
    fn of(spec: &UserSpec, user: &accounts::User) -> Result<Post, ModuleError> {
        Ok(Post {
            ssh_key: key_spec(spec)
                .filter(|k| k.needed(user))
                .map(|k| k.path(user).display().to_string()),
            chage: password_expiry(spec).chage_args(&spec.name)?,
        })
    }

    fn is_empty(&self) -> bool {
        self.ssh_key.is_none() && self.chage.is_empty()
    }

    fn labels(&self) -> Vec<&'static str> {
        let mut l = Vec::new();
        if self.ssh_key.is_some() {
            l.push("ssh key");
        }
        if !self.chage.is_empty() {
            l.push("password expiry");
        }
        l
    }

    fn diffs(&self, name: &str) -> Vec<Diff> {
        let target = format!("user {name}");
        let mut out = Vec::new();
        if let Some(k) = &self.ssh_key {
            out.push(Diff {
                target: target.clone(),
                text: format!("ssh key {k} generated"),
            });
        }
        for pair in self.chage.chunks(2) {
            let what = match pair[0].as_str() {
                "-m" => "password_expire_min",
                "-M" => "password_expire_max",
                _ => "password_expire_warn",
            };
            out.push(Diff {
                target: target.clone(),
                text: format!("{what} -> {}", pair.get(1).map_or("", String::as_str)),
            });
        }
        out
    }
}

/// The apply half: the planned commands, then the missing home directory, the SSH key and
/// the password's expiry.
struct Apply {
    spec: UserSpec,
    change: Change,
    commands: Vec<Command>,
    /// Planned on an existing user (a new one's is decided once it exists).
    post: Post,
}

impl Action for Apply {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Apply {
            spec,
            change,
            commands,
            post,
        } = *self;
        let mut diffs = diffs(&spec, &change);
        diffs.extend(post.diffs(&spec.name));
        let mut data = base_keys(&spec);
        add_warnings(&mut data, spec_warnings(&spec));
        let mut made_parents = None;
        if change == Change::Create {
            wanted_group(&spec)?;
            wanted_groups(&spec)?;
            if spec.create_home
                && let Some(h) = &spec.home
                && !Path::new(h).parent().is_none_or(Path::is_dir)
            {
                // useradd makes the home but not its parents; Ansible makes it first.
                home::create(Path::new(h), spec.skeleton.as_deref(), 0, 0)
                    .map_err(|e| ModuleError::io("cannot create home directory", h, e))?;
                made_parents = Some(h.clone());
            }
        }
        for mut cmd in commands {
            // Never the arguments: they may hold the password hash.
            let label = format!("`{}` for user `{}`", program(&cmd), spec.name);
            let ran = hostcmd::run(&mut cmd, &label)?;
            if !ran.ok() {
                let mut o = Outcome::failed(format!(
                    "cannot {} (exit {}): {}",
                    change.describe(&spec.name, false, &[]),
                    ran.rc,
                    ran.why()
                ));
                o.data.insert("name".into(), Json::from(spec.name.clone()));
                o.data.insert("rc".into(), Json::from(ran.rc));
                return Ok(o);
            }
            output_keys(&mut data, &ran);
        }
        match change {
            Change::Remove => {
                data.insert("force".into(), Json::Bool(spec.force));
                data.insert("remove".into(), Json::Bool(spec.remove));
            }
            Change::Create => {
                data.insert("system".into(), Json::Bool(spec.system));
                data.insert("create_home".into(), Json::Bool(spec.create_home));
            }
            Change::Modify(..) => {
                data.insert("append".into(), Json::Bool(spec.append));
                data.insert("move_home".into(), Json::Bool(spec.move_home));
            }
        }
        if spec.state == State::Present {
            let user = accounts::user_named(&spec.name).ok_or_else(|| {
                ModuleError::Failed(format!("failed to look up user name: {}", spec.name))
            })?;
            let home = spec.home.as_deref().unwrap_or(&user.home);
            let missing = spec.create_home && !Path::new(home).exists();
            if missing || made_parents.is_some() {
                home::create(
                    Path::new(home),
                    spec.skeleton.as_deref(),
                    user.uid,
                    user.gid,
                )
                .map_err(|e| ModuleError::io("cannot create home directory", home, e))?;
            }
            account_keys(&mut data, &spec, &user);
            let failed = |msg: String, rc: i32| {
                let mut o = Outcome::failed(msg);
                o.data.insert("name".into(), Json::from(spec.name.clone()));
                o.data.insert("rc".into(), Json::from(rc));
                o
            };
            if let Some(k) = key_spec(&spec) {
                add_warnings(&mut data, k.warnings(&user));
                if k.needed(&user)
                    && let Err(why) = k.generate(&user)
                {
                    return Ok(failed(why, 1));
                }
                k.result_keys(&user, &mut data);
            }
            let chage = password_expiry(&spec).chage_args(&spec.name)?;
            if !chage.is_empty() {
                let mut cmd = expiry::chage(&chage, &spec.name)?;
                let ran = hostcmd::run(&mut cmd, &format!("`chage` for user `{}`", spec.name))?;
                if !ran.ok() {
                    return Ok(failed(ran.stderr, ran.rc));
                }
            }
        }
        Ok(Outcome {
            changed: true,
            msg: change.describe(&spec.name, true, &post.labels()),
            diffs,
            data,
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests;

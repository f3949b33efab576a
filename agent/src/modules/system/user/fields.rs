//! What `usermod` must change on an existing user, decided as Ansible's `user` module
//! decides it, and the groups a spec names.

use std::collections::BTreeSet;

use super::{UpdatePassword, UserSpec};
use crate::modules::{ModuleError, accounts};

/// One field `usermod` changes, with its current and wanted values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Field {
    Uid(u32, u32),
    /// The primary group: names, and the wanted gid.
    Group(String, String, u32),
    /// Supplementary groups: current members, the wanted list, and `append`.
    Groups(Vec<String>, Vec<String>, bool),
    Comment(String, String),
    Home(String, String),
    Shell(String, String),
    Lock,
    Unlock,
    /// A new hash (never shown).
    Password,
    /// The account's expiry: the current day (`-1`: never), and `usermod -e`'s argument.
    Expires(i64, String),
    /// Days from password expiry to the account's disabling (`-1`: never), now and wanted.
    Inactive(i64, i64),
}

impl Field {
    /// The one-line diff (no password ever).
    pub(super) fn diff(&self) -> String {
        match self {
            Field::Uid(a, b) => format!("uid {a} -> {b}"),
            Field::Group(a, b, _) => format!("group {a} -> {b}"),
            Field::Groups(a, b, append) => {
                let mut to: BTreeSet<&String> = b.iter().collect();
                if *append {
                    to.extend(a.iter());
                }
                let join = |s: &mut dyn Iterator<Item = &String>| {
                    s.map(String::as_str).collect::<Vec<_>>().join(",")
                };
                format!(
                    "groups {} -> {}",
                    join(&mut a.iter().collect::<BTreeSet<_>>().into_iter()),
                    join(&mut to.into_iter())
                )
            }
            Field::Comment(a, b) => format!("comment {a:?} -> {b:?}"),
            Field::Home(a, b) => format!("home {a} -> {b}"),
            Field::Shell(a, b) => format!("shell {a} -> {b}"),
            Field::Lock => "password locked".into(),
            Field::Unlock => "password unlocked".into(),
            Field::Password => "password hash changed".into(),
            Field::Expires(a, b) => format!(
                "expires {} -> {}",
                super::expiry::show_day(*a),
                if b.is_empty() { "never" } else { b }
            ),
            Field::Inactive(a, b) => format!("password_expire_account_disable {a} -> {b}"),
        }
    }

    /// The field's name, for messages.
    pub(super) fn label(&self) -> &'static str {
        match self {
            Field::Uid(..) => "uid",
            Field::Group(..) => "group",
            Field::Groups(..) => "groups",
            Field::Comment(..) => "comment",
            Field::Home(..) => "home",
            Field::Shell(..) => "shell",
            Field::Lock => "lock",
            Field::Unlock => "unlock",
            Field::Password => "password",
            Field::Expires(..) => "expires",
            Field::Inactive(..) => "password_expire_account_disable",
        }
    }
}

/// The supplementary groups asked for, each checked to exist, by name (gids resolved).
pub(super) fn wanted_groups(spec: &UserSpec) -> Result<Option<Vec<String>>, ModuleError> {
    let Some(groups) = &spec.groups else {
        return Ok(None);
    };
    let mut names = Vec::new();
    for g in groups {
        let found = accounts::group_by_name_or_gid(g).ok_or_else(|| {
            ModuleError::Failed(format!("user `{}`: group `{g}` does not exist", spec.name))
        })?;
        if !names.contains(&found.name) {
            names.push(found.name);
        }
    }
    Ok(Some(names))
}

/// The primary group asked for.
pub(super) fn wanted_group(spec: &UserSpec) -> Result<Option<accounts::Group>, ModuleError> {
    spec.group
        .as_deref()
        .map(|g| {
            accounts::group_by_name_or_gid(g).ok_or_else(|| {
                ModuleError::Failed(format!("user `{}`: group `{g}` does not exist", spec.name))
            })
        })
        .transpose()
}

/// What `usermod` must change on an existing user, decided as Ansible decides it.
pub(super) fn changes(spec: &UserSpec, user: &accounts::User) -> Result<Vec<Field>, ModuleError> {
    let mut out = Vec::new();
    if let Some(uid) = spec.uid.filter(|u| *u != user.uid) {
        out.push(Field::Uid(user.uid, uid));
    }
    if let Some(g) = wanted_group(spec)?
        && g.gid != user.gid
    {
        let now = accounts::group_by_gid(user.gid).map_or_else(|| user.gid.to_string(), |g| g.name);
        out.push(Field::Group(now, g.name, g.gid));
    }
    if let Some(wanted) = wanted_groups(spec)? {
        let current: Vec<String> = accounts::groups()
            .map_err(|e| ModuleError::io("cannot read", "/etc/group", e))?
            .into_iter()
            .filter(|g| g.members.contains(&user.name))
            .map(|g| g.name)
            .collect();
        let need = if wanted.is_empty() {
            !current.is_empty() && !spec.append
        } else if spec.append {
            wanted.iter().any(|g| !current.contains(g))
        } else {
            let (a, b): (BTreeSet<&String>, BTreeSet<&String>) =
                (current.iter().collect(), wanted.iter().collect());
            a != b
        };
        if need {
            out.push(Field::Groups(current, wanted, spec.append));
        }
    }
    if let Some(c) = spec.comment.as_ref().filter(|c| **c != user.comment) {
        out.push(Field::Comment(user.comment.clone(), c.clone()));
    }
    if let Some(h) = spec.home.as_ref().filter(|h| **h != user.home) {
        out.push(Field::Home(user.home.clone(), h.clone()));
    }
    if let Some(s) = spec.shell.as_ref().filter(|s| **s != user.shell) {
        out.push(Field::Shell(user.shell.clone(), s.clone()));
    }
    let hash = current_hash(user)?;
    let mut lock = match spec.password_lock {
        Some(true) if !hash.starts_with('!') => Some(Field::Lock),
        Some(false) if hash.starts_with('!') => Some(Field::Unlock),
        _ => None,
    };
    if let Some(pw) = &spec.password
        && spec.update_password == UpdatePassword::Always
        && hash.trim_start_matches('!') != pw.trim_start_matches('!')
    {
        // `-p` carries the lock itself (Ansible drops `-L`/`-U` then).
        lock = None;
        out.push(Field::Password);
    }
    out.extend(lock);
    if let Some(wanted) = spec.expires {
        // No shadow entry counts as day 0, as the module's `or '0'` makes it.
        let current = super::expiry::current_expires(&user.name)?.unwrap_or(0);
        if super::expiry::expires_differs(current, wanted) {
            out.push(Field::Expires(current, super::expiry::date_arg(wanted)));
        }
    }
    // Ansible's module gives `usermod -f` whenever the argument is set, so it reports a
    // change on every run; dr runs it only when the shadow entry holds another value, so a
    // second run changes nothing.
    if let Some(wanted) = spec.password_expire_account_disable {
        let current = super::expiry::current_inactive(&user.name)?;
        if current != Some(wanted) {
            out.push(Field::Inactive(current.unwrap_or(-1), wanted));
        }
    }
    Ok(out)
}

/// The user's current hash: the shadow file's when the passwd file holds a placeholder.
pub(super) fn current_hash(user: &accounts::User) -> Result<String, ModuleError> {
    if user.password.len() > 1 {
        return Ok(user.password.clone());
    }
    Ok(accounts::shadow_password(&user.name)
        .map_err(|e| ModuleError::io("cannot read", "/etc/shadow", e))?
        .unwrap_or_default())
}

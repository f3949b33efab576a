//! The host's account databases as the `files` NSS source holds them: `/etc/passwd`,
//! `/etc/group` and `/etc/shadow`, read for `stat` (owner names) and `user`/`group` (state).
//! Accounts only a directory service knows (LDAP, SSSD) are not seen; Ansible's `user` and
//! `group` modules manage local accounts the same way.

use std::io;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value as Json;

/// The password database.
const PASSWD: &str = "/etc/passwd";
/// The group database.
const GROUP: &str = "/etc/group";
/// The shadow password database.
const SHADOW: &str = "/etc/shadow";

/// One `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct User {
    pub name: String,
    /// The passwd file's password field (`x` when the hash is in the shadow file).
    pub password: String,
    pub uid: u32,
    /// The primary group's id.
    pub gid: u32,
    /// The GECOS field (Ansible's `comment`).
    pub comment: String,
    pub home: String,
    pub shell: String,
}

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Group {
    pub name: String,
    pub gid: u32,
    /// Users who have this group as a supplementary group.
    pub members: Vec<String>,
}

fn read(path: &str) -> io::Result<String> {
    std::fs::read_to_string(path)
}

/// Every user, in file order.
pub(super) fn users() -> io::Result<Vec<User>> {
    Ok(parse_users(&read(PASSWD)?))
}

/// Every group, in file order.
pub(super) fn groups() -> io::Result<Vec<Group>> {
    Ok(parse_groups(&read(GROUP)?))
}

/// The user called `name` (none when the database cannot be read).
pub(super) fn user_named(name: &str) -> Option<User> {
    users().ok()?.into_iter().find(|u| u.name == name)
}

/// The password field of `name` in the shadow database (`None` when the user has no
/// entry there).
pub(super) fn shadow_password(name: &str) -> io::Result<Option<String>> {
    let text = read(SHADOW)?;
    Ok(text.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next()? == name).then(|| f.next().unwrap_or_default().to_owned())
    }))
}

/// Every field of `name`'s shadow entry (`None` when the user has none), as `getspnam`
/// reads it.
pub(super) fn shadow_fields(name: &str) -> io::Result<Option<Vec<String>>> {
    let text = read(SHADOW)?;
    Ok(text.lines().find_map(|line| {
        let f: Vec<String> = line.split(':').map(str::to_owned).collect();
        (f.first().map(String::as_str) == Some(name)).then_some(f)
    }))
}

/// The first user with `uid`, as `getpwuid` finds it.
pub(super) fn user_by_uid(uid: u32) -> Option<User> {
    users().ok()?.into_iter().find(|u| u.uid == uid)
}

/// The first group with `gid`, as `getgrgid` finds it.
pub(super) fn group_by_gid(gid: u32) -> Option<Group> {
    groups().ok()?.into_iter().find(|g| g.gid == gid)
}

/// The group called `name`.
pub(super) fn group_named(name: &str) -> Option<Group> {
    groups().ok()?.into_iter().find(|g| g.name == name)
}

/// A group as Ansible's `user` module resolves one: a number is tried as a gid first,
/// then as a name.
pub(super) fn group_by_name_or_gid(group: &str) -> Option<Group> {
    group
        .parse()
        .ok()
        .and_then(group_by_gid)
        .or_else(|| group_named(group))
}

/// A user or group id given as a number or a numeric string (Ansible's `type='int'`).
pub(super) fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = Json::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    let id = match &v {
        Json::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    id.map(Some)
        .ok_or_else(|| de::Error::custom(format!("expected an id (a whole number), found `{v}`")))
}

fn parse_users(text: &str) -> Vec<User> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || f[0].starts_with(['+', '-', '#']) {
                return None;
            }
            Some(User {
                name: f[0].to_owned(),
                password: f[1].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                comment: f[4].to_owned(),
                home: f[5].to_owned(),
                shell: f[6].to_owned(),
            })
        })
        .collect()
}

fn parse_groups(text: &str) -> Vec<Group> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 || f[0].starts_with(['+', '-', '#']) {
                return None;
            }
            Some(Group {
                name: f[0].to_owned(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_and_malformed_lines_are_skipped() {
        let users = parse_users(
            "root:x:0:0:root:/root:/bin/bash\nbad line\n+nis::::::\napp:x:1001:1002:App,,,:/srv/app:/bin/sh\n",
        );
        assert_eq!(users.len(), 2);
        assert_eq!(
            users[1],
            User {
                name: "app".into(),
                password: "x".into(),
                uid: 1001,
                gid: 1002,
                comment: "App,,,".into(),
                home: "/srv/app".into(),
                shell: "/bin/sh".into(),
            }
        );
        let groups = parse_groups("root:x:0:\nops:x:20:alice,bob\n");
        assert_eq!(groups[0].members, Vec::<String>::new());
        assert_eq!(groups[1].members, vec!["alice", "bob"]);
    }

    #[test]
    fn the_hosts_databases_are_read() {
        assert_eq!(user_by_uid(0).map(|u| u.name), Some("root".into()));
        assert_eq!(group_by_gid(0).map(|g| g.name), Some("root".into()));
        assert!(user_named("root").is_some());
    }
}

/// For tests that create real accounts: unique names, free ids, and removal of whatever
/// they created when the test ends, failed or not.
#[cfg(test)]
pub(super) mod testing {
    use std::process::Command;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Mutex, MutexGuard};

    /// Removes its users, then its groups, when dropped. One test at a time holds one: the
    /// shadow tools refuse to run while another holds their lock on the account files.
    pub struct Doomed {
        users: Vec<String>,
        groups: Vec<String>,
        _turn: MutexGuard<'static, ()>,
    }

    impl Doomed {
        /// Waits for the other account tests to finish.
        pub fn new() -> Self {
            static TURN: Mutex<()> = Mutex::new(());
            Doomed {
                users: Vec::new(),
                groups: Vec::new(),
                _turn: TURN.lock().unwrap_or_else(|e| e.into_inner()),
            }
        }

        /// A new unique user name (`drtest…`), removed (with its home) at the end.
        pub fn user(&mut self) -> String {
            let name = unique("u");
            self.users.push(name.clone());
            name
        }

        /// Removes the group `name` at the end too.
        pub fn adopt_group(&mut self, name: &str) {
            self.groups.push(name.to_owned());
        }

        /// A new unique group name, removed at the end.
        pub fn group(&mut self) -> String {
            let name = unique("g");
            self.groups.push(name.clone());
            name
        }
    }

    impl Drop for Doomed {
        fn drop(&mut self) {
            for u in &self.users {
                let _ = Command::new("userdel").args(["-r", "-f", u]).output();
            }
            for g in &self.groups {
                let _ = Command::new("groupdel").arg(g).output();
            }
        }
    }

    fn unique(kind: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        format!(
            "drtest{}{kind}{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// An id at or above `from` that no user and no group has.
    pub fn free_id(from: u32) -> u32 {
        let users = super::users().unwrap_or_default();
        let groups = super::groups().unwrap_or_default();
        (from..)
            .find(|id| !users.iter().any(|u| u.uid == *id) && !groups.iter().any(|g| g.gid == *id))
            .unwrap_or(from)
    }
}

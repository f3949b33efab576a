//! The host's account databases as the `files` NSS source holds them: `/etc/passwd`,
//! `/etc/group` and `/etc/shadow`, read for `stat` (owner names) and `user`/`group` (state).
//! Accounts only a directory service knows (LDAP, SSSD) are not seen; Ansible's `user` and
//! `group` modules manage local accounts the same way.

use std::io;

/// The password database.
const PASSWD: &str = "/etc/passwd";
/// The group database.
const GROUP: &str = "/etc/group";

/// One `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct User {
    pub name: String,
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

/// The first user with `uid`, as `getpwuid` finds it.
pub(super) fn user_by_uid(uid: u32) -> Option<User> {
    users().ok()?.into_iter().find(|u| u.uid == uid)
}

/// The first group with `gid`, as `getgrgid` finds it.
pub(super) fn group_by_gid(gid: u32) -> Option<Group> {
    groups().ok()?.into_iter().find(|g| g.gid == gid)
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

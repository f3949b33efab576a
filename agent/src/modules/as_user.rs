//! `become_user` for the modules that work on files in the agent's own process (`file`,
//! `copy`, `template`, `lineinfile`, ...): Ansible runs such a module as that user, so the
//! kernel checks that user's permissions and what it creates belongs to that user.
//!
//! The module runs on a thread of its own that takes the user's uid, gid and
//! supplementary groups (`/etc/passwd`, `/etc/group`) for its whole life: Linux keeps
//! credentials per thread, and the raw system calls change only the calling thread's, so
//! no other thread of the agent changes identity. A process the module starts (a
//! `validate` command) inherits that identity. Needs the agent to run as root.

use rustix::process::{Gid, Uid, geteuid};
use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};

use super::accounts;

/// The modules that run as `become_user` this way.
pub const IN_PROCESS: &[&str] = &[
    "blockinfile",
    "copy",
    "env_file",
    "fetch",
    "file",
    "find",
    "get_url",
    "lineinfile",
    "replace",
    "setup",
    "slurp",
    "stat",
    "template",
    "unarchive",
];

/// The modules that run as `become_user` by starting their process as that user
/// (`runuser`), or, for the PostgreSQL modules, by connecting to the server's socket with
/// that user's identity (the peer the server authenticates, what `become_user` gives them
/// in Ansible); `postgresql_pg_hba` gives a file it creates to that user.
pub const BY_PROCESS: &[&str] = &[
    "command",
    "shell",
    "postgresql_query",
    "postgresql_ping",
    "postgresql_db",
    "postgresql_user",
    "postgresql_set",
    "postgresql_privs",
    "postgresql_ext",
    "postgresql_info",
    "postgresql_pg_hba",
];

/// Whether a task of `module` can run as another user than the agent's. A bridged module
/// (Ansible's own code) runs as that user too: its process is started as the user.
pub fn can_switch(module: &str) -> bool {
    IN_PROCESS.contains(&module) || BY_PROCESS.contains(&module) || super::bridge::handles(module)
}

/// The modules [`can_switch`] names, for messages.
pub fn switching_modules() -> String {
    BY_PROCESS
        .iter()
        .chain(IN_PROCESS)
        .copied()
        .chain(["and the modules run with Ansible's own code"])
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the agent already is `user` (its effective uid is that user's).
pub fn is_current(user: &str) -> bool {
    accounts::user_named(user).is_some_and(|a| a.uid == geteuid().as_raw())
}

/// `user`'s home directory (`/etc/passwd`), if the user exists.
pub fn home(user: &str) -> Option<String> {
    accounts::user_named(user).map(|a| a.home)
}

/// `user`'s login shell (`/etc/passwd`), if the user exists.
pub fn login_shell(user: &str) -> Option<String> {
    accounts::user_named(user).map(|a| a.shell)
}

/// Runs `f` on a thread that is `user` (uid, gid, groups) from start to end.
pub fn run<T: Send>(user: &str, f: impl FnOnce() -> T + Send) -> Result<T, String> {
    if !geteuid().is_root() {
        return Err(format!(
            "`become_user: {user}` needs the agent to run as root: set `become: true` on the play, or log in as root"
        ));
    }
    let account = accounts::user_named(user)
        .ok_or_else(|| format!("become_user `{user}`: no such user on this host"))?;
    let mut gids = vec![Gid::from_raw(account.gid)];
    let groups = accounts::groups()
        .map_err(|e| format!("become_user `{user}`: cannot read /etc/group: {e}"))?;
    for g in groups {
        if g.members.iter().any(|m| m == user) && !gids.contains(&Gid::from_raw(g.gid)) {
            gids.push(Gid::from_raw(g.gid));
        }
    }
    let (uid, gid) = (Uid::from_raw(account.uid), Gid::from_raw(account.gid));
    let unsafe_writes = crate::fsutil::unsafe_writes();
    std::thread::scope(|s| {
        s.spawn(move || {
            let f = || crate::fsutil::with_unsafe_writes(unsafe_writes, f);
            // Groups and gid first: once the uid is not root, they can no longer change.
            set_thread_groups(&gids)
                .and_then(|()| set_thread_res_gid(gid, gid, gid))
                .and_then(|()| set_thread_res_uid(uid, uid, uid))
                .map_err(|e| format!("cannot become `{user}`: {e}"))?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|_| Err(format!("bug: the module run as `{user}` panicked")))
    })
}

#[cfg(test)]
mod tests {
    use super::run;

    #[test]
    fn the_thread_is_the_user_and_the_caller_stays_root() {
        if !rustix::process::geteuid().is_root() {
            let e = run("nobody", || ()).unwrap_err();
            assert!(e.contains("needs the agent to run as root"), "{e}");
            return;
        }
        let (uid, gid) = run("nobody", || {
            (
                rustix::process::geteuid().as_raw(),
                rustix::process::getegid().as_raw(),
            )
        })
        .unwrap();
        let nobody = super::accounts::user_named("nobody").unwrap();
        assert_eq!((uid, gid), (nobody.uid, nobody.gid));
        assert!(
            rustix::process::geteuid().is_root(),
            "only that thread changed"
        );
        let denied = run("nobody", || std::fs::write("/root/.dr-as-user-probe", b"x")).unwrap();
        assert_eq!(
            denied.unwrap_err().kind(),
            std::io::ErrorKind::PermissionDenied
        );
        let e = run("no-such-user-here", || ()).unwrap_err();
        assert!(e.contains("no such user"), "{e}");
    }
}

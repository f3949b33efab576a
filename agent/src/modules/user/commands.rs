//! The `useradd`, `usermod` and `userdel` command lines, with Ansible's options. They may
//! hold the password hash: never show them.

use std::process::Command;

use super::UserSpec;
use super::fields::Field;
use crate::modules::{ModuleError, accounts, bin_path};

/// What `password` to hand the tools (locked with `!` when asked).
pub(super) fn hash_arg(spec: &UserSpec, pw: &str) -> String {
    if spec.password_lock == Some(true) {
        format!("!{pw}")
    } else {
        pw.to_owned()
    }
}

pub(super) fn tool(name: &str) -> Result<Command, ModuleError> {
    bin_path::find(name)
        .map(Command::new)
        .map_err(ModuleError::Failed)
}

/// `useradd` with Ansible's options for a new user.
pub(super) fn useradd(spec: &UserSpec) -> Result<Command, ModuleError> {
    let mut cmd = tool("useradd")?;
    if let Some(uid) = spec.uid {
        cmd.arg("-u").arg(uid.to_string());
        if spec.non_unique {
            cmd.arg("-o");
        }
    }
    if let Some(g) = &spec.group {
        cmd.arg("-g").arg(g);
    } else if accounts::group_named(&spec.name).is_some() {
        // A group named like the user exists: useradd would fail creating it.
        cmd.arg("-N");
    }
    if let Some(groups) = spec.groups.as_ref().filter(|g| !g.is_empty()) {
        cmd.arg("-G").arg(groups.join(","));
    }
    if let Some(c) = &spec.comment {
        cmd.arg("-c").arg(c);
    }
    if let Some(h) = &spec.home {
        cmd.arg("-d").arg(h);
    }
    if let Some(s) = &spec.shell {
        cmd.arg("-s").arg(s);
    }
    if let Some(pw) = &spec.password {
        cmd.arg("-p").arg(hash_arg(spec, pw));
    }
    if let Some(expires) = spec.expires {
        cmd.arg("-e").arg(super::expiry::date_arg(expires));
    }
    if let Some(days) = spec.password_expire_account_disable {
        cmd.arg("-f").arg(days.to_string());
    }
    if spec.create_home {
        cmd.arg("-m");
        if let Some(k) = &spec.skeleton {
            cmd.arg("-k").arg(k);
        }
        if let Some(u) = &spec.umask {
            cmd.arg("-K").arg(format!("UMASK={u}"));
        }
    } else {
        cmd.arg("-M");
    }
    if spec.system {
        cmd.arg("-r");
    }
    if let Some(min) = spec.uid_min {
        cmd.arg("-K").arg(format!("UID_MIN={min}"));
    }
    if let Some(max) = spec.uid_max {
        cmd.arg("-K").arg(format!("UID_MAX={max}"));
    }
    cmd.arg(&spec.name);
    Ok(cmd)
}

/// `usermod` for `fields`.
pub(super) fn usermod(spec: &UserSpec, fields: &[Field]) -> Result<Command, ModuleError> {
    let mut cmd = tool("usermod")?;
    for field in fields {
        match field {
            Field::Uid(_, uid) => {
                cmd.arg("-u").arg(uid.to_string());
                if spec.non_unique {
                    cmd.arg("-o");
                }
            }
            Field::Group(_, _, gid) => {
                cmd.arg("-g").arg(gid.to_string());
            }
            Field::Groups(_, wanted, append) => {
                if *append {
                    cmd.arg("-a");
                }
                cmd.arg("-G").arg(wanted.join(","));
            }
            Field::Comment(_, c) => {
                cmd.arg("-c").arg(c);
            }
            Field::Home(_, h) => {
                cmd.arg("-d").arg(h);
                if spec.move_home {
                    cmd.arg("-m");
                }
            }
            Field::Shell(_, s) => {
                cmd.arg("-s").arg(s);
            }
            Field::Lock => {
                cmd.arg("-L");
            }
            Field::Unlock => {
                cmd.arg("-U");
            }
            Field::Password => {
                let pw = spec.password.as_deref().unwrap_or_default();
                cmd.arg("-p").arg(hash_arg(spec, pw));
            }
            Field::Expires(_, date) => {
                cmd.arg("-e").arg(date);
            }
            Field::Inactive(_, days) => {
                cmd.arg("-f").arg(days.to_string());
            }
        }
    }
    cmd.arg(&spec.name);
    Ok(cmd)
}

/// `userdel`.
pub(super) fn userdel(spec: &UserSpec) -> Result<Command, ModuleError> {
    let mut cmd = tool("userdel")?;
    if spec.force {
        cmd.arg("-f");
    }
    if spec.remove {
        cmd.arg("-r");
    }
    cmd.arg(&spec.name);
    Ok(cmd)
}

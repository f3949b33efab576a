//! The `useradd`, `usermod` and `userdel` command lines, with Ansible's options; with
//! `local: true`, libuser's `luseradd`, `lusermod` and `luserdel`, followed (as Ansible's
//! module does) by `lchage -E` for the expiry and `lgroupmod -M`/`-m` for each
//! supplementary group. They may hold the password hash: never show them.

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

/// Whether libuser's tools manage the account (`local: true`).
fn local(spec: &UserSpec) -> bool {
    spec.local == Some(true)
}

/// `lchage -E DAYS NAME` (`-1`: never), as Ansible's module gives a local user's expiry.
fn lchage(spec: &UserSpec, expires: f64) -> Result<Command, ModuleError> {
    let days = if expires < 0.0 {
        -1
    } else {
        (expires.floor() as i64).div_euclid(86_400)
    };
    let mut cmd = tool("lchage")?;
    cmd.arg("-E").arg(days.to_string()).arg(&spec.name);
    Ok(cmd)
}

/// `lgroupmod -M NAME GROUP` (add) or `-m` (remove): a local user's supplementary group.
fn lgroupmod(spec: &UserSpec, flag: &str, group: &str) -> Result<Command, ModuleError> {
    let mut cmd = tool("lgroupmod")?;
    cmd.arg(flag).arg(&spec.name).arg(group);
    Ok(cmd)
}

/// The commands that create a new user, in order: `useradd` (or, local, `luseradd` then
/// `lchage`/`lgroupmod`).
pub(super) fn useradd(spec: &UserSpec) -> Result<Vec<Command>, ModuleError> {
    let local = local(spec);
    let mut cmd = tool(if local { "luseradd" } else { "useradd" })?;
    if let Some(uid) = spec.uid {
        cmd.arg("-u").arg(uid.to_string());
        if spec.non_unique {
            cmd.arg("-o");
        }
    }
    if let Some(g) = &spec.group {
        cmd.arg("-g").arg(g);
    } else if accounts::group_named(&spec.name).is_some() {
        // A group named like the user exists: useradd would fail creating it (luseradd
        // spells the option `-n`).
        cmd.arg(if local { "-n" } else { "-N" });
    }
    if let Some(groups) = spec.groups.as_ref().filter(|g| !g.is_empty() && !local) {
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
    if let Some(expires) = spec.expires.filter(|_| !local) {
        cmd.arg("-e").arg(super::expiry::date_arg(expires));
    }
    if let Some(days) = spec.password_expire_account_disable {
        cmd.arg("-f").arg(days.to_string());
    }
    if spec.create_home {
        if !local {
            cmd.arg("-m");
        }
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
    let mut all = vec![cmd];
    if local {
        if let Some(expires) = spec.expires {
            all.push(lchage(spec, expires)?);
        }
        for g in spec.groups.iter().flatten().filter(|g| !g.is_empty()) {
            all.push(lgroupmod(spec, "-M", g)?);
        }
    }
    Ok(all)
}

/// The commands that change `fields` of an existing user: `usermod` (or, local,
/// `lusermod` when it has options to give, then `lchage`/`lgroupmod`).
pub(super) fn usermod(spec: &UserSpec, fields: &[Field]) -> Result<Vec<Command>, ModuleError> {
    let local = local(spec);
    let mut cmd = tool(if local { "lusermod" } else { "usermod" })?;
    let mut options = 0;
    let mut then = Vec::new();
    for field in fields {
        match field {
            Field::Groups(current, wanted, append) if local => {
                for g in wanted.iter().filter(|g| !current.contains(g)) {
                    then.push(lgroupmod(spec, "-M", g)?);
                }
                for g in current.iter().filter(|g| !*append && !wanted.contains(g)) {
                    then.push(lgroupmod(spec, "-m", g)?);
                }
                continue;
            }
            Field::Expires(..) if local => {
                if let Some(expires) = spec.expires {
                    then.push(lchage(spec, expires)?);
                }
                continue;
            }
            _ => options += 1,
        }
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
    let mut all = if options > 0 { vec![cmd] } else { Vec::new() };
    all.extend(then);
    Ok(all)
}

/// `userdel`.
pub(super) fn userdel(spec: &UserSpec) -> Result<Command, ModuleError> {
    let mut cmd = tool(if local(spec) { "luserdel" } else { "userdel" })?;
    if spec.force && !local(spec) {
        cmd.arg("-f");
    }
    if spec.remove {
        cmd.arg("-r");
    }
    cmd.arg(&spec.name);
    Ok(cmd)
}

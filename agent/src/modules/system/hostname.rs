//! `hostname`: the host's name, current and permanent, as Ansible's `hostname` module sets
//! it on Linux (`ansible/modules/hostname.py`).
//!
//! Strategies dr runs: `systemd` (and `debian`, which Ansible maps to it) through
//! `hostnamectl`, and, without `use`, systemd when it manages the host, else the
//! `/etc/hostname` file of Debian and its derivatives ([`strategy::Strategy`]). Ansible's
//! other strategies write other files or run other tools and are refused by name.

mod strategy;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use self::strategy::Strategy;
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, bin_path, parse_args};
use crate::wire::Diff;

/// The `hostname` module.
pub struct Hostname;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostnameSpec {
    name: String,
    #[serde(default)]
    r#use: Option<String>,
}

/// Distributions (os-release `ID`) whose Ansible class uses `FileStrategy`.
const FILE_DISTRIBUTIONS: &[&str] = &[
    "debian",
    "ubuntu",
    "linuxmint",
    "kali",
    "parrot",
    "devuan",
    "raspbian",
    "neon",
    "void",
    "pop",
    "kylin",
    "cumulus-linux",
    "linaro",
    "uos",
    "deepin",
];

/// Ansible's `use` choices.
const CHOICES: &[&str] = &[
    "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd", "openrc",
    "redhat", "sles", "solaris", "systemd",
];

/// Ansible's `is_systemd_managed`: `systemctl` installed and one of sd_booted's canaries.
fn systemd_managed() -> bool {
    bin_path::find("systemctl").is_ok()
        && [
            "/run/systemd/system/",
            "/dev/.run/systemd/",
            "/dev/.systemd/",
        ]
        .iter()
        .any(|p| Path::new(p).exists())
}

fn hostnamectl() -> Result<Strategy, ModuleError> {
    let ctl = bin_path::find("hostnamectl").map_err(ModuleError::Failed)?;
    Ok(Strategy::Systemd(ctl))
}

/// The strategy for `use`, or the one Ansible picks on this host.
fn strategy(name_of_use: Option<&str>) -> Result<Strategy, ModuleError> {
    let refuse = |why: String| Err(ArgsError::new("hostname", why).into());
    match name_of_use {
        Some("systemd" | "debian") => hostnamectl(),
        Some("generic") => refuse(
            "`use: generic` is Ansible's base strategy, which implements nothing; use `systemd`, or leave `use` out on Debian and its derivatives".into(),
        ),
        Some(u) if CHOICES.contains(&u) => refuse(format!(
            "`use: {u}` is not supported by dr, which sets the name with `hostnamectl` (`systemd`) or in /etc/hostname (Debian and its derivatives, without `use`)"
        )),
        Some(u) => refuse(format!(
            "value of use must be one of: {}, got: {u}",
            CHOICES.join(", ")
        )),
        None if systemd_managed() => hostnamectl(),
        None => {
            let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
            let id = release
                .lines()
                .find_map(|l| l.strip_prefix("ID="))
                .map(|v| v.trim().trim_matches('"').to_owned())
                .unwrap_or_default();
            if FILE_DISTRIBUTIONS.contains(&id.as_str()) {
                Ok(Strategy::File(PathBuf::from("/etc/hostname")))
            } else {
                Err(ModuleError::Failed(format!(
                    "hostname: dr sets the name on `{id}` only through systemd, which does not manage this host; Ansible's strategy for it is not supported"
                )))
            }
        }
    }
}

/// What the host's names are and what changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decision {
    set_current: bool,
    set_permanent: bool,
    /// The diff's `before`: the current name when it differs, else the permanent one.
    before: String,
}

fn decide(strategy: &Strategy, name: &str) -> Result<Decision, ModuleError> {
    let current = strategy.current()?;
    let permanent = strategy.permanent()?;
    Ok(Decision {
        set_current: current != name,
        set_permanent: permanent != name,
        before: if current != name { current } else { permanent },
    })
}

/// Python's `socket.getfqdn()` for the kernel's name, answered from `/etc/hosts` (the
/// `files` source): the name's first address, that address's first line (its canonical
/// name, then aliases), the first of those with a dot, else the canonical name; the name
/// itself when `/etc/hosts` does not know it.
fn fqdn(hosts: &str, name: &str) -> String {
    let entries: Vec<(&str, Vec<&str>)> = hosts
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?, words.collect::<Vec<_>>()))
        })
        .filter(|(_, names)| !names.is_empty())
        .collect();
    let Some(address) = entries
        .iter()
        .find(|(_, names)| names.contains(&name))
        .map(|(a, _)| *a)
    else {
        return name.to_owned();
    };
    let Some((_, names)) = entries.iter().find(|(a, _)| *a == address) else {
        return name.to_owned();
    };
    names
        .iter()
        .find(|n| n.contains('.'))
        .unwrap_or(&names[0])
        .to_string()
}

/// The module's result keys: `name` and the facts it sets.
fn result(name: &str, out: &mut Outcome) {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let fqdn = fqdn(
        &std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
        &kernel,
    );
    let domain = fqdn.split('.').skip(1).collect::<Vec<_>>().join(".");
    let mut facts = Map::new();
    facts.insert(
        "ansible_hostname".into(),
        Json::from(name.split('.').next().unwrap_or_default()),
    );
    facts.insert("ansible_nodename".into(), Json::from(name));
    facts.insert("ansible_fqdn".into(), Json::from(fqdn));
    facts.insert("ansible_domain".into(), Json::from(domain));
    for (k, v) in &facts {
        out.facts.insert(k.clone(), v.clone());
    }
    out.data.insert("name".into(), Json::from(name));
    out.data.insert("ansible_facts".into(), Json::Object(facts));
}

/// The module's diff: `hostname = NAME` before and after.
fn diff(before: &str, after: &str) -> Diff {
    crate::diff::unified(
        "hostname",
        &format!("hostname = {before}\n"),
        &format!("hostname = {after}\n"),
    )
}

/// Plans the change of `strategy`'s names to `name`.
fn plan(strategy: Strategy, name: &str) -> Result<Plan, ModuleError> {
    let d = decide(&strategy, name)?;
    if !d.set_current && !d.set_permanent {
        let mut o = Outcome::ok(format!("the hostname is `{name}`"));
        result(name, &mut o);
        return Ok(Plan::done(o));
    }
    let mut o = Outcome {
        changed: true,
        msg: format!("would change the hostname from `{}` to `{name}`", d.before),
        diffs: vec![diff(&d.before, name)],
        ..Outcome::default()
    };
    result(name, &mut o);
    Ok(Plan::change(
        o,
        Apply {
            strategy,
            name: name.to_owned(),
            decision: d,
        },
    ))
}

impl Module for Hostname {
    fn name(&self) -> &'static str {
        "hostname"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["name", "use"]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: HostnameSpec = parse_args("hostname", args)?;
        plan(strategy(spec.r#use.as_deref())?, &spec.name)
    }
}

/// The apply half: the names in the strategy's order.
struct Apply {
    strategy: Strategy,
    name: String,
    decision: Decision,
}

impl Action for Apply {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let (s, name, d) = (&self.strategy, &self.name, &self.decision);
        let permanent = || {
            if d.set_permanent {
                s.set_permanent(name)
            } else {
                Ok(())
            }
        };
        let current = || {
            if d.set_current {
                s.set_current(name)
            } else {
                Ok(())
            }
        };
        if s.permanent_first() {
            permanent()?;
            current()?;
        } else {
            current()?;
            permanent()?;
        }
        let mut o = Outcome {
            changed: true,
            msg: format!("changed the hostname from `{}` to `{name}`", d.before),
            diffs: vec![diff(&d.before, name)],
            ..Outcome::default()
        };
        result(name, &mut o);
        Ok(o)
    }
}

#[cfg(test)]
mod tests;

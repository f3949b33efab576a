//! `setup`: gather facts about the host (Ansible's `gather_facts`).
//!
//! A small, dependency-free subset of Ansible's facts — the ones playbooks commonly use:
//! `ansible_hostname`, `ansible_fqdn`, `ansible_nodename`, `ansible_system`,
//! `ansible_kernel`, `ansible_architecture`, `ansible_distribution`,
//! `ansible_distribution_version`, `ansible_distribution_major_version`,
//! `ansible_distribution_release`, `ansible_os_family`, `ansible_user_id`,
//! `ansible_user_uid`, `ansible_processor_vcpus`, `ansible_memtotal_mb`,
//! `ansible_default_ipv4.address`, `ansible_env`, `ansible_fips`, `ansible_service_mgr`,
//! `ansible_pkg_mgr`, `ansible_virtualization_{type,role,tech_guest,tech_host}`,
//! `ansible_date_time`, and
//! `ansible_facts` holding them all
//! without the `ansible_` prefix.

use std::collections::BTreeMap;
use std::fs;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::fsutil::{self, Db};

/// The `setup` module.
pub struct Setup;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupSpec {
    /// Accepted for compatibility; dr always gathers its one subset.
    #[allow(dead_code)]
    gather_subset: Option<Json>,
    /// Only facts whose name (with or without `ansible_`) matches this glob (`*` only).
    filter: Option<String>,
}

impl Module for Setup {
    fn name(&self) -> &'static str {
        "setup"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["gather_subset", "filter"]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: SetupSpec = parse_args("setup", args)?;
        let mut facts = gather();
        if let Some(python) = python(ctx) {
            if let Some(version) = python_version(&python) {
                facts.insert("python_version".into(), Json::from(version));
            }
            facts.insert("python".into(), python);
        }
        // The environment a module process would see: the agent's, with the task's
        // `environment:` applied (Ansible gathers facts in a process that has it).
        if let Some(Json::Object(env)) = facts.get_mut("env") {
            for (k, v) in ctx.environment {
                env.insert(k.clone(), Json::from(v.clone()));
            }
        }
        if let Some(filter) = &spec.filter {
            facts.retain(|k, _| glob(filter, k) || glob(filter, &format!("ansible_{k}")));
        }
        let mut outcome = Outcome::default();
        for (k, v) in &facts {
            outcome.facts.insert(format!("ansible_{k}"), v.clone());
        }
        let all: Map<String, Json> = facts.into_iter().collect();
        outcome
            .facts
            .insert("ansible_facts".into(), Json::Object(all.clone()));
        outcome
            .data
            .insert("ansible_facts".into(), Json::Object(all));
        if spec.filter.is_none()
            && let Some(pg) = postgres(ctx)
        {
            outcome.facts.insert("postgres".into(), pg);
        }
        Ok(Plan::done(outcome))
    }
}

/// `ansible_python`: the Python Ansible's modules would run with on this host (as the
/// bridge finds it), its version and implementation; `None` on a host without Python.
fn python(ctx: &Context<'_>) -> Option<Json> {
    let program = super::bridge::interpreter::find(ctx.scope, "setup").ok()?;
    const PROBE: &str = "import json, sys\n\
try:\n    import ssl\n    ctx = hasattr(ssl, 'SSLContext')\nexcept ImportError:\n    ctx = False\n\
v = sys.version_info\n\
print(json.dumps({'executable': sys.executable, 'has_sslcontext': ctx, 'type': sys.implementation.name, \
'version': {'major': v.major, 'minor': v.minor, 'micro': v.micro, 'releaselevel': v.releaselevel, 'serial': v.serial}, \
'version_info': [v.major, v.minor, v.micro, v.releaselevel, v.serial]}))";
    let out = std::process::Command::new(&program)
        .arg("-c")
        .arg(PROBE)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// `ansible_python_version` (`3.11.2`, Python's `platform.python_version()`) from the
/// `ansible_python` fact.
fn python_version(python: &Json) -> Option<String> {
    let v = python.get("version")?;
    let part = |k: &str| v.get(k).and_then(Json::as_u64);
    Some(format!(
        "{}.{}.{}",
        part("major")?,
        part("minor")?,
        part("micro")?
    ))
}

/// The `postgres` facts (running, in_recovery, replay lag, timeline...) of the host's
/// PostgreSQL cluster in Debian's layout (`/var/lib/postgresql/<version>/main`), newest
/// version first; `None` when the host has none.
fn postgres(ctx: &Context<'_>) -> Option<Json> {
    postgres_in(std::path::Path::new("/var/lib/postgresql"), ctx)
}

fn postgres_in(base: &std::path::Path, ctx: &Context<'_>) -> Option<Json> {
    let mut versions: Vec<(u32, String)> = std::fs::read_dir(base)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let data = e.path().join("main");
            (data.join("PG_VERSION").is_file()).then(|| name.parse().ok().map(|v| (v, name)))?
        })
        .collect();
    versions.sort();
    let (_, version) = versions.pop()?;
    let args = serde_json::json!({
        "data_dir": base.join(&version).join("main"),
        "pg_version": version,
    });
    let plan = super::postgres_facts::PostgresFacts
        .check(ctx, &args)
        .ok()?;
    plan.outcome.facts.get("postgres").cloned()
}

/// The facts, without the `ansible_` prefix.
fn gather() -> BTreeMap<String, Json> {
    let mut f = BTreeMap::new();
    let read = |p: &str| fs::read_to_string(p).map(|s| s.trim().to_owned()).ok();
    let nodename = read("/proc/sys/kernel/hostname").unwrap_or_default();
    let domain = read("/proc/sys/kernel/domainname").filter(|d| !d.is_empty() && d != "(none)");
    let short = nodename.split('.').next().unwrap_or_default().to_owned();
    let fqdn = match domain {
        Some(d) if !nodename.contains('.') => format!("{nodename}.{d}"),
        _ => nodename.clone(),
    };
    f.insert("hostname".into(), Json::from(short));
    f.insert("nodename".into(), Json::from(nodename));
    f.insert("fqdn".into(), Json::from(fqdn));
    f.insert(
        "system".into(),
        Json::from(capitalise(std::env::consts::OS)),
    );
    f.insert(
        "kernel".into(),
        Json::from(read("/proc/sys/kernel/osrelease").unwrap_or_default()),
    );
    f.insert("architecture".into(), Json::from(std::env::consts::ARCH));
    for (k, v) in distribution(&fs::read_to_string("/etc/os-release").unwrap_or_default()) {
        f.insert(k.into(), Json::from(v));
    }
    // The calling thread's user: the `become_user` the module runs as (`as_user`), which
    // may not be the agent process's.
    let uid = rustix::process::geteuid().as_raw();
    f.insert("user_uid".into(), Json::from(uid));
    f.insert("user_id".into(), Json::from(fsutil::id_name(Db::User, uid)));
    let process_uid = fs::metadata("/proc/self").map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    });
    if let Ok(n) = std::thread::available_parallelism() {
        f.insert("processor_vcpus".into(), Json::from(n.get()));
    }
    if let Some(mb) = memtotal_mb(&fs::read_to_string("/proc/meminfo").unwrap_or_default()) {
        f.insert("memtotal_mb".into(), Json::from(mb));
    }
    if let Some(addr) = default_ipv4() {
        let mut m = Map::new();
        m.insert("address".into(), Json::from(addr));
        f.insert("default_ipv4".into(), Json::Object(m));
    }
    system::add(&mut f);
    virtual_::add(&mut f);
    date_time::add(&mut f);
    let mut env: Map<String, Json> = std::env::vars().map(|(k, v)| (k, Json::from(v))).collect();
    // Run as another user (`become_user`), the process Ansible gathers in was started by
    // `sudo -H`: that user's home and names.
    if process_uid.is_ok_and(|p| p != uid)
        && let Some(user) = super::accounts::users()
            .ok()
            .and_then(|all| all.into_iter().find(|u| u.uid == uid))
    {
        env.insert("HOME".into(), Json::from(user.home));
        env.insert("USER".into(), Json::from(user.name.clone()));
        env.insert("LOGNAME".into(), Json::from(user.name));
    }
    f.insert("env".into(), Json::Object(env));
    f
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Distribution facts from `/etc/os-release`.
fn distribution(os_release: &str) -> Vec<(&'static str, String)> {
    let get = |key: &str| {
        os_release.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.strip_prefix('=')?;
            Some(v.trim().trim_matches('"').to_owned())
        })
    };
    let id = get("ID").unwrap_or_default();
    let like = get("ID_LIKE").unwrap_or_default();
    let version = get("VERSION_ID").unwrap_or_default();
    let name = match id.as_str() {
        "debian" => "Debian",
        "ubuntu" => "Ubuntu",
        "rhel" => "RedHat",
        "centos" => "CentOS",
        "rocky" => "Rocky",
        "almalinux" => "AlmaLinux",
        "fedora" => "Fedora",
        "alpine" => "Alpine",
        "arch" => "Archlinux",
        "opensuse-leap" | "opensuse-tumbleweed" | "sles" => "SUSE",
        other => other,
    }
    .to_owned();
    let family = match (id.as_str(), like.as_str()) {
        ("debian" | "ubuntu", _) => "Debian",
        ("rhel" | "centos" | "rocky" | "almalinux" | "fedora", _) => "RedHat",
        ("alpine", _) => "Alpine",
        ("arch", _) => "Archlinux",
        (_, l) if l.contains("debian") => "Debian",
        (_, l) if l.contains("rhel") || l.contains("fedora") => "RedHat",
        (_, l) if l.contains("suse") => "Suse",
        _ => "",
    }
    .to_owned();
    let major = version.split('.').next().unwrap_or_default().to_owned();
    vec![
        ("distribution", name),
        ("distribution_version", version),
        ("distribution_major_version", major),
        (
            "distribution_release",
            get("VERSION_CODENAME").unwrap_or_default(),
        ),
        ("os_family", family),
    ]
}

fn memtotal_mb(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// The source address of the default route: a connected UDP socket sends nothing.
fn default_ipv4() -> Option<String> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    sock.connect("10.255.255.255:9").ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then(|| ip.to_string())
}

/// `*`-only glob matching.
fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

mod date_time;
mod system;
mod virtual_;

#[cfg(test)]
mod tests;

//! `ansible_fips`, `ansible_service_mgr` and `ansible_pkg_mgr`, found as Ansible's fact
//! collectors find them on Linux (`module_utils/facts/system/{fips,service_mgr,pkg_mgr}.py`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::Value as Json;

/// Adds the three facts to `f` (which already holds `os_family`).
pub(super) fn add(f: &mut BTreeMap<String, Json>) {
    let fips = fs::read_to_string("/proc/sys/crypto/fips_enabled").is_ok_and(|s| s.trim() == "1");
    f.insert("fips".into(), Json::Bool(fips));
    f.insert("service_mgr".into(), Json::from(service_mgr()));
    let family = f
        .get("os_family")
        .and_then(Json::as_str)
        .unwrap_or_default();
    f.insert("pkg_mgr".into(), Json::from(pkg_mgr(family)));
}

/// What pid 1 is, else what the filesystem says (Ansible's order).
fn service_mgr() -> String {
    let mut proc_1 = fs::read_to_string("/proc/1/comm")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if proc_1.is_none()
        && let Ok(target) = fs::read_link("/sbin/init")
    {
        proc_1 = Some(target.display().to_string());
    }
    let proc_1 = proc_1
        .map(|p| basename(&p).trim().to_owned())
        // `init` cannot be trusted; a name ending in `sh` is a shell in a container.
        .filter(|p| p != "init" && !p.ends_with("sh"));
    if let Some(p) = proc_1 {
        return match p.as_str() {
            "procd" => "openwrt_init",
            "runit-init" => "runit",
            "svscan" => "svc",
            "openrc-init" => "openrc",
            other => other,
        }
        .to_owned();
    }
    let systemctl = bin_path("systemctl");
    let canary = [
        "/run/systemd/system/",
        "/dev/.run/systemd/",
        "/dev/.systemd/",
    ]
    .iter()
    .any(|c| Path::new(c).exists());
    let offline =
        fs::read_link("/sbin/init").is_ok_and(|t| basename(&t.display().to_string()) == "systemd");
    if systemctl && canary {
        "systemd"
    } else if bin_path("initctl") && Path::new("/etc/init/").exists() {
        "upstart"
    } else if Path::new("/sbin/openrc").exists() {
        "openrc"
    } else if systemctl && offline {
        "systemd"
    } else if Path::new("/etc/init.d/").exists() {
        "sysvinit"
    } else if Path::new("/etc/dinit.d/").exists() {
        "dinit"
    } else {
        "service"
    }
    .to_owned()
}

/// The last package manager found, the distribution family's own on Debian.
fn pkg_mgr(family: &str) -> String {
    const PKG_MGRS: &[(&str, &str)] = &[
        ("/usr/bin/rpm-ostree", "atomic_container"),
        ("/usr/bin/yum", "dnf"),
        ("/usr/bin/dnf-3", "dnf"),
        ("/usr/bin/dnf5", "dnf5"),
        ("/usr/bin/apt-get", "apt"),
        ("/usr/bin/zypper", "zypper"),
        ("/usr/sbin/urpmi", "urpmi"),
        ("/usr/bin/pacman", "pacman"),
        ("/bin/opkg", "opkg"),
        ("/usr/pkg/bin/pkgin", "pkgin"),
        ("/opt/local/bin/pkgin", "pkgin"),
        ("/opt/tools/bin/pkgin", "pkgin"),
        ("/opt/local/bin/port", "macports"),
        ("/usr/local/bin/brew", "homebrew"),
        ("/opt/homebrew/bin/brew", "homebrew"),
        ("/sbin/apk", "apk"),
        ("/usr/sbin/pkg", "pkgng"),
        ("/usr/sbin/swlist", "swdepot"),
        ("/usr/bin/emerge", "portage"),
        ("/usr/sbin/pkgadd", "svr4pkg"),
        ("/usr/bin/pkg", "pkg5"),
        ("/usr/bin/xbps-install", "xbps"),
        ("/usr/local/sbin/pkg", "pkgng"),
        ("/usr/bin/swupd", "swupd"),
        ("/usr/sbin/sorcery", "sorcery"),
        ("/usr/bin/installp", "installp"),
    ];
    if family == "Debian" {
        return "apt".into();
    }
    PKG_MGRS
        .iter()
        .rev()
        .find(|(path, _)| Path::new(path).exists())
        .map_or("unknown", |(_, name)| name)
        .to_owned()
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Whether `name` is on PATH or in the sbin directories (Ansible's `get_bin_path`).
fn bin_path(name: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/sbin", "/usr/sbin", "/usr/local/sbin"])
        .filter(|d| !d.is_empty())
        .any(|d| Path::new(d).join(name).is_file())
}

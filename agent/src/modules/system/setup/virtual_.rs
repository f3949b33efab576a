//! `ansible_virtualization_type`, `_role`, `_tech_guest` and `_tech_host`, found as
//! Ansible's Linux collector finds them (`module_utils/facts/virtual/linux.py`): container
//! markers first (cgroups, pid 1's environment, systemd, `/.dockerenv`), then Xen, the DMI
//! vendor strings, VServer, `/proc/cpuinfo`, loaded modules, `dmidecode` and `/dev/kvm`;
//! the first found gives the type and role, every one found joins the technology lists.
//! Ansible's lists come from Python sets, in no fixed order; dr sorts them. Not done: the
//! s390 `lscpu` probe, the RHEV `vdsm` process check and `dmidecode` (for kernels without
//! `/sys/devices/virtual/dmi`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use serde_json::Value as Json;

/// What was found so far.
#[derive(Default)]
struct Found {
    kind: Option<String>,
    role: Option<String>,
    /// Ansible's `found_virt`: the type (and role) are decided.
    decided: bool,
    guest: BTreeSet<String>,
    host: BTreeSet<String>,
}

impl Found {
    /// A guest technology; decides the type and role when nothing did yet.
    fn guest(&mut self, tech: &str, kind: &str, role: Option<&str>) {
        self.guest.insert(tech.to_owned());
        self.decide(kind, role);
    }

    /// A host technology; decides the type and role when nothing did yet.
    fn host(&mut self, tech: &str, kind: &str, role: Option<&str>) {
        self.host.insert(tech.to_owned());
        self.decide(kind, role);
    }

    fn decide(&mut self, kind: &str, role: Option<&str>) {
        if !self.decided {
            self.kind = Some(kind.to_owned());
            if let Some(role) = role {
                self.role = Some(role.to_owned());
            }
            self.decided = true;
        }
    }
}

/// Adds the four facts to `f`.
pub(super) fn add(f: &mut BTreeMap<String, Json>) {
    let found = detect();
    let list = |s: &BTreeSet<String>| Json::from(s.iter().cloned().collect::<Vec<_>>());
    f.insert(
        "virtualization_type".into(),
        Json::from(found.kind.clone().unwrap_or_else(|| "NA".into())),
    );
    f.insert(
        "virtualization_role".into(),
        Json::from(found.role.clone().unwrap_or_else(|| "NA".into())),
    );
    f.insert("virtualization_tech_guest".into(), list(&found.guest));
    f.insert("virtualization_tech_host".into(), list(&found.host));
}

fn read(path: &str) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn exists(path: &str) -> bool {
    Path::new(path).exists()
}

fn detect() -> Found {
    let mut v = Found::default();
    let guest = Some("guest");
    if let Ok(cgroup) = fs::read_to_string("/proc/1/cgroup") {
        for line in cgroup.lines() {
            if docker_cgroup(line) {
                v.guest("docker", "docker", guest);
            }
            if line.contains("/lxc/") || line.contains("/machine.slice/machine-lxc") {
                v.guest("lxc", "lxc", guest);
            }
            if line.contains("/system.slice/containerd.service") {
                v.guest("containerd", "containerd", guest);
            }
        }
    }
    if let Ok(environ) = fs::read_to_string("/proc/1/environ") {
        for entry in environ.split('\0') {
            if entry.contains("container=lxc") {
                v.guest("lxc", "lxc", guest);
            }
            if entry.contains("container=podman") {
                v.guest("podman", "podman", guest);
            }
            if entry
                .strip_prefix("container=")
                .is_some_and(|r| !r.is_empty())
            {
                v.guest("container", "container", guest);
            }
        }
    }
    if exists("/proc/vz") && !exists("/proc/lve") {
        if exists("/proc/bc") {
            v.host("openvz", "openvz", Some("host"));
        } else {
            v.guest("openvz", "openvz", guest);
        }
        // The type is set even when something decided before (Ansible's order).
        v.kind = Some("openvz".into());
    }
    let systemd_container = read("/run/systemd/container");
    if let Some(c) = &systemd_container {
        v.guest(c, c, guest);
    }
    if exists("/.dockerenv") || exists("/.dockerinit") {
        v.guest("docker", "docker", guest);
    }
    let containers = ["docker", "lxc", "podman", "openvz", "containerd"];
    if containers.iter().any(|c| v.guest.contains(*c)) || systemd_container.is_some() {
        v.guest.insert("container".into());
    }
    if exists("/proc/xen") {
        let control = fs::read_to_string("/proc/xen/capabilities")
            .is_ok_and(|c| c.lines().any(|l| l.contains("control_d")));
        if control {
            v.host("xen", "xen", Some("host"));
        } else {
            v.decide("xen", guest);
        }
    }
    // Ansible assumes a guest for the DMI checks, and takes it back when none matches.
    let assumed = !v.decided;
    dmi(&mut v);
    if assumed {
        v.role = v.decided.then(|| "guest".to_owned());
    }
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            let Some(id) = line.strip_prefix("VxID:").map(str::trim) else {
                continue;
            };
            if id.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                if id.starts_with('0') {
                    v.host("linux_vserver", "linux_vserver", Some("host"));
                } else {
                    v.guest("linux_vserver", "linux_vserver", guest);
                }
            }
        }
    }
    cpuinfo(&mut v);
    modules(&mut v);
    if exists("/dev/kvm") {
        v.host("kvm", "kvm", Some("host"));
    }
    v
}

/// `/docker/` or `/docker-<hex>.scope` in a cgroup line.
fn docker_cgroup(line: &str) -> bool {
    line.match_indices("/docker").any(|(i, _)| {
        let rest = &line[i + "/docker".len()..];
        rest.starts_with('/')
            || rest.strip_prefix('-').is_some_and(|r| {
                let hex = r.len() - r.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len();
                hex > 0 && r[hex..].starts_with(".scope")
            })
    })
}

/// The DMI vendor strings (`/sys/devices/virtual/dmi/id`).
fn dmi(v: &mut Found) {
    let id = |name: &str| read(&format!("/sys/devices/virtual/dmi/id/{name}"));
    let product = id("product_name").unwrap_or_default();
    let vendor = id("sys_vendor").unwrap_or_default();
    let family = id("product_family").unwrap_or_default();
    let bios = id("bios_vendor").unwrap_or_default();
    let mut guest = |tech: &str| v.guest(tech, tech, None);
    if [
        "KVM",
        "KVM Server",
        "Bochs",
        "AHV",
        "CloudStack KVM Hypervisor",
    ]
    .contains(&product.as_str())
    {
        guest("kvm");
    }
    if vendor == "oVirt" {
        guest("oVirt");
    }
    if vendor == "Red Hat" {
        if family == "RHV" {
            guest("RHV");
        } else if product == "RHEV Hypervisor" {
            guest("RHEV");
        }
    }
    if product.starts_with("VMware") {
        guest("VMware");
    }
    if ["OpenStack Compute", "OpenStack Nova"].contains(&product.as_str()) {
        guest("openstack");
    }
    if bios == "Xen" {
        guest("xen");
    }
    if bios == "innotek GmbH" {
        guest("virtualbox");
    }
    if ["Amazon EC2", "DigitalOcean", "Hetzner", "Linode"].contains(&bios.as_str()) {
        guest("kvm");
    }
    if [
        "QEMU",
        "Amazon EC2",
        "DigitalOcean",
        "Google",
        "Scaleway",
        "Nutanix",
    ]
    .contains(&vendor.as_str())
    {
        guest("kvm");
    }
    let named = [
        ("KubeVirt", "KubeVirt"),
        ("Microsoft Corporation", "VirtualPC"),
        ("Parallels Software International Inc.", "parallels"),
        ("OpenStack Foundation", "openstack"),
    ];
    for (name, tech) in named {
        if vendor == name {
            guest(tech);
        }
    }
}

/// `/proc/cpuinfo`'s signs of an emulated CPU.
fn cpuinfo(v: &mut Found) {
    let Ok(text) = fs::read_to_string("/proc/cpuinfo") else {
        return;
    };
    for line in text.lines() {
        let tech = if line.starts_with("model name") && line.contains("QEMU Virtual CPU") {
            "kvm"
        } else if (line.starts_with("vendor_id") && line.contains("User Mode Linux"))
            || (line.starts_with("model name") && line.contains("UML"))
        {
            "uml"
        } else if line.starts_with("machine")
            && line.contains("CHRP IBM pSeries")
            && line.contains("emulated by qemu")
        {
            "kvm"
        } else if line.starts_with("vendor_id") && line.contains("PowerVM Lx86") {
            "powervm_lx86"
        } else {
            continue;
        };
        v.guest(tech, tech, Some("guest"));
    }
}

/// Loaded kernel modules (`/proc/modules`): a KVM or VirtualBox host, a virtio guest.
fn modules(v: &mut Found) {
    let Ok(text) = fs::read_to_string("/proc/modules") else {
        return;
    };
    let loaded: Vec<&str> = text.lines().filter_map(|l| l.split(' ').next()).collect();
    if loaded.contains(&"kvm") {
        v.host("kvm", "kvm", Some("host"));
    }
    if loaded.contains(&"vboxdrv") {
        v.host("virtualbox", "virtualbox", Some("host"));
    }
    if loaded.contains(&"virtio") {
        v.host("kvm", "kvm", Some("guest"));
    }
}

#[cfg(test)]
mod tests {
    use super::docker_cgroup;

    #[test]
    fn docker_cgroups_are_recognised_as_ansible_does() {
        assert!(docker_cgroup("12:pids:/docker/0123abcd"));
        assert!(docker_cgroup("0::/system.slice/docker-0123abcd.scope"));
        assert!(!docker_cgroup("0::/system.slice/docker.service"));
        assert!(!docker_cgroup("0::/"));
    }
}

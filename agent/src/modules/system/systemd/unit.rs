//! Reading a unit as Ansible's `systemd_service` reads it (`systemctl show`, `is-enabled`,
//! `list-unit-files`, the init script beside it) and deciding the steps that reach what the
//! task asks, with Ansible's failures.

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::{Scope, SystemdSpec};
use crate::modules::path_arg::env_var;
use crate::modules::service::State;
use crate::modules::systemctl::{Systemctl, parse_show};
use crate::modules::{ModuleError, Outcome};

/// `is-enabled` answers that mean systemd knows the unit.
const KNOWN: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "masked",
    "masked-runtime",
    "static",
    "indirect",
    "disabled",
    "generated",
    "transient",
];

/// One `systemctl` verb on the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Mask,
    Unmask,
    Enable,
    Disable,
    /// `start`, `stop`, `restart` or `reload`.
    Run(&'static str),
}

impl Step {
    pub(super) fn verb(self) -> &'static str {
        match self {
            Step::Mask => "mask",
            Step::Unmask => "unmask",
            Step::Enable => "enable",
            Step::Disable => "disable",
            Step::Run(verb) => verb,
        }
    }
}

/// What was read about the unit, and what to do to it.
#[derive(Debug, Clone, Default)]
pub(super) struct Decision {
    /// `systemctl show` as a mapping (empty when it could not be read).
    pub(super) status: Map<String, Json>,
    /// systemd or an init script knows the unit.
    pub(super) found: bool,
    /// There is an init script for it (`/etc/init.d/<name>`).
    pub(super) is_initd: bool,
    pub(super) steps: Vec<Step>,
    /// Whether the unit is enabled now (asked with `enabled` only).
    pub(super) enabled: Option<bool>,
    /// The result's `state`: the one asked for (`started` for restarted and reloaded).
    pub(super) state: Option<&'static str>,
    pub(super) warnings: Vec<String>,
}

/// A failure phrased as Ansible phrases it, with any keys its result carries.
pub(super) struct Failure(pub(super) String, pub(super) Map<String, Json>);

impl Failure {
    pub(super) fn new(msg: impl Into<String>) -> Self {
        Failure(msg.into(), Map::new())
    }

    pub(super) fn outcome(self) -> Outcome {
        let mut o = Outcome::failed(self.0);
        o.data = self.1;
        o
    }
}

/// Reads the unit and decides the steps, as Ansible's `systemd_service` does. `Err` is a
/// failure of the task (the unit is missing, its state unknown...).
pub(super) fn decide(
    spec: &SystemdSpec,
    unit: &str,
    ctl: &Systemctl,
    environment: &[(String, String)],
) -> Result<Result<Decision, Failure>, ModuleError> {
    let mut d = Decision {
        is_initd: Path::new(&sysv_script(unit)).exists(),
        ..Decision::default()
    };
    let mut is_systemd = false;
    let show = ctl.run(&["show", unit])?;
    let ignored = |s: &str| {
        !s.contains('=') && (s.contains("ignoring request") || s.contains("ignoring command"))
    };
    if show.rc == 0 && !ignored(&show.stdout) && !ignored(&show.stderr) {
        if !show.stdout.is_empty() {
            d.status = parse_show(&show.stdout);
            let load = d.status.get("LoadState").and_then(Json::as_str);
            is_systemd = load.is_some_and(|s| s != "not-found");
            if is_systemd
                && load != Some("masked")
                && let Some(err) = d.status.get("LoadError").and_then(Json::as_str)
            {
                return Ok(Err(Failure::new(format!(
                    "Error loading unit file '{unit}': {err}"
                ))));
            }
        }
    } else if show.rc == 1 && show.stderr.contains("Failed to parse bus message") {
        // Ansible's workaround for systemd's bus-message bug (ansible/ansible#71528).
        d.status = parse_show(&show.stdout);
        let (base, template) = unit.split_once('@').map_or((unit, ""), |(b, _)| (b, "@"));
        let search = format!("{base}{template}");
        let listed = ctl.run(&["list-unit-files", &format!("{search}*")])?;
        is_systemd = listed.stdout.contains(&search);
        let active = ctl.run(&["is-active", unit])?;
        d.status.insert(
            "ActiveState".into(),
            Json::from(active.stdout.trim_end_matches('\n')),
        );
    } else {
        let state = ctl.run(&["is-enabled", unit])?;
        // `list-unit-files` only when `is-enabled` did not know the unit.
        if KNOWN.contains(&state.stdout.trim()) || ctl.run(&["list-unit-files", unit])?.rc == 0 {
            is_systemd = true;
        } else {
            let bare = ctl.run(&[])?;
            if !bare.ok() {
                // Ansible's `run_command(check_rc=True)` failure, with its keys.
                let mut data = Map::new();
                data.insert("cmd".into(), Json::from(ctl.program()));
                data.insert("rc".into(), Json::from(bare.rc));
                for (key, text) in [("stdout", &bare.stdout), ("stderr", &bare.stderr)] {
                    let lines: Vec<Json> = text.lines().map(Json::from).collect();
                    data.insert(key.into(), Json::from(text.as_str()));
                    data.insert(format!("{key}_lines"), Json::Array(lines));
                }
                return Ok(Err(Failure(bare.stderr.trim_end().to_owned(), data)));
            }
        }
    }
    d.found = is_systemd || d.is_initd;
    if d.is_initd && !is_systemd {
        d.warnings.push(format!(
            "The service ({unit}) is actually an init script but the system is managed by systemd"
        ));
    }
    let missing = || Failure::new(format!("Could not find the requested service {unit}: host"));

    if let Some(want) = spec.masked {
        let masked = ctl.run(&["is-enabled", unit])?.stdout.trim() == "masked";
        if masked != want {
            d.steps.push(if want { Step::Mask } else { Step::Unmask });
        }
    }
    if let Some(want) = spec.enabled {
        if !d.found {
            return Ok(Err(missing()));
        }
        let now = is_enabled(spec, unit, ctl, d.is_initd)?;
        d.enabled = Some(now);
        if now != want {
            d.steps
                .push(if want { Step::Enable } else { Step::Disable });
        }
    }
    if let Some(state) = spec.state {
        if !d.found {
            return Ok(Err(missing()));
        }
        d.state = Some(match state {
            State::Started => "started",
            State::Stopped => "stopped",
            State::Restarted => "restarted",
            State::Reloaded => "reloaded",
        });
        if let Some(active) = d.status.get("ActiveState").and_then(Json::as_str) {
            if matches!(state, State::Restarted | State::Reloaded) {
                d.state = Some("started");
            }
            let running = matches!(active, "active" | "activating");
            let verb = if state == State::Stopped && active == "deactivating" {
                Some("stop")
            } else {
                state.verb(running)
            };
            d.steps.extend(verb.map(Step::Run));
        } else if is_chroot(environment)
            || env_var(environment, "SYSTEMD_OFFLINE").as_deref() == Some("1")
        {
            d.warnings.push("Target is a chroot or systemd is offline. This can lead to false positives or prevent the init system tools from working.".into());
        } else {
            let mut data = Map::new();
            data.insert("status".into(), Json::Object(d.status.clone()));
            return Ok(Err(Failure("Service is in unknown state".into(), data)));
        }
    }
    Ok(Ok(d))
}

/// Whether the unit is enabled, as Ansible decides it from `is-enabled -l` (and, for an
/// init script under the system manager, its runlevel links).
pub(super) fn is_enabled(
    spec: &SystemdSpec,
    unit: &str,
    ctl: &Systemctl,
    is_initd: bool,
) -> Result<bool, ModuleError> {
    let ran = ctl.run(&["is-enabled", unit, "-l"])?;
    Ok(match ran.rc {
        // Asked to enable these, so enable them whatever systemctl thinks.
        0 => !matches!(
            ran.stdout.trim_end(),
            "enabled-runtime" | "indirect" | "alias"
        ),
        1 => {
            spec.scope == Scope::System
                && is_initd
                && !ran.stdout.trim().ends_with("disabled")
                && sysv_is_enabled(unit)
        }
        _ => false,
    })
}

/// The init script Ansible looks for: the name itself when it is a path.
pub(super) fn sysv_script(unit: &str) -> String {
    if unit.starts_with('/') {
        unit.to_owned()
    } else {
        format!("/etc/init.d/{unit}")
    }
}

/// Whether an init script has a start link in some runlevel.
pub(super) fn sysv_is_enabled(unit: &str) -> bool {
    let pattern = if Path::new("/etc/rc0.d/").is_dir() {
        format!("/etc/rc?.d/S??{unit}")
    } else {
        format!("/etc/init.d/rc?.d/S??{unit}")
    };
    glob::glob(&pattern).is_ok_and(|mut paths| paths.next().is_some())
}

/// Ansible's `is_chroot`: a `debian_chroot` variable, or a root other than PID 1's (or,
/// when PID 1's cannot be read, a root directory that is not its file system's root).
pub(super) fn is_chroot(environment: &[(String, String)]) -> bool {
    use std::os::unix::fs::MetadataExt;
    if env_var(environment, "debian_chroot").is_some_and(|v| !v.is_empty()) {
        return true;
    }
    let Ok(mine) = std::fs::metadata("/") else {
        return false;
    };
    if let Ok(init) = std::fs::metadata("/proc/1/root/.") {
        return mine.ino() != init.ino() || mine.dev() != init.dev();
    }
    const BTRFS: i64 = 0x9123_683E;
    const XFS: i64 = 0x5846_5342;
    // `f_type`'s integer type differs between platforms.
    #[allow(clippy::unnecessary_cast)]
    let root_ino = match rustix::fs::statfs("/").map(|s| s.f_type as i64) {
        Ok(BTRFS) => 256,
        Ok(XFS) => 128,
        _ => 2,
    };
    mine.ino() != root_ino
}

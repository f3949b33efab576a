//! `service`: start, stop, restart or reload a service through systemd, or through its
//! SysV init script where systemd is not PID 1 (containers, minimal hosts).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::opt_bool_ish;
use super::hostcmd::{self, Ran};
use super::systemctl::{self, Systemctl};
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::wire::Diff;

/// The `service` module.
pub struct Service;

/// Arguments only the `systemd` module takes (the service action passes them on).
const SYSTEMD_ONLY: &[&str] = &[
    "force",
    "masked",
    "daemon_reload",
    "daemon-reload",
    "daemon_reexec",
    "daemon-reexec",
    "scope",
    "no_block",
];

/// Arguments of Ansible's init-script `service` module dr does not run.
const SYSV_ONLY: &[&str] = &["pattern", "runlevel", "sleep", "arguments", "args"];

/// Every argument `service` takes: its own, then those it hands on or refuses by name.
static ARG_NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    ["name", "state", "enabled", "use", "init_script"]
        .into_iter()
        .chain(SYSV_ONLY.iter().copied())
        .chain(SYSTEMD_ONLY.iter().copied())
        .collect()
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceSpec {
    name: String,
    state: Option<State>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    enabled: Option<bool>,
    #[serde(rename = "use", default)]
    manager: Manager,
    /// The init script (default `/etc/init.d/<name>`).
    init_script: Option<String>,
}

/// The `state` of `service` and `systemd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(in crate::modules) enum State {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

impl State {
    /// The verb that reaches this state from `running` (a stopped service is started, not
    /// restarted or reloaded), or `None` when it holds already.
    pub(in crate::modules) fn verb(self, running: bool) -> Option<&'static str> {
        match (self, running) {
            (State::Started, false) => Some("start"),
            (State::Stopped, true) => Some("stop"),
            (State::Restarted, true) => Some("restart"),
            (State::Reloaded, true) => Some("reload"),
            (State::Restarted | State::Reloaded, false) => Some("start"),
            _ => None,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Manager {
    #[default]
    Auto,
    Systemd,
    #[serde(alias = "sysvinit", alias = "service")]
    Init,
}

/// How to drive the service.
#[derive(Debug, Clone)]
enum Backend {
    Systemd,
    Init(PathBuf),
}

impl Backend {
    fn command(&self, name: &str, verb: &str) -> Command {
        match self {
            Backend::Systemd => Systemctl::system().command(&[verb, name]),
            Backend::Init(script) => {
                let mut c = Command::new(script);
                c.arg(verb).current_dir("/");
                c
            }
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Backend::Systemd => "systemd",
            Backend::Init(_) => "init script",
        }
    }

    /// Whether the service runs now.
    fn running(&self, name: &str) -> Result<bool, ModuleError> {
        match self {
            Backend::Systemd => {
                let ran = run(&mut self.command(name, "is-active"), name, "is-active")?;
                Ok(ran.stdout.trim() == "active")
            }
            Backend::Init(script) => {
                let ran = run(&mut self.command(name, "status"), name, "status")?;
                // LSB: 0 running; 1-3 not running (with or without stale files); 4 unknown.
                match ran.rc {
                    0 => Ok(true),
                    1..=3 => Ok(false),
                    rc => Err(ModuleError::Failed(format!(
                        "service `{name}`: `{} status` exited {rc}, so its state is unknown: {}",
                        script.display(),
                        ran.why()
                    ))),
                }
            }
        }
    }

    fn enabled(&self, name: &str) -> Result<bool, ModuleError> {
        match self {
            Backend::Systemd => {
                let ran = run(&mut self.command(name, "is-enabled"), name, "is-enabled")?;
                Ok(matches!(
                    ran.stdout.trim(),
                    "enabled" | "enabled-runtime" | "static" | "alias"
                ))
            }
            Backend::Init(_) => Err(ModuleError::Failed(format!(
                "service `{name}`: `enabled` needs systemd; this host runs init scripts"
            ))),
        }
    }
}

fn run(cmd: &mut Command, name: &str, verb: &str) -> Result<Ran, ModuleError> {
    hostcmd::run(cmd, &format!("`{verb}` for service `{name}`"))
}

impl Module for Service {
    fn name(&self) -> &'static str {
        "service"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARG_NAMES.as_slice()
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let mut map = args.as_object().cloned().unwrap_or_default();
        // As Ansible's `service` action: on a host systemd runs, the `systemd` module does
        // the work, given the task's arguments without those systemd has no use for.
        let manager = map.get("use").and_then(Json::as_str).unwrap_or("auto");
        if systemctl::booted()
            && matches!(manager, "auto" | "systemd")
            && !map.contains_key("init_script")
        {
            for unused in ["use", "pattern", "runlevel", "sleep", "arguments", "args"] {
                map.remove(unused);
            }
            return super::systemd::Systemd.check(ctx, &Json::Object(map));
        }
        let systemd_only: Vec<&str> = SYSTEMD_ONLY
            .iter()
            .copied()
            .filter(|k| map.contains_key(*k))
            .collect();
        if !systemd_only.is_empty() {
            return Err(ArgsError::new(
                "service",
                format!(
                    "Unsupported parameters for (service) module: {}: they are the systemd module's, and systemd is not running on this host",
                    systemd_only.join(", ")
                ),
            )
            .into());
        }
        if let Some(k) = SYSV_ONLY.iter().find(|k| map.contains_key(**k)) {
            return Err(ArgsError::new(
                "service",
                format!("`{k}` (for init scripts) is not supported by dr"),
            )
            .into());
        }
        let spec: ServiceSpec = parse_args("service", args)?;
        if spec.state.is_none() && spec.enabled.is_none() {
            return Err(ArgsError::new("service", "give `state`, `enabled`, or both").into());
        }
        let name = spec.name.clone();
        let backend = backend(&spec)?;
        let running = backend.running(&name)?;
        let mut steps: Vec<&'static str> = Vec::new();
        steps.extend(spec.state.and_then(|s| s.verb(running)));
        let enabled = match spec.enabled {
            Some(want) => {
                let is = backend.enabled(&name)?;
                if is != want {
                    steps.push(if want { "enable" } else { "disable" });
                }
                Some(is)
            }
            None => None,
        };
        let mut data = Map::new();
        data.insert("name".into(), Json::from(name.clone()));
        data.insert("manager".into(), Json::from(backend.label()));
        data.insert(
            "state".into(),
            Json::from(if running { "started" } else { "stopped" }),
        );
        if let Some(e) = enabled {
            data.insert("enabled".into(), Json::Bool(e));
        }
        if steps.is_empty() {
            let mut o = Outcome::ok(format!(
                "service `{name}` is {}",
                if running { "running" } else { "stopped" }
            ));
            o.data = data;
            return Ok(Plan::done(o));
        }
        let shown = steps.join(" and ");
        let outcome = Outcome {
            changed: true,
            msg: format!(
                "would {shown} service `{name}` ({} now, via {})",
                if running { "running" } else { "stopped" },
                backend.label()
            ),
            diffs: vec![Diff {
                target: format!("service {name}"),
                text: shown.clone(),
            }],
            data,
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome,
            Apply {
                name,
                backend,
                steps,
            },
        ))
    }
}

fn backend(spec: &ServiceSpec) -> Result<Backend, ModuleError> {
    let systemd = systemctl::booted();
    let script = || {
        let p = spec
            .init_script
            .clone()
            .map_or_else(|| Path::new("/etc/init.d").join(&spec.name), PathBuf::from);
        if p.is_file() {
            Ok(Backend::Init(p))
        } else {
            Err(ModuleError::Failed(format!(
                "service `{}`: no init script at `{}`{}",
                spec.name,
                p.display(),
                if systemd {
                    ""
                } else {
                    " (and systemd is not running on this host)"
                }
            )))
        }
    };
    match spec.manager {
        Manager::Systemd if !systemd => Err(ModuleError::Failed(format!(
            "service `{}`: `use: systemd` but systemd is not running on this host",
            spec.name
        ))),
        Manager::Systemd => Ok(Backend::Systemd),
        Manager::Init => script(),
        Manager::Auto if systemd && spec.init_script.is_none() => Ok(Backend::Systemd),
        Manager::Auto => script(),
    }
}

/// The apply half: the verbs, in order.
struct Apply {
    name: String,
    backend: Backend,
    steps: Vec<&'static str>,
}

impl Action for Apply {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        for verb in &self.steps {
            let ran = run(
                &mut self.backend.command(&self.name, verb),
                &self.name,
                verb,
            )?;
            if !ran.ok() {
                return Ok(Outcome::failed(format!(
                    "cannot {verb} service `{}` (exit {}): {}",
                    self.name,
                    ran.rc,
                    ran.why()
                )));
            }
        }
        let running = self.settled(self.steps.iter().rev().find_map(|v| wanted(v)))?;
        let mut data = Map::new();
        data.insert("name".into(), Json::from(self.name.clone()));
        data.insert("manager".into(), Json::from(self.backend.label()));
        data.insert(
            "state".into(),
            Json::from(if running { "started" } else { "stopped" }),
        );
        Ok(Outcome {
            changed: true,
            msg: format!("{} service `{}`", self.steps.join(" and "), self.name),
            data,
            ..Outcome::default()
        })
    }
}

/// Whether the service runs once `verb` has done its work: `None` for `enable`/`disable`.
fn wanted(verb: &str) -> Option<bool> {
    match verb {
        "start" | "restart" | "reload" => Some(true),
        "stop" => Some(false),
        _ => None,
    }
}

/// How long an init script's daemon gets to report the state its script returned for.
const SETTLE: Duration = Duration::from_secs(5);

impl Apply {
    /// Whether the service runs, once its init script's `status` agrees with `want` or
    /// [`SETTLE`] has passed. An init script may return as soon as its daemon forks, before
    /// the daemon writes its pid file (Debian's PgBouncer does), so `status` right after
    /// `start` can say "not running" and the next task would start it a second time. The
    /// state reported is the one seen last; a daemon that dies at once is not an error
    /// here, as in Ansible.
    fn settled(&self, want: Option<bool>) -> Result<bool, ModuleError> {
        let want = want.filter(|_| matches!(self.backend, Backend::Init(_)));
        let deadline = Instant::now() + SETTLE;
        loop {
            let running = self.backend.running(&self.name)?;
            if want.is_none_or(|w| w == running) || Instant::now() >= deadline {
                return Ok(running);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests;

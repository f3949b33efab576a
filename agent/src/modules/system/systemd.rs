//! `systemd` (`systemd_service`): a unit started, stopped, restarted or reloaded, enabled or
//! disabled, masked or unmasked, and the manager's `daemon-reload`/`daemon-reexec`, through
//! `systemctl` with Ansible's arguments, decisions, messages and result keys.
//!
//! The unit's state comes from `systemctl show` (the result's `status`), `is-enabled` and
//! `list-unit-files`, read as Ansible reads them. `daemon-reload` runs first and, as in
//! Ansible, is not a change by itself and does not run in check mode; after it the unit is
//! read again, since a reload is what makes a new unit file visible.

mod unit;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use self::unit::{Decision, Step, decide, is_chroot, is_enabled};
use super::args::{bool_ish, opt_bool_ish};
use super::path_arg::env_var;
use super::service::State;
use super::systemctl::Systemctl;
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::wire::Diff;

/// The `systemd` module.
pub struct Systemd;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemdSpec {
    #[serde(alias = "service", alias = "unit")]
    name: Option<String>,
    state: Option<State>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    enabled: Option<bool>,
    /// `systemctl --force` (enable over conflicting links, ...).
    #[serde(default, deserialize_with = "opt_bool_ish")]
    force: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    masked: Option<bool>,
    #[serde(default, deserialize_with = "bool_ish", alias = "daemon-reload")]
    daemon_reload: bool,
    #[serde(default, deserialize_with = "bool_ish", alias = "daemon-reexec")]
    daemon_reexec: bool,
    #[serde(default)]
    scope: Scope,
    /// `systemctl --no-block`: do not wait for the job to finish.
    #[serde(default, deserialize_with = "bool_ish")]
    no_block: bool,
}

/// Which manager: the system's, the calling user's, or all users' (`--global`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Scope {
    #[default]
    System,
    User,
    Global,
}

impl Module for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "name",
            "service",
            "unit",
            "state",
            "enabled",
            "force",
            "masked",
            "daemon_reload",
            "daemon-reload",
            "daemon_reexec",
            "daemon-reexec",
            "scope",
            "no_block",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: SystemdSpec = parse_args("systemd", args)?;
        validate(&spec)?;
        let ctl = systemctl(&spec, ctx.environment)?;
        let reloads = reloads(&spec);
        let decision = match (&spec.name, reloads.is_empty() || ctx.check_mode) {
            (None, _) => Decision::default(),
            // The unit is read after the reload, when the action runs.
            (Some(_), false) => {
                let outcome = Outcome {
                    msg: format!("would {}, then read the unit again", reloads.join(" and ")),
                    ..Outcome::default()
                };
                let apply = Apply {
                    spec,
                    ctl,
                    decision: None,
                };
                return Ok(Plan::change(outcome, apply));
            }
            (Some(unit), true) => match decide(&spec, unit, &ctl, ctx.environment)? {
                Ok(d) => d,
                Err(f) => return Ok(Plan::done(f.outcome())),
            },
        };
        // As Ansible, the result says what `enabled` will be.
        let enabled = match decision
            .steps
            .iter()
            .find(|s| matches!(s, Step::Enable | Step::Disable))
        {
            Some(step) => Some(*step == Step::Enable),
            None => decision.enabled,
        };
        let mut outcome = Outcome {
            changed: !decision.steps.is_empty(),
            data: result(&spec, &decision, enabled),
            diffs: diffs(&spec, &decision),
            ..Outcome::default()
        };
        let what = describe(&spec, &decision.steps, &reloads);
        outcome.msg = match &what {
            Some(w) if ctx.check_mode || !decision.steps.is_empty() => format!("would {w}"),
            _ => String::new(),
        };
        append_warnings(&mut outcome.msg, &decision.warnings);
        if decision.steps.is_empty() && (reloads.is_empty() || ctx.check_mode) {
            return Ok(Plan::done(outcome));
        }
        Ok(Plan::change(
            outcome,
            Apply {
                spec,
                ctl,
                decision: Some(decision),
            },
        ))
    }
}

/// Ansible's argument rules, in its words.
fn validate(spec: &SystemdSpec) -> Result<(), ArgsError> {
    let bad = |detail: String| Err(ArgsError::new("systemd", detail));
    if spec.state.is_none()
        && spec.enabled.is_none()
        && spec.masked.is_none()
        && !spec.daemon_reload
        && !spec.daemon_reexec
    {
        return bad(
            "one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec"
                .into(),
        );
    }
    if spec.name.is_none() {
        for (key, given) in [
            ("state", spec.state.is_some()),
            ("enabled", spec.enabled.is_some()),
            ("masked", spec.masked.is_some()),
        ] {
            if given {
                return bad(format!("missing parameter(s) required by '{key}': name"));
            }
        }
    }
    if let Some(unit) = &spec.name
        && let Some(glob) = ["*", "?", "["].into_iter().find(|g| unit.contains(g))
    {
        return bad(format!(
            "This module does not currently support using glob patterns, found '{glob}' in service name: {unit}"
        ));
    }
    Ok(())
}

/// `systemctl` with the task's scope and flags, and the runtime directory `--user` needs.
fn systemctl(
    spec: &SystemdSpec,
    environment: &[(String, String)],
) -> Result<Systemctl, ModuleError> {
    let mut options = Vec::new();
    match spec.scope {
        Scope::System => {}
        Scope::User => options.push("--user"),
        Scope::Global => options.push("--global"),
    }
    if spec.no_block {
        options.push("--no-block");
    }
    if spec.force == Some(true) {
        options.push("--force");
    }
    let mut env = environment.to_vec();
    if env_var(environment, "XDG_RUNTIME_DIR").is_none() {
        let uid = rustix::process::geteuid().as_raw();
        env.push(("XDG_RUNTIME_DIR".into(), format!("/run/user/{uid}")));
    }
    Systemctl::with(options, env).map_err(|why| ModuleError::Failed(format!("systemd: {why}")))
}

/// The manager operations asked for, in the order they run.
fn reloads(spec: &SystemdSpec) -> Vec<&'static str> {
    let mut out = Vec::new();
    if spec.daemon_reload {
        out.push("daemon-reload");
    }
    if spec.daemon_reexec {
        out.push("daemon-reexec");
    }
    out
}

/// What the steps do, in words (`mask, enable and start unit `x``).
fn describe(spec: &SystemdSpec, steps: &[Step], reloads: &[&str]) -> Option<String> {
    let mut verbs: Vec<&str> = reloads.to_vec();
    verbs.extend(steps.iter().map(|s| s.verb()));
    let (last, rest) = verbs.split_last()?;
    let joined = if rest.is_empty() {
        (*last).to_owned()
    } else {
        format!("{} and {last}", rest.join(", "))
    };
    Some(match (&spec.name, steps.is_empty()) {
        (Some(unit), false) => format!("{joined} unit `{unit}`"),
        _ => joined,
    })
}

/// One-line diffs of the unit's changes.
fn diffs(spec: &SystemdSpec, d: &Decision) -> Vec<Diff> {
    let Some(unit) = &spec.name else {
        return Vec::new();
    };
    d.steps
        .iter()
        .map(|step| Diff {
            target: format!("unit {unit}"),
            text: match step {
                Step::Mask => "masked no -> yes".into(),
                Step::Unmask => "masked yes -> no".into(),
                Step::Enable => "enabled no -> yes".into(),
                Step::Disable => "enabled yes -> no".into(),
                Step::Run(verb) => {
                    let now = d.status.get("ActiveState").and_then(Json::as_str);
                    format!("{verb} ({} now)", now.unwrap_or("unknown"))
                }
            },
        })
        .collect()
}

/// Ansible's result keys: `name`, `status`, and `enabled`/`state` when asked about.
fn result(spec: &SystemdSpec, d: &Decision, enabled: Option<bool>) -> Map<String, Json> {
    let mut data = Map::new();
    data.insert("name".into(), Json::from(spec.name.clone()));
    data.insert("status".into(), Json::Object(d.status.clone()));
    if let Some(e) = enabled {
        data.insert("enabled".into(), Json::Bool(e));
    }
    if let Some(s) = d.state {
        data.insert("state".into(), Json::from(s));
    }
    data
}

fn append_warnings(msg: &mut String, warnings: &[String]) {
    for w in warnings {
        if !msg.is_empty() {
            msg.push_str("; ");
        }
        msg.push_str("warning: ");
        msg.push_str(w);
    }
}

/// The apply half: the manager operations, then the unit's steps in Ansible's order.
struct Apply {
    spec: SystemdSpec,
    ctl: Systemctl,
    /// Decided by check; `None` when a reload comes first and the unit is read after it.
    decision: Option<Decision>,
}

impl Action for Apply {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Apply {
            spec,
            ctl,
            decision,
        } = *self;
        let mut warnings = Vec::new();
        for op in reloads(&spec) {
            let ran = ctl.run(&[op])?;
            if ran.ok() {
                continue;
            }
            if is_chroot(ctx.environment)
                || env_var(ctx.environment, "SYSTEMD_OFFLINE").as_deref() == Some("1")
            {
                warnings.push(format!(
                    "{op} failed, but target is a chroot or systemd is offline. Continuing. Error was: {} / {}",
                    ran.rc, ran.stderr
                ));
            } else {
                return Ok(Outcome::failed(format!(
                    "failure {} during {op}: {}",
                    ran.rc, ran.stderr
                )));
            }
        }
        let mut d = match (decision, &spec.name) {
            (Some(d), _) => d,
            (None, None) => Decision::default(),
            (None, Some(unit)) => match decide(&spec, unit, &ctl, ctx.environment)? {
                Ok(d) => d,
                Err(f) => return Ok(f.outcome()),
            },
        };
        warnings.append(&mut d.warnings);
        let unit = spec.name.clone().unwrap_or_default();
        let mut enabled = d.enabled;
        let mut done = Vec::new();
        for step in d.steps.clone() {
            if matches!(step, Step::Enable | Step::Disable)
                && done.iter().any(|s| matches!(s, Step::Mask | Step::Unmask))
            {
                // Masking changes what is-enabled says: ask again, as Ansible does.
                let now = is_enabled(&spec, &unit, &ctl, d.is_initd)?;
                enabled = Some(now);
                if Some(now) == spec.enabled {
                    continue;
                }
            }
            let ran = ctl.run(&[step.verb(), &unit])?;
            if !ran.ok() {
                let verb = step.verb();
                let msg = match step {
                    Step::Mask | Step::Unmask if !d.found => {
                        format!("Could not find the requested service {unit}: host")
                    }
                    Step::Mask | Step::Unmask => format!(
                        "Failed to {verb} the service ({unit}): {}",
                        ran.stderr.trim()
                    ),
                    Step::Enable | Step::Disable => format!(
                        "Unable to {verb} service {unit}: {}{}",
                        ran.stdout, ran.stderr
                    ),
                    Step::Run(_) => format!("Unable to {verb} service {unit}: {}", ran.stderr),
                };
                return Ok(Outcome::failed(msg));
            }
            if matches!(step, Step::Enable | Step::Disable) {
                enabled = Some(step == Step::Enable);
            }
            done.push(step);
        }
        let mut msg = describe(&spec, &done, &reloads(&spec))
            .map(|w| format!("ran {w}"))
            .unwrap_or_default();
        append_warnings(&mut msg, &warnings);
        d.steps = done;
        Ok(Outcome {
            changed: !d.steps.is_empty(),
            msg,
            diffs: diffs(&spec, &d),
            data: result(&spec, &d, enabled),
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests;

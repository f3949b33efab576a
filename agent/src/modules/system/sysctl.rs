//! `sysctl` (ansible.posix): a kernel parameter's entry in a sysctl file, and optionally its
//! live value, decided as `plugins/modules/sysctl.py` of the ansible.posix collection
//! decides it (`SysctlModule.process`).
//!
//! The file is rewritten the module's way ([`conf::Conf::rewrite`]) and atomically. The live
//! value is read with `sysctl -e -n NAME` and set with `sysctl -w NAME=VALUE`, and a changed
//! file is loaded with `sysctl -p FILE`, all under `LANG=C` as the module runs them.

mod conf;

use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use self::conf::Conf;
use super::args::{bool_ish, opt_text};
use super::attrs::{AttrSpec, FileMode};
use super::content::{Before, FileWrite, read_current};
use super::group::State;
use super::{
    Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, bin_path, hostcmd, parse_args,
    path_arg,
};
use crate::diff;

/// The `sysctl` module.
pub struct Sysctl;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SysctlSpec {
    /// The dot-separated key (`vm.swappiness`).
    #[serde(alias = "key")]
    name: String,
    #[serde(default, alias = "val", deserialize_with = "opt_text")]
    value: Option<String>,
    #[serde(default)]
    state: State,
    /// Ignore unknown keys (`sysctl -e`).
    #[serde(default, deserialize_with = "bool_ish")]
    ignoreerrors: bool,
    /// Load the file with `sysctl -p` after a change.
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    reload: bool,
    #[serde(default = "default_file")]
    sysctl_file: String,
    /// Also set the live value (`sysctl -w`) when it differs.
    #[serde(default, deserialize_with = "bool_ish")]
    sysctl_set: bool,
    mode: Option<FileMode>,
    owner: Option<Json>,
    group: Option<Json>,
}

fn default_file() -> String {
    "/etc/sysctl.conf".into()
}

/// Ansible's `BOOLEANS_TRUE`/`BOOLEANS_FALSE` strings, which the module writes as `1`/`0`
/// (`_parse_value`); any other value is stripped.
fn parse_value(value: Option<&str>) -> String {
    let Some(v) = value else {
        return String::new();
    };
    match v.to_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => "1".into(),
        "n" | "no" | "off" | "0" | "false" | "f" | "0.0" => "0".into(),
        _ => v.trim().into(),
    }
}

/// The module's `_values_is_equal`: the same whitespace-separated words, in order.
fn same_value(live: Option<&str>, wanted: &str) -> bool {
    live.is_some_and(|l| l.split_whitespace().eq(wanted.split_whitespace()))
}

/// The module's `_stderr_failed`: sysctl may exit 0 and still have failed to set a key.
fn stderr_failed(err: &str) -> bool {
    err.lines().any(|l| {
        l.strip_prefix("sysctl: setting key \"")
            .is_some_and(|rest| {
                rest.split_once("\": ").is_some_and(|(key, why)| {
                    !key.is_empty()
                        && !key.contains('"')
                        && matches!(why, "Invalid argument" | "Read-only file system")
                })
            })
    })
}

/// `sysctl` with the C locale, as the module runs it (it reads sysctl's stderr).
fn sysctl(program: &PathBuf) -> Command {
    let mut c = Command::new(program);
    c.env("LANG", "C")
        .env("LC_ALL", "C")
        .env("LC_MESSAGES", "C");
    c
}

impl Module for Sysctl {
    fn name(&self) -> &'static str {
        "sysctl"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "name",
            "key",
            "value",
            "val",
            "state",
            "ignoreerrors",
            "reload",
            "sysctl_file",
            "sysctl_set",
            "mode",
            "owner",
            "group",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: SysctlSpec = parse_args("sysctl", args)?;
        let name = spec.name.trim().to_owned();
        if name.is_empty() {
            return Err(ArgsError::new("sysctl", "name cannot be blank").into());
        }
        if spec.state == State::Present {
            match spec.value.as_deref() {
                None => {
                    return Err(ArgsError::new(
                        "sysctl",
                        "state is present but all of the following are missing: value",
                    )
                    .into());
                }
                Some("") => return Err(ArgsError::new("sysctl", "value cannot be blank").into()),
                Some(_) => {}
            }
        }
        let value = parse_value(spec.value.as_deref());
        let program = bin_path::find("sysctl").map_err(ModuleError::Failed)?;
        let live = {
            let mut c = sysctl(&program);
            c.args(["-e", "-n", &name]);
            let ran = hostcmd::run(&mut c, "`sysctl -e -n`")?;
            ran.ok().then_some(ran.stdout)
        };
        let path = PathBuf::from(path_arg::expand(&spec.sysctl_file, ctx.environment));
        let before = read_current("sysctl", &path)?;
        let text = before
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let conf = Conf::parse(&text);
        let present = spec.state == State::Present;
        let in_file = conf.value(&name);
        // The module's decision, branch by branch.
        let (mut changed, write_file) = match in_file {
            None => (present, present),
            Some(v) if !present && !v.is_empty() => (true, true),
            Some(v) if v != value => (true, true),
            Some(_) => (spec.reload && !same_value(live.as_deref(), &value), false),
        };
        let mut set_live = false;
        if spec.sysctl_set && present && !same_value(live.as_deref(), &value) {
            changed = true;
            set_live = live.is_some();
        }
        let mut diffs = Vec::new();
        if set_live {
            diffs.push(diff::line(
                &format!("sysctl {name}"),
                "value",
                live.as_deref().unwrap_or_default().trim(),
                &value,
            ));
        }
        let after = if write_file {
            conf.rewrite(&name, present.then_some(value.as_str()))
                .into_bytes()
        } else {
            before.clone().unwrap_or_default()
        };
        // The file's content and attributes (`set_fs_attributes_if_different`); a file
        // that is not there and not written has none.
        let file = if write_file || before.is_some() {
            let plan = FileWrite {
                module: "sysctl",
                path: path.clone(),
                before: before.map(Before::Bytes),
                after: after.into(),
                attrs: AttrSpec {
                    mode: spec.mode.clone(),
                    owner: spec.owner.clone(),
                    group: spec.group.clone(),
                },
                default_mode: 0o644,
                backup: false,
                data: Map::new(),
                create_parents: false,
                msg: None,
                validate: None,
                follow: true,
            }
            .plan()?;
            diffs.extend(plan.outcome.diffs);
            plan.action
        } else {
            None
        };
        changed |= file.is_some();
        let shown = path.display().to_string();
        if !changed {
            return Ok(Plan::done(Outcome::ok(format!(
                "`{name}` is {} in `{shown}`",
                if present { "set" } else { "absent" }
            ))));
        }
        let mut steps = Vec::new();
        if set_live {
            steps.push(format!("set `{name}` to `{value}` with `sysctl -w`"));
        }
        if write_file {
            steps.push(if present {
                format!("write `{name}={value}` to `{shown}`")
            } else {
                format!("remove `{name}` from `{shown}`")
            });
        } else if file.is_some() {
            steps.push(format!("change attributes of `{shown}`"));
        }
        if spec.reload {
            steps.push(format!("reload `{shown}` with `sysctl -p`"));
        }
        if steps.is_empty() {
            steps.push(format!("report `{name}` changed: its live value differs"));
        }
        let outcome = Outcome {
            changed: true,
            msg: format!("would {}", steps.join(", ")),
            diffs: diffs.clone(),
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome,
            Apply {
                program,
                name,
                value,
                path: shown,
                set_live,
                file,
                reload: spec.reload,
                ignoreerrors: spec.ignoreerrors,
                msg: steps,
                diffs,
            },
        ))
    }
}

/// The apply half: the live value, then the file, then the reload, as the module orders them.
struct Apply {
    program: PathBuf,
    name: String,
    value: String,
    path: String,
    set_live: bool,
    file: Option<Box<dyn Action>>,
    reload: bool,
    ignoreerrors: bool,
    msg: Vec<String>,
    diffs: Vec<crate::wire::Diff>,
}

impl Action for Apply {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let fail = |msg: String| Ok(Outcome::failed(msg));
        if self.set_live {
            let mut c = sysctl(&self.program);
            if self.ignoreerrors {
                c.arg("-e");
            }
            c.arg("-w").arg(format!("{}={}", self.name, self.value));
            let ran = hostcmd::run(&mut c, "`sysctl -w`")?;
            if !ran.ok() || stderr_failed(&ran.stderr) {
                return fail(format!(
                    "setting {} failed: {}{}",
                    self.name, ran.stdout, ran.stderr
                ));
            }
        }
        if let Some(file) = self.file {
            let o = file.apply(ctx)?;
            if o.failed {
                return Ok(o);
            }
        }
        if self.reload {
            let mut c = sysctl(&self.program);
            if self.ignoreerrors {
                c.arg("-e");
            }
            c.arg("-p").arg(&self.path);
            let ran = hostcmd::run(&mut c, "`sysctl -p`")?;
            if !ran.ok() || stderr_failed(&ran.stderr) {
                return fail(format!(
                    "Failed to reload sysctl: {}{}",
                    ran.stdout, ran.stderr
                ));
            }
        }
        let done: Vec<String> = self.msg.iter().map(|s| past(s)).collect();
        Ok(Outcome {
            changed: true,
            msg: done.join(", "),
            diffs: self.diffs,
            ..Outcome::default()
        })
    }
}

/// A planned step in the past tense.
fn past(step: &str) -> String {
    for (now, then) in [
        ("set ", "set "),
        ("write ", "wrote "),
        ("remove ", "removed "),
        ("change ", "changed "),
        ("reload ", "reloaded "),
        ("report ", "reported "),
    ] {
        if let Some(rest) = step.strip_prefix(now) {
            return format!("{then}{rest}");
        }
    }
    step.to_owned()
}

#[cfg(test)]
mod tests;

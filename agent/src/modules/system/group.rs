//! `group`: a local group present (with a gid) or absent, through the host's `groupadd`,
//! `groupmod` and `groupdel`, with Ansible's arguments and result keys.
//!
//! State is read from `/etc/group` ([`accounts`]); `local: true` (libuser's `lgroupadd`)
//! is refused: dr drives the shadow tools only.

use std::process::Command;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::bool_ish;
use super::hostcmd;
use super::{
    Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, accounts, bin_path, parse_args,
};
use crate::wire::Diff;

/// The `group` module.
pub struct Group;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSpec {
    name: String,
    #[serde(default)]
    state: State,
    #[serde(default, deserialize_with = "accounts::opt_id")]
    gid: Option<u32>,
    /// Create a system group (`groupadd -r`).
    #[serde(default, deserialize_with = "bool_ish")]
    system: bool,
    /// `groupdel -f`: remove even a user's primary group.
    #[serde(default, deserialize_with = "bool_ish")]
    force: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    local: bool,
    /// Allow a gid another group has (`-o`).
    #[serde(default, deserialize_with = "bool_ish")]
    non_unique: bool,
    #[serde(default, deserialize_with = "accounts::opt_id")]
    gid_min: Option<u32>,
    #[serde(default, deserialize_with = "accounts::opt_id")]
    gid_max: Option<u32>,
}

/// `state` of `group` and `user`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(in crate::modules) enum State {
    #[default]
    Present,
    Absent,
}

impl State {
    pub(in crate::modules) fn name(self) -> &'static str {
        match self {
            State::Present => "present",
            State::Absent => "absent",
        }
    }
}

/// What `check` found to do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    /// `groupadd`.
    Add,
    /// `groupmod -g`: from the current gid to the wanted one.
    Gid(u32, u32),
    /// `groupdel`.
    Delete,
}

impl Change {
    /// What it does, in the present and the past tense (`create`, `created`).
    fn verbs(&self) -> (&'static str, &'static str) {
        match self {
            Change::Add => ("create", "created"),
            Change::Gid(..) => ("change the gid of", "changed the gid of"),
            Change::Delete => ("remove", "removed"),
        }
    }

    /// The one-line diff.
    fn diff(&self, gid: Option<u32>) -> String {
        match (self, gid) {
            (Change::Add, Some(gid)) => format!("state absent -> present (gid {gid})"),
            (Change::Add, None) => "state absent -> present".into(),
            (Change::Gid(from, to), _) => format!("gid {from} -> {to}"),
            (Change::Delete, _) => "state present -> absent".into(),
        }
    }
}

impl Module for Group {
    fn name(&self) -> &'static str {
        "group"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "name",
            "state",
            "gid",
            "system",
            "force",
            "local",
            "non_unique",
            "gid_min",
            "gid_max",
        ]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: GroupSpec = parse_args("group", args)?;
        validate(&spec)?;
        let current = accounts::groups()
            .map_err(|e| ModuleError::io("cannot read", "/etc/group", e))?
            .into_iter()
            .find(|g| g.name == spec.name);
        let change = match (&current, spec.state) {
            (None, State::Present) => Some(Change::Add),
            (Some(g), State::Present) => spec
                .gid
                .filter(|gid| *gid != g.gid)
                .map(|gid| Change::Gid(g.gid, gid)),
            (Some(_), State::Absent) => Some(Change::Delete),
            (None, State::Absent) => None,
        };
        let Some(change) = change else {
            let mut o = Outcome::ok(format!("group `{}` is {}", spec.name, spec.state.name()));
            o.data = result(&spec, current.as_ref());
            return Ok(Plan::done(o));
        };
        let outcome = Outcome {
            changed: true,
            msg: format!("would {} group `{}`", change.verbs().0, spec.name),
            diffs: vec![Diff {
                target: format!("group {}", spec.name),
                text: change.diff(spec.gid),
            }],
            // As Ansible: check mode reports the current gid of a group it would modify,
            // and nothing but the change for one it would create or remove.
            data: match change {
                Change::Gid(..) => result(&spec, current.as_ref()),
                _ => Map::new(),
            },
            ..Outcome::default()
        };
        let command = command(&spec, &change)?;
        Ok(Plan::change(
            outcome,
            Apply {
                spec,
                command,
                change,
            },
        ))
    }
}

/// Refuses what the module cannot do, before anything is read.
fn validate(spec: &GroupSpec) -> Result<(), ArgsError> {
    let bad = |detail: &str| Err(ArgsError::new("group", detail));
    if spec.local {
        return bad(
            "`local: true` (libuser's `lgroupadd`) is not supported by dr; it manages groups with groupadd/groupmod/groupdel",
        );
    }
    if spec.non_unique && spec.gid.is_none() {
        return bad("`non_unique: true` needs `gid`");
    }
    if spec.name.is_empty() || spec.name.contains([':', ',', '\n']) {
        return bad(&format!("`{}` is not a valid group name", spec.name));
    }
    Ok(())
}

/// The command that makes `change`.
fn command(spec: &GroupSpec, change: &Change) -> Result<Command, ModuleError> {
    let tool = |name: &str| bin_path::find(name).map_err(ModuleError::Failed);
    let mut cmd;
    match change {
        Change::Add => {
            cmd = Command::new(tool("groupadd")?);
            if let Some(gid) = spec.gid {
                cmd.arg("-g").arg(gid.to_string());
                if spec.non_unique {
                    cmd.arg("-o");
                }
            }
            if spec.system {
                cmd.arg("-r");
            }
            if let Some(min) = spec.gid_min {
                cmd.arg("-K").arg(format!("GID_MIN={min}"));
            }
            if let Some(max) = spec.gid_max {
                cmd.arg("-K").arg(format!("GID_MAX={max}"));
            }
        }
        Change::Gid(_, gid) => {
            cmd = Command::new(tool("groupmod")?);
            cmd.arg("-g").arg(gid.to_string());
            if spec.non_unique {
                cmd.arg("-o");
            }
        }
        Change::Delete => {
            cmd = Command::new(tool("groupdel")?);
            if spec.force {
                cmd.arg("-f");
            }
        }
    }
    cmd.arg(&spec.name);
    Ok(cmd)
}

/// The registered keys Ansible's `group` returns besides `changed`.
fn result(spec: &GroupSpec, group: Option<&accounts::Group>) -> Map<String, Json> {
    let mut data = Map::new();
    data.insert("name".into(), Json::from(spec.name.clone()));
    data.insert("state".into(), Json::from(spec.state.name()));
    if let Some(g) = group {
        data.insert("system".into(), Json::Bool(spec.system));
        data.insert("gid".into(), Json::from(g.gid));
    }
    data
}

/// The apply half: one command.
struct Apply {
    spec: GroupSpec,
    command: Command,
    change: Change,
}

impl Action for Apply {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Apply {
            spec,
            mut command,
            change,
        } = *self;
        let (verb, done) = change.verbs();
        let what = format!("`{}` for group `{}`", program(&command), spec.name);
        let ran = hostcmd::run(&mut command, &what)?;
        if !ran.ok() {
            let mut o = Outcome::failed(format!(
                "cannot {verb} group `{}` (exit {}): {}",
                spec.name,
                ran.rc,
                ran.why()
            ));
            o.data.insert("name".into(), Json::from(spec.name.clone()));
            return Ok(o);
        }
        let now = accounts::group_named(&spec.name);
        let mut data = result(&spec, now.as_ref());
        output_keys(&mut data, &ran);
        Ok(Outcome {
            changed: true,
            msg: format!("{done} group `{}`", spec.name),
            diffs: vec![Diff {
                target: format!("group {}", spec.name),
                text: change.diff(spec.gid),
            }],
            data,
            ..Outcome::default()
        })
    }
}

/// `stdout` and `stderr` when the tool printed something, and split into lines, as
/// Ansible reports them.
pub(in crate::modules) fn output_keys(data: &mut Map<String, Json>, ran: &hostcmd::Ran) {
    for (key, text) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
        if !text.is_empty() {
            let lines: Vec<Json> = text.lines().map(Json::from).collect();
            data.insert(key.into(), Json::from(text.clone()));
            data.insert(format!("{key}_lines"), Json::Array(lines));
        }
    }
}

/// The program's file name, for messages.
pub(in crate::modules) fn program(cmd: &Command) -> String {
    std::path::Path::new(cmd.get_program())
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests;

//! `compose`: bring a Docker Compose project (or some of its services) up, restart, stop or
//! remove it, saying per service what would change and why.
//!
//! "Why" comes from what compose itself records: the `com.docker.compose.config-hash` label
//! on each container against `config --hash '*'` now (the compose file, or an env file it
//! interpolates or loads, changed → recreate), and the env file's modification time against
//! the container's start (changed after start → restart, for apps that read it at start).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::bool_ish;
use super::compose_cli::{self, Container, Project};
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::wire::Diff;

/// The `compose` module.
pub struct Compose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComposeSpec {
    project_src: String,
    #[serde(default)]
    files: Vec<String>,
    project_name: Option<String>,
    #[serde(default)]
    state: State,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    remove_orphans: bool,
    env_file: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Restarted,
    Stopped,
    Absent,
}

/// What happens to one service (or orphan container).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Create,
    Recreate,
    Start,
    Restart,
    Stop,
    Remove,
}

impl Step {
    fn verb(self) -> &'static str {
        match self {
            Step::Create => "create",
            Step::Recreate => "recreate",
            Step::Start => "start",
            Step::Restart => "restart",
            Step::Stop => "stop",
            Step::Remove => "remove",
        }
    }
}

/// The plan for one service: the step and the reason.
#[derive(Debug, Clone)]
struct Change {
    service: String,
    step: Step,
    why: String,
}

impl Module for Compose {
    fn name(&self) -> &'static str {
        "compose"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "project_src",
            "files",
            "project_name",
            "state",
            "services",
            "remove_orphans",
            "env_file",
        ]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: ComposeSpec = parse_args("compose", args)?;
        let dir = PathBuf::from(&spec.project_src);
        if !dir.is_dir() {
            return Err(ModuleError::Failed(format!(
                "compose: `project_src` `{}` is not a directory",
                dir.display()
            )));
        }
        let env_path = spec
            .env_file
            .as_ref()
            .map(|e| dir.join(e))
            .or_else(|| Some(dir.join(".env")).filter(|p| p.is_file()));
        let name = match &spec.project_name {
            Some(n) => n.clone(),
            None => env_path
                .as_deref()
                .and_then(project_name_from_env)
                .unwrap_or_else(|| compose_cli::default_name(&dir)),
        };
        if name.is_empty() {
            return Err(ArgsError::new(
                "compose",
                "cannot derive a project name: give `project_name`",
            )
            .into());
        }
        let project = Project {
            program: compose_cli::detect()?,
            name,
            files: spec.files.iter().map(|f| dir.join(f)).collect(),
            env_file: spec.env_file.as_ref().map(|e| dir.join(e)),
            dir,
        };
        let desired = project.desired_hashes()?;
        for s in &spec.services {
            if !desired.contains_key(s) {
                let known: Vec<&str> = desired.keys().map(String::as_str).collect();
                return Err(ModuleError::Failed(format!(
                    "compose: project `{}` has no service `{s}` (services: {})",
                    project.name,
                    known.join(", ")
                )));
            }
        }
        let targets: Vec<String> = if spec.services.is_empty() {
            desired.keys().cloned().collect()
        } else {
            spec.services.clone()
        };
        let containers = project.containers()?;
        let env_mtime = env_path.as_deref().and_then(mtime);
        let env_name = env_path
            .as_deref()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let changes = plan_changes(&spec, &targets, &desired, &containers, env_mtime, &env_name);
        let mut data = Map::new();
        data.insert("project".into(), Json::from(project.name.clone()));
        if changes.is_empty() {
            let mut o = Outcome::ok(match spec.state {
                State::Present => format!("project `{}`: all services up to date", project.name),
                State::Stopped => format!("project `{}`: services already stopped", project.name),
                State::Absent => format!("project `{}`: no containers", project.name),
                State::Restarted => format!("project `{}`: nothing to restart", project.name),
            });
            data.insert("services".into(), services_json(&containers));
            o.data = data;
            return Ok(Plan::done(o));
        }
        let lines: Vec<String> = changes
            .iter()
            .map(|c| format!("would {} `{}`: {}", c.step.verb(), c.service, c.why))
            .collect();
        let mut actions = Map::new();
        for c in &changes {
            actions.insert(c.service.clone(), Json::from(c.step.verb()));
        }
        data.insert("actions".into(), Json::Object(actions));
        let outcome = Outcome {
            changed: true,
            msg: lines.join("; "),
            diffs: changes
                .iter()
                .map(|c| Diff {
                    target: format!("service {}", c.service),
                    text: format!("{}: {}", c.step.verb(), c.why),
                })
                .collect(),
            data,
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome,
            Apply {
                project,
                state: spec.state,
                explicit: !spec.services.is_empty(),
                targets,
                remove_orphans: spec.remove_orphans,
                changes,
            },
        ))
    }
}

/// `COMPOSE_PROJECT_NAME` from the env file, as compose itself reads it.
fn project_name_from_env(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        let v = l.trim().strip_prefix("COMPOSE_PROJECT_NAME=")?;
        Some(v.trim().trim_matches(['"', '\'']).to_owned()).filter(|v| !v.is_empty())
    })
}

fn mtime(p: &Path) -> Option<f64> {
    let t = std::fs::metadata(p).ok()?.modified().ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_secs_f64())
}

/// Decides each target service's step from the desired hashes and the containers.
fn plan_changes(
    spec: &ComposeSpec,
    targets: &[String],
    desired: &BTreeMap<String, String>,
    containers: &[Container],
    env_mtime: Option<f64>,
    env_name: &str,
) -> Vec<Change> {
    let mut out = Vec::new();
    let change = |service: &str, step: Step, why: String| Change {
        service: service.to_owned(),
        step,
        why,
    };
    let env_newer = |c: &Container| matches!((env_mtime, c.started), (Some(m), Some(s)) if m > s);
    for svc in targets {
        let mine: Vec<&Container> = containers.iter().filter(|c| &c.service == svc).collect();
        let want = desired.get(svc).map(String::as_str).unwrap_or("");
        match spec.state {
            State::Present | State::Restarted => {
                let Some(c) = mine.first() else {
                    out.push(change(svc, Step::Create, "no container yet".into()));
                    continue;
                };
                if !want.is_empty() && mine.iter().any(|c| c.hash != want) {
                    let why = if mine.iter().any(|c| env_newer(c)) {
                        format!(
                            "env file `{env_name}` changed (config hash {} -> {})",
                            short(&c.hash),
                            short(want)
                        )
                    } else {
                        format!(
                            "compose file or image changed (config hash {} -> {})",
                            short(&c.hash),
                            short(want)
                        )
                    };
                    out.push(change(svc, Step::Recreate, why));
                } else if spec.state == State::Restarted {
                    let why = if mine.iter().any(|c| env_newer(c)) {
                        format!("restart requested; env file `{env_name}` changed since it started")
                    } else {
                        "restart requested".to_owned()
                    };
                    out.push(change(svc, Step::Restart, why));
                } else if mine.iter().any(|c| !c.running) {
                    out.push(change(svc, Step::Start, "not running".into()));
                } else if mine.iter().any(|c| env_newer(c)) {
                    out.push(change(
                        svc,
                        Step::Restart,
                        format!("env file `{env_name}` changed after it started"),
                    ));
                }
            }
            State::Stopped => {
                if mine.iter().any(|c| c.running) {
                    out.push(change(svc, Step::Stop, "running".into()));
                }
            }
            State::Absent => {
                if !mine.is_empty() {
                    out.push(change(
                        svc,
                        Step::Remove,
                        format!("{} container(s) exist", mine.len()),
                    ));
                }
            }
        }
    }
    let orphans_go =
        spec.remove_orphans && spec.services.is_empty() && spec.state != State::Stopped;
    if orphans_go || (spec.state == State::Absent && spec.services.is_empty()) {
        let mut seen = Vec::new();
        for c in containers {
            if !desired.contains_key(&c.service) && !seen.contains(&c.service) {
                seen.push(c.service.clone());
                out.push(change(
                    &c.service,
                    Step::Remove,
                    "orphan: no longer in the compose file".into(),
                ));
            }
        }
    }
    out
}

fn short(hash: &str) -> &str {
    if hash.is_empty() {
        "none"
    } else {
        &hash[..hash.len().min(12)]
    }
}

fn services_json(containers: &[Container]) -> Json {
    let mut m = Map::new();
    for c in containers {
        let mut e = Map::new();
        e.insert("service".into(), Json::from(c.service.clone()));
        e.insert("running".into(), Json::Bool(c.running));
        e.insert("config_hash".into(), Json::from(c.hash.clone()));
        m.insert(c.name.clone(), Json::Object(e));
    }
    Json::Object(m)
}

/// The apply half: the compose commands for exactly the planned steps.
struct Apply {
    project: Project,
    state: State,
    /// `services:` was given: touch only those (no dependencies, no orphans).
    explicit: bool,
    targets: Vec<String>,
    remove_orphans: bool,
    changes: Vec<Change>,
}

impl Action for Apply {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let p = &self.project;
        let of = |steps: &[Step]| -> Vec<&str> {
            self.changes
                .iter()
                .filter(|c| steps.contains(&c.step))
                .map(|c| c.service.as_str())
                .collect()
        };
        match self.state {
            State::Present | State::Restarted => {
                let up = of(&[Step::Create, Step::Recreate, Step::Start]);
                let orphans = !of(&[Step::Remove]).is_empty();
                if !up.is_empty() || orphans {
                    let mut args = vec!["up", "-d"];
                    if self.remove_orphans {
                        args.push("--remove-orphans");
                    }
                    if self.explicit || self.state == State::Restarted {
                        args.push("--no-deps");
                        args.extend(if self.explicit {
                            up.clone()
                        } else {
                            self.targets.iter().map(String::as_str).collect()
                        });
                    }
                    p.run(&args)?;
                }
                let restart = of(&[Step::Restart]);
                if !restart.is_empty() {
                    let mut args = vec!["restart"];
                    args.extend(restart);
                    p.run(&args)?;
                }
            }
            State::Stopped => {
                let mut args = vec!["stop"];
                args.extend(of(&[Step::Stop]));
                p.run(&args)?;
            }
            State::Absent if !self.explicit => {
                let mut args = vec!["down"];
                if self.remove_orphans {
                    args.push("--remove-orphans");
                }
                p.run(&args)?;
                // Orphans of a removed project go too: nothing of it should stay.
                let left = p.containers()?;
                if !left.is_empty() {
                    let names: Vec<&str> = left.iter().map(|c| c.name.as_str()).collect();
                    let mut c = std::process::Command::new("docker");
                    c.args(["rm", "-f"]).args(&names);
                    super::hostcmd::run_ok(
                        &mut c,
                        &format!("`docker rm -f` in project `{}`", p.name),
                    )?;
                }
            }
            State::Absent => {
                let mut args = vec!["rm", "-s", "-f"];
                args.extend(of(&[Step::Remove]));
                p.run(&args)?;
            }
        }
        let mut data = Map::new();
        data.insert("project".into(), Json::from(p.name.clone()));
        let mut actions = Map::new();
        for c in &self.changes {
            actions.insert(c.service.clone(), Json::from(c.step.verb()));
        }
        data.insert("actions".into(), Json::Object(actions));
        data.insert("services".into(), services_json(&p.containers()?));
        let done: Vec<String> = self
            .changes
            .iter()
            .map(|c| format!("{} `{}` ({})", c.step.verb(), c.service, c.why))
            .collect();
        Ok(Outcome {
            changed: true,
            msg: done.join("; "),
            data,
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests;

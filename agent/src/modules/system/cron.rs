//! `cron`: a job (under a `#Ansible: NAME` comment) or an environment variable in a user's
//! crontab (read and installed with `crontab`, as Ansible does) or in a file such as
//! `/etc/cron.d/NAME` (written directly, atomically). The edits, the `changed` rule, the
//! results (`jobs`, `envs`, `cron_file`, `backup_file`) and the messages are Ansible's.

mod table;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_text};
use super::hostcmd;
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::diff;
use crate::fsutil::{self, Attrs, Db};
use table::Table;

/// The `cron` module.
pub struct Cron;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CronSpec {
    #[serde(deserialize_with = "opt_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    user: Option<String>,
    #[serde(default, alias = "value", deserialize_with = "opt_text")]
    job: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    cron_file: Option<String>,
    #[serde(default)]
    state: State,
    #[serde(default, deserialize_with = "bool_ish")]
    backup: bool,
    #[serde(default, deserialize_with = "opt_text")]
    minute: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    hour: Option<String>,
    #[serde(default, alias = "dom", deserialize_with = "opt_text")]
    day: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    month: Option<String>,
    #[serde(default, alias = "dow", deserialize_with = "opt_text")]
    weekday: Option<String>,
    special_time: Option<Special>,
    #[serde(default, deserialize_with = "bool_ish")]
    disabled: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    env: bool,
    #[serde(default, deserialize_with = "opt_text")]
    insertafter: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    insertbefore: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Special {
    Reboot,
    Yearly,
    Annually,
    Monthly,
    Weekly,
    Daily,
    Hourly,
}

/// Where the crontab lives.
#[derive(Debug, Clone)]
enum Place {
    /// A file written directly.
    File(PathBuf),
    /// The crontab of a user (`None`: the agent's own), through `crontab`.
    User(Option<String>),
}

impl Place {
    fn header(&self) -> String {
        match self {
            Place::File(p) => p.display().to_string(),
            Place::User(Some(u)) => format!("crontab for user \"{u}\""),
            Place::User(None) => "crontab".to_owned(),
        }
    }
}

impl Module for Cron {
    fn name(&self) -> &'static str {
        "cron"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "name",
            "user",
            "job",
            "value",
            "cron_file",
            "state",
            "backup",
            "minute",
            "hour",
            "day",
            "dom",
            "month",
            "weekday",
            "dow",
            "special_time",
            "disabled",
            "env",
            "insertafter",
            "insertbefore",
        ]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: CronSpec = parse_args("cron", args)?;
        let fail = |m: &str| Err(ModuleError::Failed(m.to_owned()));
        let Some(name) = spec.name.clone() else {
            return fail("missing required arguments: name");
        };
        if spec.insertafter.is_some() && spec.insertbefore.is_some() {
            return fail("parameters are mutually exclusive: insertafter|insertbefore");
        }
        let place = match &spec.cron_file {
            Some(f) if f == "/etc/crontab" => {
                return fail("Will not manage /etc/crontab via cron_file, see documentation.");
            }
            Some(f) if Path::new(f).is_absolute() => Place::File(PathBuf::from(f)),
            Some(f) => Place::File(Path::new("/etc/cron.d").join(f)),
            None => Place::User(spec.user.clone()),
        };
        let existing = read(&place)?;
        let mut table = Table::parse(&existing);
        let before = table.render();
        let times = [
            &spec.minute,
            &spec.hour,
            &spec.day,
            &spec.month,
            &spec.weekday,
        ]
        .map(|t| t.clone().unwrap_or_else(|| "*".to_owned()));
        if spec.special_time.is_some() && times.iter().any(|t| t != "*") {
            return fail(
                "You cannot combine special_time with any of the time or day/date parameters.",
            );
        }
        let install = spec.state == State::Present;
        if install {
            if spec.cron_file.is_some() && spec.user.is_none() {
                return fail("To use cron_file=... parameter you must specify user=... as well");
            }
            if spec.job.is_none() {
                return fail("You must specify 'job' to install a new cron job or variable");
            }
            if (spec.insertafter.is_some() || spec.insertbefore.is_some()) && !spec.env {
                return fail("Insertafter and insertbefore parameters are valid only with env=yes");
            }
        }
        let job_text = spec.job.clone().unwrap_or_default();
        let mut changed = false;
        if spec.env {
            if name.contains(' ') {
                return fail("Invalid name for environment variable");
            }
            let decl = format!("{name}=\"{job_text}\"");
            let old = table.find_env(&name);
            match (install, old) {
                (true, None) => {
                    table
                        .add_env(
                            &decl,
                            spec.insertafter.as_deref(),
                            spec.insertbefore.as_deref(),
                        )
                        .map_err(ModuleError::Failed)?;
                    changed = true;
                }
                (true, Some((_, line))) if line != decl => {
                    table.update_env(&name, Some(&decl));
                    changed = true;
                }
                (false, Some(_)) => {
                    table.update_env(&name, None);
                    changed = true;
                }
                _ => {}
            }
        } else if install {
            let line = cron_line(&spec, &times, &place);
            let old = table.find_job(&name, Some(&line));
            if old.is_empty() {
                table.add_job(&name, &line);
                changed = true;
            } else if old[1] != line || old.len() > 2 {
                table.update_job(&name, Some(&line));
                changed = true;
            }
        } else if !table.find_job(&name, None).is_empty() {
            table.update_job(&name, None);
            changed = true;
            if let Place::File(path) = &place
                && table.is_empty()
            {
                return Ok(remove_file_plan(path, &spec, &before));
            }
        }
        if !changed && !existing.is_empty() && !existing.ends_with(['\r', '\n']) {
            changed = true;
        }
        let mut data = Map::new();
        data.insert("jobs".into(), Json::from(table.job_names()));
        data.insert("envs".into(), Json::from(table.env_names()));
        if let Some(f) = &spec.cron_file {
            data.insert("cron_file".into(), Json::from(f.clone()));
        }
        let after = table.render();
        if !changed {
            let mut outcome = Outcome::ok(format!("{} is up to date", place.header()));
            outcome.data = data;
            return Ok(Plan::done(outcome));
        }
        let outcome = Outcome {
            changed: true,
            msg: format!("would update {}", place.header()),
            diffs: vec![diff::content(
                &place.header(),
                Some(existing.as_bytes()),
                after.as_bytes(),
            )],
            data: data.clone(),
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome,
            Install {
                place,
                text: after,
                backup: spec.backup.then_some(before),
                data,
            },
        ))
    }
}

/// The job's line: `[#]MIN HOUR DAY MONTH WEEKDAY [USER] JOB` or `[#]@SPECIAL [USER] JOB`
/// (the user only in a cron file).
fn cron_line(spec: &CronSpec, times: &[String; 5], place: &Place) -> String {
    let job = spec.job.as_deref().unwrap_or_default();
    let job = job.trim_matches(['\r', '\n']);
    let disabled = if spec.disabled { "#" } else { "" };
    let user = match (place, &spec.user) {
        (Place::File(_), Some(u)) => format!(" {u}"),
        _ => String::new(),
    };
    match spec.special_time {
        Some(s) => {
            let special = format!("{s:?}").to_ascii_lowercase();
            format!("{disabled}@{special}{user} {job}")
        }
        None => format!("{disabled}{}{user} {job}", times.join(" ")),
    }
}

/// Removing the last job of a cron file removes the file.
fn remove_file_plan(path: &Path, spec: &CronSpec, before: &str) -> Plan {
    let mut data = Map::new();
    if let Some(f) = &spec.cron_file {
        data.insert("cron_file".into(), Json::from(f.clone()));
    }
    data.insert("state".into(), Json::from("absent"));
    if !path.is_file() {
        let mut outcome = Outcome::ok(format!("`{}` is already gone", path.display()));
        outcome.data = data;
        return Plan::done(outcome);
    }
    let shown = path.display().to_string();
    let outcome = Outcome {
        changed: true,
        msg: format!("would remove `{shown}`, its last job gone"),
        diffs: vec![diff::content(&shown, Some(before.as_bytes()), b"")],
        data: data.clone(),
        ..Outcome::default()
    };
    Plan::change(outcome, RemoveFile(path.to_path_buf(), data))
}

/// The crontab's text: a file's bytes (empty when missing), or `crontab -l` without the
/// header lines `crontab` adds.
fn read(place: &Place) -> Result<String, ModuleError> {
    let user = match place {
        Place::File(p) => {
            return match std::fs::read(p) {
                Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
                Err(_) => Ok(String::new()),
            };
        }
        Place::User(u) => u,
    };
    let ran = hostcmd::run(crontab(user.as_deref())?.arg("-l"), "`crontab -l`")?;
    if ran.rc != 0 && ran.rc != 1 {
        return Err(ModuleError::Failed(format!(
            "Unable to read crontab: {}",
            ran.why()
        )));
    }
    Ok(strip_headers(&ran.stdout))
}

/// `crontab -l` output without the first lines some crontabs add (`# DO NOT EDIT THIS
/// FILE`, `# (/tmp/... installed on ...)`, `# (... version ...)`), as Ansible removes them.
fn strip_headers(out: &str) -> String {
    let mut text = out.to_owned();
    for l in table::split_lines(out).iter().take(3) {
        let header = l.starts_with("# DO NOT EDIT THIS FILE - edit the master and reinstall.")
            || (l.starts_with("# (/tmp/") && l.contains("installed on"))
            || (l.starts_with("# (") && l.contains("version"));
        if header && let Some(i) = text.find(l.as_str()) {
            let mut end = i + l.len();
            if text[end..].starts_with(['\r', '\n']) {
                end += 1;
            }
            text.replace_range(i..end, "");
        }
    }
    text
}

/// `crontab`, with `-u USER` when that is not the agent's own user.
fn crontab(user: Option<&str>) -> Result<Command, ModuleError> {
    let program = super::bin_path::find("crontab")
        .map_err(|why| ModuleError::Failed(format!("{why} (the `cron` package installs it)")))?;
    let mut cmd = Command::new(program);
    let me = fsutil::id_name(Db::User, rustix::process::geteuid().as_raw());
    if let Some(u) = user
        && u != me
    {
        cmd.arg("-u").arg(u);
    }
    Ok(cmd)
}

/// Writes the new crontab (after a backup of the old one when asked).
struct Install {
    place: Place,
    text: String,
    backup: Option<String>,
    /// The result's keys (`jobs`, `envs`, `cron_file`).
    data: Map<String, Json>,
}

impl Action for Install {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let mut data = self.data.clone();
        if let Some(old) = &self.backup {
            let file = tempfile::Builder::new()
                .prefix("crontab")
                .tempfile()
                .and_then(|f| f.keep().map_err(|e| e.error))
                .map_err(|e| ModuleError::io("cannot create", "a backup file", e))?;
            std::fs::write(&file.1, old)
                .map_err(|e| ModuleError::io("cannot write", file.1.display(), e))?;
            data.insert(
                "backup_file".into(),
                Json::from(file.1.display().to_string()),
            );
        }
        match &self.place {
            Place::File(path) => {
                let keep = std::fs::metadata(path).ok().map(|m| {
                    use std::os::unix::fs::PermissionsExt as _;
                    m.permissions().mode() & 0o7777
                });
                let attrs = Attrs {
                    mode: keep,
                    ..Attrs::default()
                };
                fsutil::write_atomic(path, self.text.as_bytes(), attrs, 0o644)
                    .map_err(|e| ModuleError::io("cannot write", path.display(), e))?;
            }
            Place::User(user) => {
                let mut cmd = crontab(user.as_deref())?;
                cmd.arg("-");
                let ran = hostcmd::run_with_stdin(&mut cmd, self.text.as_bytes(), "`crontab`")?;
                if !ran.ok() {
                    return Err(ModuleError::Failed(format!(
                        "Failed to install new cronfile: {}",
                        ran.why()
                    )));
                }
            }
        }
        Ok(Outcome {
            changed: true,
            msg: format!("updated {}", self.place.header()),
            data,
            ..Outcome::default()
        })
    }
}

/// Removes a cron file whose last job was removed.
struct RemoveFile(PathBuf, Map<String, Json>);

impl Action for RemoveFile {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let changed = std::fs::remove_file(&self.0).is_ok();
        Ok(Outcome {
            changed,
            msg: format!("removed `{}`", self.0.display()),
            data: self.1,
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests;

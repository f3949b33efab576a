//! Talking to Docker Compose for `compose`: `docker compose` (v2) or `docker-compose` (v1),
//! the project's desired config hashes, and the containers compose created.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use super::ModuleError;
use super::hostcmd::{self, Ran};

/// One compose project, as the CLI sees it.
#[derive(Debug, Clone)]
pub(super) struct Project {
    /// `["docker", "compose"]` or `["docker-compose"]`.
    pub program: Vec<String>,
    /// The project name (`-p`).
    pub name: String,
    /// The project directory.
    pub dir: PathBuf,
    /// Compose files (`-f`), empty for compose's defaults.
    pub files: Vec<PathBuf>,
    /// `--env-file`, when given explicitly.
    pub env_file: Option<PathBuf>,
}

/// A container compose created for a service.
#[derive(Debug, Clone)]
pub(super) struct Container {
    /// Container name.
    pub name: String,
    /// The service label.
    pub service: String,
    /// The `com.docker.compose.config-hash` label.
    pub hash: String,
    /// Whether it runs.
    pub running: bool,
    /// When it last started, seconds since the epoch.
    pub started: Option<f64>,
}

/// `docker compose` when the plugin answers, else `docker-compose`.
pub(super) fn detect() -> Result<Vec<String>, ModuleError> {
    let v2 = hostcmd::run(
        Command::new("docker").args(["compose", "version"]),
        "`docker compose version`",
    );
    if v2.is_ok_and(|r| r.ok()) {
        return Ok(vec!["docker".into(), "compose".into()]);
    }
    let v1 = hostcmd::run(
        Command::new("docker-compose").arg("version"),
        "`docker-compose version`",
    );
    if v1.is_ok_and(|r| r.ok()) {
        return Ok(vec!["docker-compose".into()]);
    }
    Err(ModuleError::Failed(
        "neither `docker compose` nor `docker-compose` works on this host: install the compose plugin or `docker-compose`".into(),
    ))
}

impl Project {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.program[0]);
        c.args(&self.program[1..]).current_dir(&self.dir);
        c.arg("-p").arg(&self.name);
        c.arg("--project-directory").arg(&self.dir);
        for f in &self.files {
            c.arg("-f").arg(f);
        }
        if let Some(e) = &self.env_file {
            c.arg("--env-file").arg(e);
        }
        c.args(args);
        c
    }

    /// Runs a compose subcommand; fails naming the project when it exits non-zero.
    pub fn run(&self, args: &[&str]) -> Result<Ran, ModuleError> {
        let what = format!(
            "`{} {}` for project `{}` in `{}`",
            self.program.join(" "),
            args.join(" "),
            self.name,
            self.dir.display()
        );
        hostcmd::run_ok(&mut self.command(args), &what)
    }

    /// Service name → the config hash compose would record for it now.
    pub fn desired_hashes(&self) -> Result<BTreeMap<String, String>, ModuleError> {
        let services = self.run(&["config", "--services"])?;
        let hashes = self.run(&["config", "--hash", "*"])?;
        let mut out: BTreeMap<String, String> = services
            .stdout
            .lines()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| (s.to_owned(), String::new()))
            .collect();
        for line in hashes.stdout.lines() {
            if let Some((svc, hash)) = line.trim().split_once(' ')
                && let Some(slot) = out.get_mut(svc)
            {
                *slot = hash.trim().to_owned();
            }
        }
        Ok(out)
    }

    /// The containers of this project (one-off `run` containers excluded).
    pub fn containers(&self) -> Result<Vec<Container>, ModuleError> {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        let what = format!("`docker ps` for project `{}`", self.name);
        let ids = hostcmd::run_ok(
            Command::new("docker").args(["ps", "-a", "-q", "--no-trunc", "--filter", &filter]),
            &what,
        )?;
        let ids: Vec<&str> = ids.stdout.split_whitespace().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let what = format!("`docker inspect` for project `{}`", self.name);
        let ran = hostcmd::run_ok(Command::new("docker").arg("inspect").args(&ids), &what)?;
        let all: Vec<Json> = serde_json::from_str(&ran.stdout)
            .map_err(|e| ModuleError::Failed(format!("{what}: unexpected output: {e}")))?;
        let mut out = Vec::new();
        for c in all {
            let label = |k: &str| c["Config"]["Labels"][k].as_str().unwrap_or("").to_owned();
            if label("com.docker.compose.oneoff").eq_ignore_ascii_case("true") {
                continue;
            }
            out.push(Container {
                name: c["Name"]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches('/')
                    .to_owned(),
                service: label("com.docker.compose.service"),
                hash: label("com.docker.compose.config-hash"),
                running: c["State"]["Running"].as_bool().unwrap_or(false),
                started: c["State"]["StartedAt"].as_str().and_then(parse_rfc3339),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// Compose's default project name: the directory's name, lower-cased, keeping `[a-z0-9_-]`.
pub(super) fn default_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// `2024-05-01T10:00:00.123456789Z` (or with `+02:00`) → seconds since the epoch.
pub(super) fn parse_rfc3339(s: &str) -> Option<f64> {
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (clock, offset) = match time.find(['Z', '+', '-']) {
        Some(i) => (&time[..i], &time[i..]),
        None => (time, "Z"),
    };
    let mut t = clock.split(':');
    let (hh, mm): (i64, i64) = (t.next()?.parse().ok()?, t.next()?.parse().ok()?);
    let ss: f64 = t.next()?.parse().ok()?;
    let off = if offset == "Z" {
        0
    } else {
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (oh, om) = offset[1..].split_once(':')?;
        sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
    };
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 - off) as f64 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_names() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_rfc3339("2024-03-01T01:02:03.5Z"),
            Some(1_709_254_923.5)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T03:02:03.5+02:00"),
            Some(1_709_254_923.5)
        );
        assert_eq!(
            parse_rfc3339("0001-01-01T00:00:00Z").map(|v| v < 0.0),
            Some(true)
        );
        assert_eq!(default_name(Path::new("/opt/Akira.Stack")), "akirastack");
    }
}

//! The host's package state, read natively: dpkg's database through `dpkg-query`, apt's
//! cache through `apt-cache` (honouring the task's `environment`, so `APT_CONFIG` applies).

use std::process::Command;

use super::super::ModuleError;
use super::super::hostcmd::{self, Ran};

/// How programs are run for one task: its environment, apt's default release.
pub struct Host<'a> {
    /// The task's `environment`.
    pub env: &'a [(String, String)],
    /// `default_release`, given to apt as `APT::Default-Release`.
    pub release: Option<&'a str>,
}

/// dpkg's view of one package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The installed version, when the package is installed.
    pub installed: Option<String>,
    /// Files (at least configuration files) remain on disk.
    pub has_files: bool,
}

/// apt's view of one package: `None` from [`Host::policy`] when apt has no version of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The candidate version.
    pub candidate: Option<String>,
    /// Every version apt knows, newest first.
    pub versions: Vec<String>,
}

impl Host<'_> {
    /// A command for `program` with the task's environment and apt's usual settings.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.current_dir("/")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("DEBIAN_PRIORITY", "critical")
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .env("LC_MESSAGES", "C.UTF-8")
            .env("LC_CTYPE", "C.UTF-8")
            .env("LANGUAGE", "C.UTF-8");
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs `program args` and captures its output.
    pub fn run(&self, program: &str, args: &[String]) -> Result<Ran, ModuleError> {
        hostcmd::run(
            self.command(program).args(args),
            &format!("`{program} {}`", args.join(" ")),
        )
    }

    /// dpkg's status of `name`.
    pub fn status(&self, name: &str) -> Result<Status, ModuleError> {
        let ran = self.run(
            "dpkg-query",
            &[
                "-W".into(),
                "-f".into(),
                "${db:Status-Abbrev}\t${Version}\n".into(),
                name.into(),
            ],
        )?;
        if !ran.ok() {
            return Ok(Status::default());
        }
        let line = ran.stdout.lines().next().unwrap_or("");
        let (abbrev, version) = line.split_once('\t').unwrap_or((line, ""));
        let current = abbrev.chars().nth(1).unwrap_or('n');
        Ok(Status {
            installed: (current == 'i').then(|| version.trim().to_owned()),
            has_files: current != 'n',
        })
    }

    /// apt's candidate and versions of `name`, `None` when apt knows no version of it.
    pub fn policy(&self, name: &str) -> Result<Option<Policy>, ModuleError> {
        let mut args = Vec::new();
        if let Some(r) = self.release {
            args.push("-o".to_owned());
            args.push(format!("APT::Default-Release={r}"));
        }
        args.extend(["policy".to_owned(), name.to_owned()]);
        let ran = self.run("apt-cache", &args)?;
        Ok(parse_policy(&ran.stdout))
    }

    /// Packages that provide the virtual package `name`.
    pub fn providers(&self, name: &str) -> Result<Vec<String>, ModuleError> {
        let ran = self.run("apt-cache", &["showpkg".into(), name.into()])?;
        let mut out = Vec::new();
        let mut inside = false;
        for line in ran.stdout.lines() {
            if line.starts_with("Reverse Provides:") {
                inside = true;
            } else if inside
                && let Some(p) = line.split_whitespace().next()
                && !out.iter().any(|o| o == p)
            {
                out.push(p.to_owned());
            }
        }
        Ok(out)
    }

    /// Every package name apt knows.
    pub fn all_names(&self) -> Result<Vec<String>, ModuleError> {
        let ran = self.run("apt-cache", &["pkgnames".into()])?;
        Ok(ran.stdout.lines().map(str::to_owned).collect())
    }

    /// `dpkg --compare-versions a op b`.
    pub fn version_holds(&self, a: &str, op: &str, b: &str) -> Result<bool, ModuleError> {
        let ran = self.run(
            "dpkg",
            &["--compare-versions".into(), a.into(), op.into(), b.into()],
        )?;
        Ok(ran.ok())
    }
}

/// The candidate and version table of `apt-cache policy` output.
fn parse_policy(out: &str) -> Option<Policy> {
    let mut policy = Policy::default();
    let mut table = false;
    for line in out.lines() {
        let trimmed = line.trim_start();
        if let Some(c) = trimmed.strip_prefix("Candidate:") {
            let c = c.trim();
            policy.candidate = (c != "(none)").then(|| c.to_owned());
        } else if trimmed.starts_with("Version table:") {
            table = true;
        } else if table {
            // Version lines are indented five columns (` *** ` marks the installed one);
            // their sources, deeper.
            let indent = line.len() - trimmed.len();
            let (marked, rest) = match trimmed.strip_prefix("*** ") {
                Some(r) => (true, r),
                None => (false, trimmed),
            };
            if (marked || indent <= 5)
                && let Some(v) = rest.split_whitespace().next()
            {
                policy.versions.push(v.to_owned());
            }
        }
    }
    (!policy.versions.is_empty()).then_some(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_output_is_read() {
        let out = "dr-test-a:\n  Installed: 1.0\n  Candidate: 2.0\n  Version table:\n     2.0 500\n        500 file:/tmp/r ./ Packages\n *** 1.0 100\n        100 /var/lib/dpkg/status\n";
        assert_eq!(
            parse_policy(out),
            Some(Policy {
                candidate: Some("2.0".into()),
                versions: vec!["2.0".into(), "1.0".into()],
            })
        );
        assert_eq!(
            parse_policy("v:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n"),
            None
        );
        assert_eq!(parse_policy(""), None);
    }
}

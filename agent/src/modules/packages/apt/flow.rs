//! One `apt` run after the cache step, as Ansible's `apt` runs it: upgrade, `deb`,
//! autoclean/autoremove, install or remove. With `simulate` every apt-get/dpkg run gets
//! `--simulate` (check mode), so nothing on the host changes.

use serde_json::{Map, Value as Json};

use super::super::args::shell_split;
use super::super::{ModuleError, Outcome};
use super::host::Host;
use super::select::{self, Refusal};
use super::spec::{AptSpec, State, Upgrade};
use crate::wire::Diff;

const APT_GET: &str = "/usr/bin/apt-get";
const APT_GET_ZERO: &str = "\n0 upgraded, 0 newly installed, 0 to remove";

/// The cache step's result, returned with installs as Ansible does.
#[derive(Debug, Clone, Copy)]
pub struct CacheInfo {
    /// The cache was updated (in check mode: would be).
    pub updated: bool,
    /// The cache's modification time, seconds since the epoch.
    pub time: u64,
}

/// How to run: simulate (check mode), return diffs.
pub struct Run<'a> {
    pub spec: &'a AptSpec,
    pub host: &'a Host<'a>,
    pub simulate: bool,
    pub diff: bool,
}

/// A finished result (`exit_json`) or failure (`fail_json`) with its keys.
fn result(changed: bool, failed: bool, msg: String, data: Map<String, Json>) -> Outcome {
    Outcome {
        changed,
        failed,
        msg,
        data,
        ..Outcome::default()
    }
}

fn keys(pairs: &[(&str, Json)]) -> Map<String, Json> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Ansible's `parse_diff`: apt's output from after "Reading state information..." up to
/// the "N upgraded" line.
pub fn prepared(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "Resolving dependencies...")
        .or_else(|| {
            lines
                .iter()
                .position(|l| *l == "Reading state information...")
        })
        .map_or(0, |i| i + 1);
    let upgraded = regex::Regex::new(r"^[0-9]+ (packages )?upgraded").ok();
    let end = lines
        .iter()
        .position(|l| upgraded.as_ref().is_some_and(|r| r.is_match(l)))
        .map_or(lines.len(), |i| i + 1);
    lines
        .get(start..end.max(start))
        .unwrap_or_default()
        .join("\n")
}

impl Run<'_> {
    /// Runs a command line written as Ansible writes it (split as its `run_command` does).
    fn sh(&self, line: &str) -> Result<super::super::hostcmd::Ran, ModuleError> {
        let words = shell_split(line)
            .map_err(|e| ModuleError::Failed(format!("bug: cannot split `{line}`: {e}")))?;
        let Some((program, args)) = words.split_first() else {
            return Err(ModuleError::Failed(format!("bug: empty command `{line}`")));
        };
        let _guard = super::policy_rc_d::Guard::install(self.spec.policy_rc_d, self.simulate)?;
        self.host.run(program, args)
    }

    fn diffs(&self, out: &str) -> Vec<Diff> {
        if self.diff {
            vec![Diff {
                target: "packages".into(),
                text: prepared(out),
            }]
        } else {
            Vec::new()
        }
    }

    fn flag(on: bool, text: &str) -> &str {
        if on { text } else { "" }
    }

    fn check_arg(&self) -> &str {
        Self::flag(self.simulate, "--simulate")
    }

    fn dpkg_options(&self) -> String {
        let mut s = String::new();
        let opts = self
            .spec
            .dpkg_options
            .as_deref()
            .unwrap_or(super::spec::DPKG_OPTIONS);
        for o in opts.split(',') {
            s.push_str(&format!(" -o \"Dpkg::Options::=--{o}\""));
        }
        format!(
            "{} -o DPkg::Lock::Timeout={}",
            s.trim(),
            self.spec.lock_timeout
        )
    }

    /// Everything after the cache step.
    pub fn run(&self, cache: CacheInfo) -> Result<Outcome, ModuleError> {
        let spec = self.spec;
        if let Some(mode) = spec.upgrade()? {
            return self.upgrade(mode);
        }
        if let Some(deb) = &spec.deb {
            if spec.state != State::Present {
                return Ok(Outcome::failed("deb only supports state=present"));
            }
            return super::deb::install(self, deb);
        }
        let all = spec.packages()?;
        let packages: Vec<String> = all
            .iter()
            .filter(|p| p.as_str() != "*")
            .map(|p| p.trim().to_owned())
            .collect();
        if spec.state == State::Latest && all.iter().any(|p| p == "*") {
            if !packages.is_empty() {
                return Ok(Outcome::failed(
                    "unable to install additional packages when upgrading all installed packages",
                ));
            }
            return self.upgrade(Upgrade::Safe);
        }
        if let Some(bad) = packages.iter().find(|p| p.matches('=').count() > 1) {
            return Ok(Outcome::failed(format!("invalid package spec: {bad}")));
        }
        if packages.is_empty() {
            if spec.autoclean {
                return self.cleanup("autoclean");
            }
            if spec.autoremove {
                return self.cleanup("autoremove");
            }
        }
        let mut outcome = match spec.state {
            State::Absent => return self.remove(&packages),
            _ => match self.install(&packages)? {
                Ok(o) => o,
                Err(Refusal::Exit(msg)) => return Ok(Outcome::failed(msg)),
                Err(Refusal::Return(msg)) => Outcome::failed(msg),
            },
        };
        outcome
            .data
            .insert("cache_updated".into(), Json::Bool(cache.updated));
        outcome
            .data
            .insert("cache_update_time".into(), Json::from(cache.time));
        Ok(outcome)
    }

    /// Ansible's `install` (also `latest`, `fixed`, `build-dep`).
    pub fn install(&self, packages: &[String]) -> Result<Result<Outcome, Refusal>, ModuleError> {
        let spec = self.spec;
        let build_dep = spec.state == State::BuildDep;
        let expanded = match select::expand(self.host, packages)? {
            Ok(e) => e,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let list = if build_dep {
            expanded.clone()
        } else {
            let upgrade = spec.state == State::Latest;
            match select::to_install(self.host, &expanded, upgrade, spec.only_upgrade)? {
                Ok(l) => l,
                Err(refusal) => return Ok(Err(refusal)),
            }
        };
        let names: Vec<&str> = expanded.iter().map(|p| select::split(p).0).collect();
        let mut outcome = if list.is_empty() {
            result(false, false, String::new(), Map::new())
        } else {
            let quoted: Vec<String> = list.iter().map(|p| format!("'{p}'")).collect();
            let packages = quoted.join(" ");
            let force = Self::flag(spec.force, "--force-yes");
            let fail_rm = Self::flag(spec.fail_on_autoremove, "--no-remove");
            let only_upgrade = Self::flag(spec.only_upgrade, "--only-upgrade");
            let fixed = Self::flag(spec.state == State::Fixed, "--fix-broken");
            let mut cmd = if build_dep {
                format!(
                    "{APT_GET} -y {} {only_upgrade} {fixed} {force} {fail_rm} {} build-dep {packages}",
                    self.dpkg_options(),
                    self.check_arg()
                )
            } else {
                let autoremove = Self::flag(spec.autoremove, "--auto-remove");
                format!(
                    "{APT_GET} -y {} {only_upgrade} {fixed} {force} {autoremove} {fail_rm} {} install {packages}",
                    self.dpkg_options(),
                    self.check_arg()
                )
            };
            if let Some(r) = &spec.default_release {
                cmd.push_str(&format!(" -t '{r}'"));
            }
            match spec.install_recommends {
                Some(false) => cmd.push_str(" -o APT::Install-Recommends=no"),
                Some(true) => cmd.push_str(" -o APT::Install-Recommends=yes"),
                None => {}
            }
            if spec.allow_unauthenticated {
                cmd.push_str(" --allow-unauthenticated");
            }
            if spec.allow_downgrade {
                cmd.push_str(" --allow-downgrades");
            }
            if spec.allow_change_held_packages {
                cmd.push_str(" --allow-change-held-packages");
            }
            let ran = self.sh(&cmd)?;
            if ran.rc != 0 {
                return Ok(Ok(result(
                    false,
                    true,
                    format!("'{cmd}' failed: {}", ran.stderr),
                    keys(&[
                        ("stdout", ran.stdout.into()),
                        ("stderr", ran.stderr.into()),
                        ("rc", ran.rc.into()),
                    ]),
                )));
            }
            let changed = !build_dep || !ran.stdout.contains(APT_GET_ZERO);
            let mut o = result(
                changed,
                false,
                String::new(),
                keys(&[
                    ("stdout", ran.stdout.clone().into()),
                    ("stderr", ran.stderr.into()),
                ]),
            );
            o.diffs = self.diffs(&ran.stdout);
            o
        };
        if !build_dep && !self.simulate && !names.is_empty() {
            let mut args = vec!["manual".to_owned()];
            args.extend(names.iter().map(|n| (*n).to_owned()));
            let ran = self.host.run("apt-mark", &args)?;
            if ran.rc != 0 {
                outcome = result(
                    false,
                    true,
                    format!(
                        "'/usr/bin/apt-mark {}' failed: {}",
                        args.join(" "),
                        ran.stderr
                    ),
                    keys(&[
                        ("stdout", ran.stdout.into()),
                        ("stderr", ran.stderr.into()),
                        ("rc", ran.rc.into()),
                    ]),
                );
            }
        }
        Ok(Ok(outcome))
    }

    /// Ansible's `remove`.
    fn remove(&self, packages: &[String]) -> Result<Outcome, ModuleError> {
        let spec = self.spec;
        let expanded = match select::expand(self.host, packages)? {
            Ok(e) => e,
            Err(Refusal::Exit(msg) | Refusal::Return(msg)) => return Ok(Outcome::failed(msg)),
        };
        let list = select::to_remove(self.host, &expanded, spec.purge)?;
        if list.is_empty() {
            return Ok(result(false, false, String::new(), Map::new()));
        }
        let quoted: Vec<String> = list.iter().map(|p| format!("'{p}'")).collect();
        let packages = quoted.join(" ");
        let cmd = format!(
            "{APT_GET} -q -y {} {} {} {} {} {} remove {packages}",
            self.dpkg_options(),
            Self::flag(spec.purge, "--purge"),
            Self::flag(spec.force, "--force-yes"),
            Self::flag(spec.autoremove, "--auto-remove"),
            self.check_arg(),
            Self::flag(
                spec.allow_change_held_packages,
                "--allow-change-held-packages"
            ),
        );
        let ran = self.sh(&cmd)?;
        if ran.rc != 0 {
            return Ok(result(
                false,
                true,
                format!("'apt-get remove {packages}' failed: {}", ran.stderr),
                keys(&[
                    ("stdout", ran.stdout.into()),
                    ("stderr", ran.stderr.into()),
                    ("rc", ran.rc.into()),
                ]),
            ));
        }
        let mut o = result(
            true,
            false,
            String::new(),
            keys(&[
                ("stdout", ran.stdout.clone().into()),
                ("stderr", ran.stderr.into()),
            ]),
        );
        o.diffs = self.diffs(&ran.stdout);
        Ok(o)
    }

    /// Ansible's `cleanup`: `autoclean` or `autoremove` alone.
    fn cleanup(&self, operation: &str) -> Result<Outcome, ModuleError> {
        let spec = self.spec;
        let cmd = format!(
            "{APT_GET} -y {} {} {} {operation} {}",
            self.dpkg_options(),
            Self::flag(spec.purge, "--purge"),
            Self::flag(spec.force, "--force-yes"),
            self.check_arg()
        );
        let ran = self.sh(&cmd)?;
        if ran.rc != 0 {
            return Ok(result(
                false,
                true,
                format!("'apt-get {operation}' failed: {}", ran.stderr),
                keys(&[
                    ("stdout", ran.stdout.into()),
                    ("stderr", ran.stderr.into()),
                    ("rc", ran.rc.into()),
                ]),
            ));
        }
        let marker = if operation == "autoremove" {
            "The following packages will be REMOVED"
        } else {
            "Del "
        };
        let mut o = result(
            ran.stdout.contains(marker),
            false,
            String::new(),
            keys(&[
                ("stdout", ran.stdout.clone().into()),
                ("stderr", ran.stderr.into()),
            ]),
        );
        o.diffs = self.diffs(&ran.stdout);
        Ok(o)
    }

    /// Ansible's `upgrade` with apt-get (aptitude is refused before this runs).
    fn upgrade(&self, mode: Upgrade) -> Result<Outcome, ModuleError> {
        let spec = self.spec;
        let autoremove = Self::flag(spec.autoremove, "--auto-remove");
        let command = match mode {
            Upgrade::Dist => format!("dist-upgrade {autoremove}"),
            Upgrade::Safe => format!("upgrade --with-new-pkgs {autoremove}"),
        };
        let mut cmd = format!(
            "{APT_GET} -y {} {} {} {} {} {} {command}",
            self.dpkg_options(),
            Self::flag(spec.force, "--force-yes"),
            Self::flag(spec.fail_on_autoremove, "--no-remove"),
            Self::flag(spec.allow_unauthenticated, "--allow-unauthenticated"),
            Self::flag(spec.allow_downgrade, "--allow-downgrades"),
            self.check_arg(),
        );
        if let Some(r) = &spec.default_release {
            cmd.push_str(&format!(" -t '{r}'"));
        }
        let ran = self.sh(&cmd)?;
        if ran.rc != 0 {
            return Ok(result(
                false,
                true,
                format!("'{APT_GET} {command}' failed: {}", ran.stderr),
                keys(&[("stdout", ran.stdout.into()), ("rc", ran.rc.into())]),
            ));
        }
        let changed = !ran.stdout.contains(APT_GET_ZERO);
        let mut o = result(
            changed,
            false,
            ran.stdout.clone(),
            keys(&[
                ("stdout", ran.stdout.clone().into()),
                ("stderr", ran.stderr.into()),
            ]),
        );
        if changed {
            o.diffs = self.diffs(&ran.stdout);
        }
        Ok(o)
    }

    /// Runs dpkg with `args` (through [`Run::sh`]'s policy-rc.d handling).
    pub fn dpkg(&self, line: &str) -> Result<super::super::hostcmd::Ran, ModuleError> {
        self.sh(line)
    }
}

#[cfg(test)]
mod tests {
    use super::prepared;

    #[test]
    fn the_prepared_diff_is_cut_as_ansibles() {
        let out = "Reading package lists...\nBuilding dependency tree...\nReading state information...\nThe following NEW packages will be installed:\n  x\n0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.\nInst x (1.0 r [all])\nConf x (1.0 r [all])\n";
        assert_eq!(
            prepared(out),
            "The following NEW packages will be installed:\n  x\n0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded."
        );
        assert_eq!(prepared("a\nb"), "a\nb");
    }
}

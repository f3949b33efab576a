//! `systemctl` for the `service` and `systemd` modules: found as Ansible finds it, run
//! with the scope and flags a task asks for, its `show` output parsed as Ansible parses it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value as Json};

use super::hostcmd::{self, Ran};
use super::{ModuleError, bin_path};

/// Whether systemd is this host's init system (what `sd_booted()` checks).
pub(super) fn booted() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// One `systemctl` with its leading options (`--user`, `--no-block`, `--force`).
#[derive(Debug, Clone)]
pub(super) struct Systemctl {
    program: PathBuf,
    options: Vec<&'static str>,
    environment: Vec<(String, String)>,
}

impl Systemctl {
    /// `systemctl` for the system manager, without options (`service` uses it).
    pub fn system() -> Self {
        Systemctl {
            program: bin_path::find("systemctl").unwrap_or_else(|_| "systemctl".into()),
            options: Vec::new(),
            environment: Vec::new(),
        }
    }

    /// `systemctl` with `options` before every verb, run with `environment`; fails when
    /// the host has no `systemctl`.
    pub fn with(
        options: Vec<&'static str>,
        environment: Vec<(String, String)>,
    ) -> Result<Self, String> {
        Ok(Systemctl {
            program: bin_path::find("systemctl")?,
            options,
            environment,
        })
    }

    /// The command line before any verb, as Ansible shows it (`/usr/bin/systemctl --user`).
    pub fn program(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.options.iter().map(|o| (*o).to_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The command for `args` (a verb and its operands).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.options)
            .args(args)
            .envs(self.environment.iter().map(|(k, v)| (k, v)))
            .current_dir("/");
        cmd
    }

    /// Runs `args` and captures the result, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Result<Ran, ModuleError> {
        let what = format!("`systemctl {}`", args.join(" "));
        hostcmd::run(&mut self.command(args), &what)
    }
}

/// `systemctl show` output as a mapping: `Key=value` lines, and multi-line values only
/// for `Exec*` keys in braces (Ansible's `parse_systemctl_show`).
pub(super) fn parse_show(text: &str) -> Map<String, Json> {
    let mut parsed = Map::new();
    let mut pending: Option<(String, Vec<String>)> = None;
    for line in text.split('\n') {
        match pending.take() {
            None => {
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                if k.starts_with("Exec")
                    && v.trim_start().starts_with('{')
                    && !v.trim_end().ends_with('}')
                {
                    pending = Some((k.to_owned(), vec![v.to_owned()]));
                    continue;
                }
                parsed.insert(k.to_owned(), Json::from(v.trim()));
            }
            Some((k, mut lines)) => {
                lines.push(line.to_owned());
                if line.trim_end().ends_with('}') {
                    parsed.insert(k, Json::from(lines.join("\n").trim()));
                } else {
                    pending = Some((k, lines));
                }
            }
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse_show;

    #[test]
    fn show_output_parses_as_ansible_parses_it() {
        let text = "Id=a.service\nDescription={ not multi-line\nExecStart={ path=/bin/a ;\n argv[]=/bin/a }\nActiveState=active\nnoise\n";
        let m = parse_show(text);
        assert_eq!(m["Description"], json!("{ not multi-line"));
        assert_eq!(m["ExecStart"], json!("{ path=/bin/a ;\n argv[]=/bin/a }"));
        assert_eq!(m["ActiveState"], json!("active"));
        assert_eq!(m.len(), 4);
    }
}

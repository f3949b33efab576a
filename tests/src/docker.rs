//! The Docker CLI, as the test bed uses it.

use std::ffi::OsStr;
use std::process::Command;

use crate::command;
use crate::error::{Error, Result};

/// Environment variable naming the docker program (default `docker`).
pub const DOCKER_ENV: &str = "DR_TESTBED_DOCKER";

/// A checked handle on the Docker engine: constructing one proves the CLI runs and
/// the daemon answers.
#[derive(Debug, Clone)]
pub struct Docker {
    program: String,
}

impl Docker {
    /// Finds the docker CLI (`$DR_TESTBED_DOCKER` or `docker`) and checks that the
    /// engine answers. The error says which of the two is missing.
    pub fn connect() -> Result<Docker> {
        let program = std::env::var(DOCKER_ENV).unwrap_or_else(|_| "docker".to_owned());
        Docker::connect_with(program)
    }

    /// Like [`Docker::connect`] with an explicit program.
    pub fn connect_with(program: impl Into<String>) -> Result<Docker> {
        let docker = Docker {
            program: program.into(),
        };
        let mut cmd = docker.command(["version", "--format", "{{.Server.Version}}"]);
        let output = match cmd.output() {
            Ok(output) => output,
            Err(source) => {
                return Err(Error::DockerMissing {
                    program: docker.program,
                    source,
                });
            }
        };
        if !output.status.success() {
            return Err(Error::DockerDaemonDown {
                program: docker.program.clone(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(docker)
    }

    /// A `docker` command with `args`, using the classic builder (the engine may be
    /// older than the CLI, and no buildx plugin is needed).
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.program);
        cmd.env("DOCKER_BUILDKIT", "0").args(args);
        cmd
    }

    /// Runs `docker ARGS`; its trimmed stdout.
    pub fn run<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        command::run(&mut self.command(args))
    }

    /// Whether an image with this reference exists locally.
    pub fn image_exists(&self, reference: &str) -> bool {
        self.command(["image", "inspect", "--format", "{{.Id}}", reference])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The names of containers carrying every one of `labels` (`key=value`), running or
    /// not. One `docker ps` (its label filters are ANDed): a container of another test bed
    /// removed meanwhile cannot fail a later per-container query.
    pub fn containers_with_labels(&self, labels: &[&str]) -> Result<Vec<String>> {
        let mut args = vec!["ps".to_owned(), "-a".to_owned()];
        for label in labels {
            args.push("--filter".to_owned());
            args.push(format!("label={label}"));
        }
        args.extend(["--format".to_owned(), "{{.Names}}".to_owned()]);
        let out = self.run(args)?;
        Ok(out.lines().map(str::to_owned).collect())
    }

    /// Force-removes containers (and their anonymous volumes); absent ones are fine.
    pub fn remove_containers(&self, names: &[String]) -> Result<()> {
        if names.is_empty() {
            return Ok(());
        }
        let mut cmd = self.command(["rm", "-f", "-v"]);
        cmd.args(names);
        let output = cmd.output().map_err(|source| Error::Spawn {
            command: command::describe(&cmd),
            source,
        })?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success()
            || stderr
                .lines()
                .all(|l| l.trim().is_empty() || l.contains("No such container"))
        {
            Ok(())
        } else {
            Err(command::failure(&cmd, &output))
        }
    }

    /// The container's IPv4 address on `network`.
    pub fn container_ip(&self, container: &str, network: &str) -> Result<String> {
        let format = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
        let ip = self.run(["inspect", "--format", &format, container])?;
        if ip.is_empty() {
            return Err(Error::Unexpected {
                command: format!("docker inspect {container}"),
                detail: format!("no address on network `{network}`"),
            });
        }
        Ok(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_docker_program_is_named() {
        let err = Docker::connect_with("/nonexistent/docker").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::DockerMissing { .. }), "{msg}");
        assert!(msg.contains("needs Docker"), "{msg}");
        assert!(msg.contains("/nonexistent/docker"), "{msg}");
    }

    #[test]
    fn a_daemon_that_does_not_answer_is_named() {
        // `false` runs but fails, as `docker version` does when the daemon is down.
        let err = Docker::connect_with("false").unwrap_err();
        assert!(
            matches!(err, Error::DockerDaemonDown { .. }),
            "{err}: expected a daemon error"
        );
        assert!(err.to_string().contains("running Docker engine"), "{err}");
    }
}

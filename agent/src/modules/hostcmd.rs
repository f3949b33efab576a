//! Running host programs for the system modules (`service`, `package`, `compose`, the
//! PostgreSQL modules): as another OS user when asked, output captured, errors phrased.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use super::ModuleError;

/// The captured result of one program run.
#[derive(Debug, Clone)]
pub(super) struct Ran {
    /// Exit code (`-signal` when killed by a signal).
    pub rc: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Ran {
    /// Whether the program exited 0.
    pub fn ok(&self) -> bool {
        self.rc == 0
    }

    /// The most useful text to show when the run failed: stderr, else stdout.
    pub fn why(&self) -> String {
        let e = self.stderr.trim();
        if e.is_empty() {
            self.stdout.trim().to_owned()
        } else {
            e.to_owned()
        }
    }
}

/// Whether the agent runs as root (then it can switch to another user).
pub(super) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A command for `program`, run as `user` through `runuser` when the agent is root and
/// `user` is given; otherwise as the agent's own user.
pub(super) fn command_as(user: Option<&str>, program: impl AsRef<OsStr>) -> Command {
    match user {
        Some(user) if is_root() && user != "root" => {
            let mut c = Command::new(runuser());
            c.arg("-u").arg(user).arg("--").arg(program);
            c
        }
        _ => Command::new(program),
    }
}

/// `runuser` lives in /usr/sbin on Debian, /sbin on older systems; PATH may lack both.
fn runuser() -> &'static str {
    ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("runuser")
}

/// Runs `cmd` with no stdin and captures its output. `what` names the program for errors
/// (`pg_ctl promote on /var/lib/postgresql/15/main`).
pub(super) fn run(cmd: &mut Command, what: &str) -> Result<Ran, ModuleError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd
        .output()
        .map_err(|e| ModuleError::Failed(format!("cannot run {what}: {e}")))?;
    Ok(ran(&out))
}

fn ran(out: &std::process::Output) -> Ran {
    let rc = out.status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        out.status.signal().map_or(-1, |s| -s)
    });
    Ran {
        rc,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `cmd` with `input` on its standard input (written from another thread, so a
/// program that answers before it has read everything cannot deadlock) and captures its
/// output. For what must not appear on a command line, where `ps` shows it to every user.
pub(super) fn run_with_stdin(
    cmd: &mut Command,
    input: &[u8],
    what: &str,
) -> Result<Ran, ModuleError> {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| ModuleError::Failed(format!("cannot run {what}: {e}")))?;
    let out = std::thread::scope(|s| {
        if let Some(mut stdin) = child.stdin.take() {
            // A program that exits early closes the pipe: its exit status says why.
            s.spawn(move || {
                let _ = stdin.write_all(input);
            });
        }
        child.wait_with_output()
    })
    .map_err(|e| ModuleError::Failed(format!("cannot run {what}: {e}")))?;
    Ok(ran(&out))
}

/// Runs `cmd` and fails with `what` and the program's own message unless it exits 0.
pub(super) fn run_ok(cmd: &mut Command, what: &str) -> Result<Ran, ModuleError> {
    let ran = run(cmd, what)?;
    if ran.ok() {
        Ok(ran)
    } else {
        Err(ModuleError::Failed(format!(
            "{what} failed (exit {}): {}",
            ran.rc,
            ran.why()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_exit_code() {
        let ran = run(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            "sh",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((ran.rc, ran.stdout.as_str()), (3, "out\n"));
        assert_eq!(ran.why(), "err");
        let err = run_ok(&mut Command::new("false"), "`false`")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("`false` failed (exit 1)"), "{err}");
    }
}

//! Waiting for a child process with an optional deadline (the task's `timeout:`).

use std::io::Read;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

/// A finished (or killed) process.
pub(super) struct Waited {
    /// What it wrote and how it ended.
    pub output: Output,
    /// It ran past the deadline and was killed (with its process group).
    pub timed_out: bool,
}

/// Collects stdout and stderr while waiting; past `timeout`, kills the child's process
/// group (the child leads it) and reports it.
pub(super) fn wait_with_output(
    mut child: Child,
    timeout: Option<Duration>,
) -> std::io::Result<Waited> {
    let Some(timeout) = timeout else {
        return child.wait_with_output().map(|output| Waited {
            output,
            timed_out: false,
        });
    };
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(Waited {
        output: Output {
            status,
            stdout,
            stderr,
        },
        timed_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn kills_the_group_past_the_deadline() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30; echo never"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let started = Instant::now();
        let waited =
            wait_with_output(cmd.spawn().unwrap(), Some(Duration::from_millis(300))).unwrap();
        assert!(waited.timed_out);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the background sleep kept the pipes open"
        );
        assert!(!String::from_utf8_lossy(&waited.output.stdout).contains("never"));
    }

    #[test]
    fn finishes_normally_within_the_deadline() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo hi"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let waited = wait_with_output(cmd.spawn().unwrap(), Some(Duration::from_secs(5))).unwrap();
        assert!(!waited.timed_out);
        assert_eq!(waited.output.stdout, b"hi\n");
    }
}

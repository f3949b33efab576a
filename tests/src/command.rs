//! Running external programs with errors that say what was run and what it printed.

use std::process::{Command, Output, Stdio};

use crate::error::{Error, Result};

/// The command line of `cmd`, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if arg.contains(char::is_whitespace) || arg.is_empty() {
            line.push_str(&format!(" '{arg}'"));
        } else {
            line.push(' ');
            line.push_str(&arg);
        }
    }
    line
}

/// Runs `cmd` to completion; its stdout (trimmed) on success, an error carrying
/// the command line and its output otherwise.
pub(crate) fn run(cmd: &mut Command) -> Result<String> {
    let output = output(cmd)?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs `cmd` to completion and returns its whole output when it succeeded.
pub(crate) fn output(cmd: &mut Command) -> Result<Output> {
    cmd.stdin(Stdio::null());
    let output = cmd.output().map_err(|source| Error::Spawn {
        command: describe(cmd),
        source,
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(failure(cmd, &output))
    }
}

/// The error for a command that ran and failed.
pub(crate) fn failure(cmd: &Command, output: &Output) -> Error {
    // Builds print their log on stdout and only the last error on stderr: keep both.
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let stderr = match (stdout.is_empty(), stderr.is_empty()) {
        (_, true) => stdout,
        (true, false) => stderr,
        (false, false) => format!("{}\n{stderr}", tail(&stdout, 3000)),
    };
    Error::Command {
        command: describe(cmd),
        status: output.status.to_string(),
        stderr: tail(&stderr, 4000),
    }
}

/// The last `max` bytes of `text` (at a char boundary): the end of a long build log
/// is where the error is.
fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("...{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_names_the_command_and_its_stderr() {
        let err = run(Command::new("sh").args(["-c", "echo oops >&2; exit 3"])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`sh -c 'echo oops >&2; exit 3'` failed"),
            "{msg}"
        );
        assert!(msg.contains("oops"), "{msg}");
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("abcdef", 3), "...def");
        assert_eq!(tail("abc", 3), "abc");
    }
}

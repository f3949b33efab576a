//! Running a process for `command` and `shell`: the shared spec, plan and result.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::LazyLock;
use std::time::SystemTime;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{ArgsError, opt_bool_ish, opt_text, parse_args, shell_split};
use super::{Action, Context, ModuleError, Outcome, Plan};
use crate::clock;

/// Keys accepted inside a free-form command line (`creates=/x echo hi`), as Ansible does.
const INLINE_KEYS: &[&str] = &["creates", "removes", "chdir", "executable", "stdin"];

/// What `command:` / `shell:` say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProcessSpec {
    /// The command line (free form or `cmd:`).
    #[serde(alias = "_raw_params")]
    pub cmd: Option<String>,
    /// Warnings the module adds to its result (Ansible's `warnings`), not an argument.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// `command` only: the argument vector, no shell parsing.
    pub argv: Option<Vec<Json>>,
    #[serde(default, deserialize_with = "opt_text")]
    pub chdir: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub creates: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub removes: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub stdin: Option<String>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    pub stdin_add_newline: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    pub strip_empty_ends: Option<bool>,
    /// `shell` only: the shell to run the line with.
    #[serde(default, deserialize_with = "opt_text")]
    pub executable: Option<String>,
    /// `command` only: expand `$VAR`, `${VAR}` and `~` in each argument (default true, as
    /// Ansible's `expand_argument_vars`).
    #[serde(default, deserialize_with = "opt_bool_ish")]
    pub expand_argument_vars: Option<bool>,
}

/// How the process is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Invocation {
    /// Run `argv[0]` with the rest as arguments.
    Argv(Vec<String>),
    /// Run `shell -c line`.
    Shell { shell: String, line: String },
    /// `raw`: run `shell -c line`; the result has no `cmd` or times.
    Raw { shell: String, line: String },
}

impl Invocation {
    /// The command as shown to the operator.
    fn display(&self) -> String {
        match self {
            Invocation::Argv(argv) => argv
                .iter()
                .map(|a| crate::template::shell_quote(a))
                .collect::<Vec<_>>()
                .join(" "),
            Invocation::Shell { line, .. } | Invocation::Raw { line, .. } => line.clone(),
        }
    }

    /// The `cmd` key of the result (a list for `command`, the line for `shell`).
    fn cmd_value(&self) -> Json {
        match self {
            Invocation::Argv(argv) => Json::from(argv.clone()),
            Invocation::Shell { line, .. } | Invocation::Raw { line, .. } => {
                Json::from(line.clone())
            }
        }
    }
}

/// Reads the spec from a free-form string or a mapping.
pub(super) fn parse_spec(module: &'static str, args: &Json) -> Result<ProcessSpec, ArgsError> {
    match &*super::text_args(module, args)? {
        Json::String(line) => {
            let mut spec = ProcessSpec::default();
            spec.cmd = Some(extract_inline(line, &mut spec)?);
            Ok(spec)
        }
        other => {
            let mut spec: ProcessSpec = parse_args(module, other)?;
            if let Some(line) = spec.cmd.take() {
                spec.cmd = Some(extract_inline(&line, &mut spec)?);
            }
            Ok(spec)
        }
    }
}

/// Pulls `key=value` words for [`INLINE_KEYS`] out of a command line.
fn extract_inline(line: &str, spec: &mut ProcessSpec) -> Result<String, ArgsError> {
    if !INLINE_KEYS.iter().any(|k| line.contains(&format!("{k}="))) {
        return Ok(line.to_owned());
    }
    let mut kept = Vec::new();
    for word in line.split(' ') {
        let inline = word
            .split_once('=')
            .filter(|(k, _)| INLINE_KEYS.contains(k));
        match inline {
            Some(("creates", v)) => spec.creates = Some(v.to_owned()),
            Some(("removes", v)) => spec.removes = Some(v.to_owned()),
            Some(("chdir", v)) => spec.chdir = Some(v.to_owned()),
            Some(("executable", v)) => spec.executable = Some(v.to_owned()),
            Some(("stdin", v)) => spec.stdin = Some(v.to_owned()),
            _ => kept.push(word),
        }
    }
    Ok(kept.join(" ").trim().to_owned())
}

/// Plans a process run: skipped by `creates`/`removes`, or "would run".
pub(super) fn plan(invocation: Invocation, spec: ProcessSpec) -> Result<Plan, ModuleError> {
    let base = |p: &str| match &spec.chdir {
        Some(dir) if !Path::new(p).is_absolute() => Path::new(dir).join(p),
        _ => Path::new(p).to_path_buf(),
    };
    let cmd = invocation.display();
    // As Ansible: `creates` and `removes` are glob patterns.
    let found = |p: &str| {
        let path = base(p);
        path.exists()
            || glob::glob(&path.to_string_lossy())
                .map(|mut hits| hits.any(|h| h.is_ok()))
                .unwrap_or(false)
    };
    if let Some(creates) = &spec.creates
        && found(creates)
    {
        let mut outcome = Outcome::ok(format!("skipped, since {creates} exists"));
        outcome.data.insert("rc".into(), Json::from(0));
        outcome.data.insert("cmd".into(), invocation.cmd_value());
        return Ok(Plan::done(outcome));
    }
    if let Some(removes) = &spec.removes
        && !found(removes)
    {
        let mut outcome = Outcome::ok(format!("skipped, since {removes} does not exist"));
        outcome.data.insert("rc".into(), Json::from(0));
        outcome.data.insert("cmd".into(), invocation.cmd_value());
        return Ok(Plan::done(outcome));
    }
    let mut outcome = Outcome {
        changed: true,
        msg: format!("would run: {cmd}"),
        unpredictable: true,
        ..Outcome::default()
    };
    if !spec.warnings.is_empty() {
        outcome
            .data
            .insert("warnings".into(), Json::from(spec.warnings.clone()));
    }
    Ok(Plan::change(outcome, Run { invocation, spec }))
}

/// Plans `raw`: the line through `shell`, its output kept as written (no stripping, no
/// `cmd`/`start`/`end`), always changed. Check mode does not run it and says so, as
/// Ansible's `raw` action skips itself there.
pub(super) fn plan_raw(shell: String, line: String) -> Plan {
    let spec = ProcessSpec {
        strip_empty_ends: Some(false),
        ..ProcessSpec::default()
    };
    let outcome = Outcome {
        skipped: true,
        msg: format!("raw does not run in check mode: {line}"),
        ..Outcome::default()
    };
    Plan::change(
        outcome,
        Run {
            invocation: Invocation::Raw { shell, line },
            spec,
        },
    )
}

/// One argument as Ansible's `run_command` expands it: `$NAME` and `${NAME}` from the
/// environment (unknown names stay as written), then a leading `~` or `~user`.
fn expand(arg: &str, env: &HashMap<String, String>) -> String {
    static VAR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\$(\w+|\{[^}]*\})").expect("static regex is valid"));
    let vars = VAR.replace_all(arg, |c: &regex::Captures<'_>| {
        let name = c[1].trim_start_matches('{').trim_end_matches('}');
        env.get(name).cloned().unwrap_or_else(|| c[0].to_owned())
    });
    crate::home::expanduser(&vars, || env.get("HOME").cloned())
}

/// Runs the process.
struct Run {
    invocation: Invocation,
    spec: ProcessSpec,
}

impl Action for Run {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Run { invocation, spec } = *self;
        if let Some(user) = ctx.become_user
            && !super::hostcmd::is_root()
        {
            return Err(ModuleError::Failed(format!(
                "`become_user: {user}` needs the agent to run as root: set `become: true` on the play, or log in as root"
            )));
        }
        let mut process = match &invocation {
            Invocation::Argv(argv) => {
                let argv: Vec<String> = if spec.expand_argument_vars.unwrap_or(true) {
                    let env: HashMap<String, String> = std::env::vars()
                        .chain(ctx.environment.iter().cloned())
                        .collect();
                    argv.iter().map(|a| expand(a, &env)).collect()
                } else {
                    argv.clone()
                };
                let Some((program, rest)) = argv.split_first() else {
                    return Err(ModuleError::Failed("no command given".into()));
                };
                let mut p = super::hostcmd::command_as(ctx.become_user, program);
                p.args(rest);
                p
            }
            Invocation::Shell { shell, line } | Invocation::Raw { shell, line } => {
                let mut p = super::hostcmd::command_as(ctx.become_user, shell);
                p.arg("-c").arg(line);
                p
            }
        };
        if let Some(dir) = &spec.chdir {
            // As Ansible: a missing or unreadable directory fails before anything runs.
            match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(ModuleError::Failed(format!(
                        "Unable to change directory before execution: not a directory: '{dir}'"
                    )));
                }
                Err(e) => {
                    return Err(ModuleError::Failed(format!(
                        "Unable to change directory before execution: {e}: '{dir}'"
                    )));
                }
            }
            process.current_dir(dir);
        }
        for (k, v) in ctx.environment {
            process.env(k, v);
        }
        process
            .stdin(if spec.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group: a Ctrl-C at dr's terminal does not cut a running step short
        // (the run finishes what it started), and a timeout kills the whole group.
        std::os::unix::process::CommandExt::process_group(&mut process, 0);
        let start = SystemTime::now();
        let shown = invocation.display();
        let mut child = match process.spawn() {
            Ok(child) => child,
            // As Ansible: a failed result with the command, the OS error's number as `rc` and
            // empty output (so `failed_when` on the output can still be read).
            Err(e) => {
                let mut outcome = Outcome::failed(format!("cannot run `{shown}`: {e}"));
                let data = &mut outcome.data;
                data.insert("rc".into(), Json::from(e.raw_os_error().unwrap_or(2)));
                for key in ["stdout", "stderr"] {
                    data.insert(key.into(), Json::from(""));
                    data.insert(format!("{key}_lines"), Json::Array(Vec::new()));
                }
                if !matches!(invocation, Invocation::Raw { .. }) {
                    data.insert("cmd".into(), invocation.cmd_value());
                }
                return Ok(outcome);
            }
        };
        // A stopped play kills it (and its group) instead of waiting for it.
        let _tracked = crate::engine::stop::track(child.id());
        // Input is fed from another thread: a process that writes a lot before reading
        // would otherwise block on a full stdout pipe while we block on its stdin.
        let feeder = match (&spec.stdin, child.stdin.take()) {
            (Some(input), Some(mut pipe)) => {
                let mut data = input.clone();
                if spec.stdin_add_newline.unwrap_or(true) {
                    data.push('\n');
                }
                // A process that exits without reading its input is not an error.
                Some(std::thread::spawn(move || {
                    let _ = pipe.write_all(data.as_bytes());
                }))
            }
            _ => None,
        };
        let output = super::timeout::wait_with_output(child, ctx.timeout)
            .map_err(|e| ModuleError::Failed(format!("cannot wait for `{shown}`: {e}")))?;
        let timed_out = output.timed_out;
        let output = output.output;
        if let Some(feeder) = feeder {
            let _ = feeder.join();
        }
        let end = SystemTime::now();
        let mut data = Map::new();
        if !spec.warnings.is_empty() {
            data.insert("warnings".into(), Json::from(spec.warnings.clone()));
        }
        let strip = spec.strip_empty_ends.unwrap_or(true);
        let stdout = text(&output.stdout, strip);
        let stderr = text(&output.stderr, strip);
        let rc = output.status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            output.status.signal().map_or(-1, |s| -s)
        });
        data.insert("rc".into(), Json::from(rc));
        data.insert("stdout_lines".into(), lines(&stdout));
        data.insert("stderr_lines".into(), lines(&stderr));
        data.insert("stdout".into(), Json::from(stdout));
        data.insert("stderr".into(), Json::from(stderr));
        if !matches!(invocation, Invocation::Raw { .. }) {
            data.insert("cmd".into(), invocation.cmd_value());
            data.insert("start".into(), Json::from(clock::timestamp(start)));
            data.insert("end".into(), Json::from(clock::timestamp(end)));
            let delta = end.duration_since(start).unwrap_or_default();
            data.insert("delta".into(), Json::from(clock::delta(delta)));
        }
        // What the process wrote before it was killed says where it hung.
        let msg = if timed_out {
            format!(
                "`{shown}` was still running after the task's timeout of {:.0} s, and was killed",
                ctx.timeout.unwrap_or_default().as_secs_f64()
            )
        } else if rc != 0 {
            // Ansible's words; `rc` and the output are in the result beside it.
            "non-zero return code".to_owned()
        } else {
            // Ansible's command module says `"msg": ""` when all went well.
            data.insert("msg".into(), Json::from(""));
            String::new()
        };
        Ok(Outcome {
            changed: !timed_out,
            failed: timed_out || rc != 0,
            msg,
            data,
            timed_out,
            ..Outcome::default()
        })
    }
}

fn text(bytes: &[u8], strip: bool) -> String {
    let s = String::from_utf8_lossy(bytes);
    if strip {
        s.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        s.into_owned()
    }
}

fn lines(s: &str) -> Json {
    Json::from(s.lines().map(str::to_owned).collect::<Vec<_>>())
}

/// Splits a free-form `command` line into words.
pub(super) fn split_command(line: &str) -> Result<Vec<String>, ModuleError> {
    shell_split(line).map_err(|e| ArgsError::new("command", e).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_expand_as_ansible_run_command() {
        let env: std::collections::HashMap<String, String> = [("X", "1"), ("HOME", "/home/me")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(expand("$X-${X}-$NOPE-${NOPE}", &env), "1-1-$NOPE-${NOPE}");
        assert_eq!(expand("~/x", &env), "/home/me/x");
        assert_eq!(expand("~root", &env), "/root");
        assert_eq!(expand("~no-such-user/x", &env), "~no-such-user/x");
        assert_eq!(expand("a~b", &env), "a~b");
    }

    #[test]
    fn inline_keys_are_extracted() {
        let spec = parse_spec("command", &Json::from("creates=/tmp/x touch /tmp/x")).unwrap();
        assert_eq!(spec.creates.as_deref(), Some("/tmp/x"));
        assert_eq!(spec.cmd.as_deref(), Some("touch /tmp/x"));
    }
}

//! `wait_for`: Ansible's module of that name. Sleeps `timeout` seconds, or waits until a
//! TCP port opens (`started`), refuses connections (`stopped`) or has no active
//! connection left (`drained`), or a path exists (holding `search_regex`) or is gone
//! (`absent`). Results and messages are Ansible's, which playbooks assert on; as
//! Ansible's module does not support check mode, check mode skips it.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use regex::bytes::Regex;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{opt_int, opt_str_list, opt_text};
use super::replace::pyre;
use super::stat::strerror;
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args, path_arg};

mod drained;

/// The `wait_for` module.
pub struct WaitFor;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitForSpec {
    #[serde(default, deserialize_with = "opt_text")]
    host: Option<String>,
    #[serde(default, deserialize_with = "opt_int")]
    timeout: Option<u64>,
    #[serde(default, deserialize_with = "opt_int")]
    connect_timeout: Option<u64>,
    #[serde(default, deserialize_with = "opt_int")]
    delay: Option<u64>,
    #[serde(default, deserialize_with = "opt_int")]
    port: Option<u16>,
    #[serde(default, deserialize_with = "opt_str_list")]
    active_connection_states: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_text")]
    path: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    search_regex: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "opt_str_list")]
    exclude_hosts: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_int")]
    sleep: Option<u64>,
    #[serde(default, deserialize_with = "opt_text")]
    msg: Option<String>,
}

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitState {
    /// The port answers / the path exists (and holds `search_regex`).
    Started,
    /// Same as `started`.
    Present,
    /// The port refuses connections.
    Stopped,
    /// The path does not exist.
    Absent,
    /// The port has no active connection.
    Drained,
}

impl WaitState {
    fn parse(s: &str) -> Result<WaitState, ArgsError> {
        Ok(match s {
            "started" => WaitState::Started,
            "present" => WaitState::Present,
            "stopped" => WaitState::Stopped,
            "absent" => WaitState::Absent,
            "drained" => WaitState::Drained,
            other => {
                return Err(ArgsError::new(
                    "wait_for",
                    format!(
                        "value of state must be one of: absent, drained, present, started, stopped, got: {other}"
                    ),
                ));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            WaitState::Started => "started",
            WaitState::Present => "present",
            WaitState::Stopped => "stopped",
            WaitState::Absent => "absent",
            WaitState::Drained => "drained",
        }
    }
}

impl Module for WaitFor {
    fn name(&self) -> &'static str {
        "wait_for"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "host",
            "timeout",
            "connect_timeout",
            "delay",
            "port",
            "active_connection_states",
            "path",
            "search_regex",
            "state",
            "exclude_hosts",
            "sleep",
            "msg",
        ]
    }

    /// Reads the arguments only: the waiting is the apply half, which check mode skips as
    /// Ansible skips a module without check mode support.
    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: WaitForSpec = parse_args("wait_for", args)?;
        let secs = |v: Option<u64>, default: u64| Duration::from_secs(v.unwrap_or(default));
        let wait = Wait {
            host: spec.host.unwrap_or_else(|| "127.0.0.1".into()),
            timeout: secs(spec.timeout, 300),
            connect_timeout: secs(spec.connect_timeout, 5),
            delay: secs(spec.delay, 0),
            sleep: secs(spec.sleep, 1),
            // Ansible tests both for truth: port 0 and an empty path are not given.
            port: spec.port.filter(|p| *p != 0),
            path: spec
                .path
                .filter(|p| !p.is_empty())
                .map(|p| path_arg::expand(&p, ctx.environment)),
            search_regex: spec.search_regex,
            state: WaitState::parse(spec.state.as_deref().unwrap_or("started"))?,
            active_states: spec.active_connection_states.unwrap_or_else(|| {
                drained::DEFAULT_STATES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            }),
            exclude_hosts: spec.exclude_hosts,
            msg: spec.msg.filter(|m| !m.is_empty()),
        };
        let mut data = Map::new();
        data.insert("skipped".into(), Json::Bool(true));
        let msg = "remote module (wait_for) does not support check mode";
        data.insert("msg".into(), Json::from(msg));
        let outcome = Outcome {
            skipped: true,
            msg: msg.into(),
            data,
            ansible_shape: true,
            ..Outcome::default()
        };
        Ok(Plan::change(outcome, wait))
    }
}

/// The resolved arguments, and the waiting they ask for.
#[derive(Debug)]
struct Wait {
    host: String,
    timeout: Duration,
    connect_timeout: Duration,
    delay: Duration,
    sleep: Duration,
    port: Option<u16>,
    /// Expanded as Ansible's `type='path'`.
    path: Option<String>,
    search_regex: Option<String>,
    state: WaitState,
    active_states: Vec<String>,
    exclude_hosts: Option<Vec<String>>,
    /// The operator's message for a timeout (an empty one is Ansible's default).
    msg: Option<String>,
}

/// Why waiting stopped short of success: a timeout, or an error found while polling.
type Failure = (String, Option<u64>);

impl Action for Wait {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let start = Instant::now();
        Ok(match self.wait(start) {
            Ok(groups) => self.done(start, groups),
            Err((msg, elapsed)) => {
                let mut outcome = Outcome::failed(msg);
                if let Some(e) = elapsed {
                    outcome.data.insert("elapsed".into(), Json::from(e));
                }
                outcome.ansible_shape = true;
                outcome
            }
        })
    }
}

impl Wait {
    /// Waits as Ansible's module does: the checks of arguments it makes itself, `delay`,
    /// then polling every `sleep` seconds until `timeout` seconds after `start` (the delay
    /// counts). Gives the regex captures of a path's content that matched.
    fn wait(&self, start: Instant) -> Result<Option<Groups>, Failure> {
        let regex = self
            .search_regex
            .as_deref()
            .map(compile)
            .transpose()
            .map_err(|e| (e, None))?;
        let refuse = |msg: String| Err((msg, Some(0)));
        let (port, path) = (self.port, self.path.as_deref());
        if port.is_some() && path.is_some() {
            return refuse("port and path parameter can not both be passed to wait_for".into());
        }
        if path.is_some() && matches!(self.state, WaitState::Stopped | WaitState::Drained) {
            return refuse(format!(
                "state={} should only be used for checking a port in the wait_for module",
                self.state.name()
            ));
        }
        if self.exclude_hosts.is_some() && self.state != WaitState::Drained {
            return refuse("exclude_hosts should only be with state=drained".into());
        }
        if let Some(bad) = self
            .active_states
            .iter()
            .find(|s| drained::state_id(s).is_none())
        {
            return refuse(format!("unknown active_connection_state ({bad}) defined"));
        }

        std::thread::sleep(self.delay);
        let end = start + self.timeout;
        let timed_out = |default: String| {
            let msg = self.msg.clone().unwrap_or(default);
            Err((msg, Some(start.elapsed().as_secs())))
        };
        let host = &self.host;
        match (self.state, port, path) {
            (WaitState::Drained, None, _) => {
                Err(("`port` is required for state=drained".into(), None))
            }
            (_, None, None) => {
                std::thread::sleep(self.timeout);
                Ok(None)
            }
            (WaitState::Absent | WaitState::Stopped, _, _) => {
                let gone = || match (port, path) {
                    (_, Some(p)) => std::fs::metadata(p).is_err(),
                    (Some(n), None) => connect_any(host, n, self.connect_timeout).is_none(),
                    (None, None) => true,
                };
                if self.poll(end, || Ok(gone().then_some(())))?.is_some() {
                    return Ok(None);
                }
                match path {
                    Some(p) => timed_out(format!("Timeout when waiting for {p} to be absent.")),
                    None => timed_out(format!(
                        "Timeout when waiting for {host}:{} to stop.",
                        port.unwrap_or_default()
                    )),
                }
            }
            (WaitState::Started | WaitState::Present, Some(port), _) => {
                let up = || port_answers(host, port, self.connect_timeout, regex.as_ref(), end);
                if self.poll(end, || Ok(up().then_some(())))?.is_some() {
                    return Ok(None);
                }
                timed_out(match &self.search_regex {
                    Some(r) => {
                        format!("Timeout when waiting for search string {r} in {host}:{port}")
                    }
                    None => format!("Timeout when waiting for {host}:{port}"),
                })
            }
            (WaitState::Started | WaitState::Present, None, Some(p)) => {
                let found = || match std::fs::metadata(p) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err((
                        self.msg
                            .clone()
                            .unwrap_or_else(|| format!("Failed to stat {p}, {}", strerror(&e))),
                        Some(start.elapsed().as_secs()),
                    )),
                    Ok(_) => Ok(match &regex {
                        None => Some(None),
                        // A file that cannot be read is waited for, as Ansible does.
                        Some(re) => std::fs::read(p)
                            .ok()
                            .and_then(|text| captures(re, &text))
                            .map(Some),
                    }),
                };
                if let Some(groups) = self.poll(end, found)? {
                    return Ok(groups);
                }
                timed_out(match &self.search_regex {
                    Some(r) => format!("Timeout when waiting for search string {r} in {p}"),
                    None => format!("Timeout when waiting for file {p}"),
                })
            }
            (WaitState::Drained, Some(port), _) => {
                let states = &self.active_states;
                let exclude = self.exclude_hosts.as_deref().unwrap_or_default();
                let drain = drained::Drain::new(host, port, states, exclude)
                    .map_err(|e| (e, Some(start.elapsed().as_secs())))?;
                if self
                    .poll(end, || Ok((drain.active() == 0).then_some(())))?
                    .is_some()
                {
                    return Ok(None);
                }
                timed_out(format!("Timeout when waiting for {host}:{port} to drain"))
            }
        }
    }

    /// Ansible's loop: look, and if not yet, sleep the full `sleep` (past `end` too); a
    /// look after `end` is never made. `None` when time ran out.
    fn poll<T>(
        &self,
        end: Instant,
        mut look: impl FnMut() -> Result<Option<T>, Failure>,
    ) -> Result<Option<T>, Failure> {
        while Instant::now() < end {
            if let Some(found) = look()? {
                return Ok(Some(found));
            }
            std::thread::sleep(self.sleep);
        }
        Ok(None)
    }

    /// The result of a wait that succeeded, in Ansible's shape.
    fn done(&self, start: Instant, groups: Option<Groups>) -> Outcome {
        let elapsed = start.elapsed().as_secs();
        let (list, named) = groups.unwrap_or_default();
        let mut data = Map::new();
        data.insert("state".into(), Json::from(self.state.name()));
        data.insert("port".into(), self.port.map_or(Json::Null, Json::from));
        data.insert(
            "search_regex".into(),
            self.search_regex.clone().map_or(Json::Null, Json::from),
        );
        data.insert("match_groups".into(), Json::Array(list));
        data.insert("match_groupdict".into(), Json::Object(named));
        data.insert(
            "path".into(),
            self.path.clone().map_or(Json::Null, Json::from),
        );
        data.insert("elapsed".into(), Json::from(elapsed));
        // Ansible's `exit_json` describes a result's existing `path` (its `state` too).
        if let Some(p) = &self.path {
            super::path_info::add(&mut data, std::path::Path::new(p));
        }
        let what = match (&self.path, self.port) {
            (Some(p), _) => format!("`{p}` {}", self.state.name()),
            (None, Some(n)) => format!("{}:{n} {}", self.host, self.state.name()),
            (None, None) => "waited".into(),
        };
        Outcome {
            msg: format!("{what} after {elapsed}s"),
            data,
            ansible_shape: true,
            ..Outcome::default()
        }
    }
}

/// `search_regex` as Ansible compiles it: Python's `re` with MULTILINE, on bytes.
fn compile(pattern: &str) -> Result<Regex, String> {
    let translated = pyre::translate(pattern, true)?;
    Regex::new(&format!("(?m){translated}")).map_err(|e| format!("Invalid regular expression: {e}"))
}

/// Whether `host:port` accepts a connection (within `connect_timeout`, and no later than
/// `end`) and, with a regex, sends text matching it before `end` or closing.
fn port_answers(
    host: &str,
    port: u16,
    connect_timeout: Duration,
    regex: Option<&Regex>,
    end: Instant,
) -> bool {
    // Ansible rounds the time left up to whole seconds.
    let left = end.saturating_duration_since(Instant::now());
    let left = Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0));
    let Some(mut stream) = connect_any(host, port, connect_timeout.min(left)) else {
        return false;
    };
    let up = match regex {
        None => true,
        Some(re) => read_until_match(&mut stream, re, end),
    };
    let _ = stream.shutdown(std::net::Shutdown::Both);
    up
}

/// A connection to any address `host` resolves to; `None` when none answers.
pub(in crate::modules) fn connect_any(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Option<TcpStream> {
    let addrs = (host, port).to_socket_addrs().ok()?;
    addrs
        .into_iter()
        .find_map(|a| TcpStream::connect_timeout(&a, timeout.max(Duration::from_millis(10))).ok())
}

/// Reads from `s` until `re` matches all that was received, the peer closes, or `end`.
fn read_until_match(s: &mut TcpStream, re: &Regex, end: Instant) -> bool {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if re.is_match(&got) {
                    return true;
                }
            }
        }
    }
}

/// Regex captures: the list, and the named ones.
type Groups = (Vec<Json>, Map<String, Json>);

/// The captures of `re`'s first match in `text`, as Python's `groups()` and `groupdict()`.
fn captures(re: &Regex, text: &[u8]) -> Option<Groups> {
    let caps = re.captures(text)?;
    let text_of = |m: Option<regex::bytes::Match<'_>>| {
        m.map_or(Json::Null, |m| {
            Json::from(String::from_utf8_lossy(m.as_bytes()).into_owned())
        })
    };
    let list = caps.iter().skip(1).map(text_of).collect();
    let named = re
        .capture_names()
        .flatten()
        .map(|n| (n.to_owned(), text_of(caps.name(n))))
        .collect();
    Some((list, named))
}

#[cfg(test)]
mod tests;

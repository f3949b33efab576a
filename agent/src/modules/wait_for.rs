//! `wait_for`: wait until a TCP port opens or closes, or a path appears, disappears or
//! contains a pattern. Reads only, so it runs the same in check mode and never changes.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `wait_for` module.
pub struct WaitFor;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitForSpec {
    #[serde(default = "default_host")]
    host: String,
    port: Option<u16>,
    path: Option<String>,
    #[serde(default)]
    state: WaitState,
    search_regex: Option<String>,
    #[serde(default = "default_timeout")]
    timeout: f64,
    #[serde(default)]
    delay: f64,
    #[serde(default = "default_sleep")]
    sleep: f64,
    #[serde(default = "default_connect_timeout")]
    connect_timeout: f64,
    msg: Option<String>,
}

fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_timeout() -> f64 {
    300.0
}
fn default_sleep() -> f64 {
    1.0
}
fn default_connect_timeout() -> f64 {
    5.0
}

/// What to wait for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WaitState {
    /// The port answers / the path exists (and matches `search_regex`).
    #[default]
    Started,
    /// Same as `started`.
    Present,
    /// The port refuses connections.
    Stopped,
    /// The path does not exist (or no longer matches `search_regex`).
    Absent,
}

impl WaitState {
    fn wants_up(self) -> bool {
        matches!(self, WaitState::Started | WaitState::Present)
    }
    fn name(self) -> &'static str {
        match self {
            WaitState::Started => "started",
            WaitState::Present => "present",
            WaitState::Stopped => "stopped",
            WaitState::Absent => "absent",
        }
    }
}

/// What is being watched.
enum Target<'a> {
    Port(&'a str, u16),
    Path(&'a Path),
    /// Neither: just sleep `timeout` seconds, as Ansible does.
    Nothing,
}

impl Module for WaitFor {
    fn name(&self) -> &'static str {
        "wait_for"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "host",
            "port",
            "path",
            "state",
            "search_regex",
            "timeout",
            "delay",
            "sleep",
            "connect_timeout",
            "msg",
        ]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: WaitForSpec = parse_args("wait_for", args)?;
        let target = match (spec.port, &spec.path) {
            (Some(_), Some(_)) => {
                return Err(
                    ArgsError::new("wait_for", "give either `port` or `path`, not both").into(),
                );
            }
            (Some(port), None) => Target::Port(&spec.host, port),
            (None, Some(p)) => Target::Path(Path::new(p)),
            (None, None) => Target::Nothing,
        };
        let secs = |v: f64, key: &str| {
            if v.is_finite() && v >= 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(ArgsError::new(
                    "wait_for",
                    format!("`{key}` must be a number of seconds >= 0"),
                ))
            }
        };
        let timeout = secs(spec.timeout, "timeout")?;
        let delay = secs(spec.delay, "delay")?;
        let sleep = secs(spec.sleep, "sleep")?.max(Duration::from_millis(50));
        let connect = secs(spec.connect_timeout, "connect_timeout")?;
        let regex = match &spec.search_regex {
            Some(r) => Some(Regex::new(r).map_err(|e| {
                ArgsError::new(
                    "wait_for",
                    format!("`search_regex` is not a valid regex: {e}"),
                )
            })?),
            None => None,
        };
        if regex.is_some() && !spec.state.wants_up() && matches!(target, Target::Port(..)) {
            return Err(ArgsError::new(
                "wait_for",
                "`search_regex` on a port needs state `started`",
            )
            .into());
        }

        let start = Instant::now();
        std::thread::sleep(delay);
        let deadline = Instant::now() + timeout;
        let what = describe(&target, spec.state, spec.search_regex.as_deref());
        let mut data = Map::new();
        data.insert("state".into(), Json::from(spec.state.name()));
        if let Some(p) = spec.port {
            data.insert("port".into(), Json::from(p));
        }
        if let Some(p) = &spec.path {
            data.insert("path".into(), Json::from(p.clone()));
        }
        if let Some(r) = &spec.search_regex {
            data.insert("search_regex".into(), Json::from(r.clone()));
        }
        if matches!(target, Target::Nothing) {
            std::thread::sleep(timeout);
            data.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
            let mut outcome = Outcome::ok(format!("waited {}s", spec.timeout));
            outcome.data = data;
            return Ok(Plan::done(outcome));
        }
        loop {
            let found = probe(&target, spec.state, regex.as_ref(), connect, deadline)?;
            if let Some(groups) = found {
                data.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
                if let Some((list, named)) = groups {
                    data.insert("match_groups".into(), Json::from(list));
                    data.insert("match_groupdict".into(), Json::Object(named));
                }
                let mut outcome = Outcome::ok(format!("{what}: done"));
                outcome.data = data;
                return Ok(Plan::done(outcome));
            }
            let now = Instant::now();
            if now >= deadline {
                data.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
                let msg = spec.msg.clone().unwrap_or_else(|| {
                    format!("timeout after {}s waiting for {what}", spec.timeout)
                });
                let mut outcome = Outcome::failed(msg);
                outcome.data = data;
                return Ok(Plan::done(outcome));
            }
            std::thread::sleep(sleep.min(deadline - now));
        }
    }
}

/// `port 5432 on db-01 to be started`, for messages.
fn describe(target: &Target<'_>, state: WaitState, regex: Option<&str>) -> String {
    let what = match target {
        Target::Port(host, port) => format!("port {port} on `{host}`"),
        Target::Path(p) => format!("`{}`", p.display()),
        Target::Nothing => "nothing".into(),
    };
    match regex {
        Some(r) if state.wants_up() => format!("{what} to match `{r}`"),
        Some(r) => format!("{what} to stop matching `{r}`"),
        None => format!("{what} to be {}", state.name()),
    }
}

/// Regex captures: the list, and the named ones.
type Groups = (Vec<Json>, Map<String, Json>);

/// One look: `Some` when the wanted state holds (with regex captures when one matched).
fn probe(
    target: &Target<'_>,
    state: WaitState,
    regex: Option<&Regex>,
    connect: Duration,
    deadline: Instant,
) -> Result<Option<Option<Groups>>, ModuleError> {
    match target {
        Target::Nothing => Ok(Some(None)),
        Target::Port(host, port) => {
            let stream = connect_any(host, *port, connect);
            match (state.wants_up(), stream) {
                (true, Some(mut s)) => match regex {
                    None => Ok(Some(None)),
                    Some(re) => Ok(read_until_match(&mut s, re, deadline).map(Some)),
                },
                (false, None) => Ok(Some(None)),
                _ => Ok(None),
            }
        }
        Target::Path(p) => {
            let exists = p.exists();
            match (state.wants_up(), regex) {
                (true, None) => Ok(exists.then_some(None)),
                (false, None) => Ok((!exists).then_some(None)),
                (up, Some(re)) => {
                    let text = if exists {
                        match std::fs::read(p) {
                            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                            Err(e) => return Err(ModuleError::io("cannot read", p.display(), e)),
                        }
                    } else {
                        String::new()
                    };
                    let caps = exists.then(|| captures(re, &text)).flatten();
                    Ok(match (up, caps) {
                        (true, Some(g)) => Some(Some(g)),
                        (false, None) => Some(None),
                        _ => None,
                    })
                }
            }
        }
    }
}

/// A connection to any address `host` resolves to; `None` when none answers.
pub(super) fn connect_any(host: &str, port: u16, timeout: Duration) -> Option<TcpStream> {
    let addrs = (host, port).to_socket_addrs().ok()?;
    addrs
        .into_iter()
        .find_map(|a| TcpStream::connect_timeout(&a, timeout.max(Duration::from_millis(10))).ok())
}

/// Reads from `s` until `re` matches what was received, the peer closes, or `deadline`.
fn read_until_match(s: &mut TcpStream, re: &Regex, deadline: Instant) -> Option<Groups> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            return None;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return captures(re, &String::from_utf8_lossy(&got)),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if let Some(g) = captures(re, &String::from_utf8_lossy(&got)) {
                    return Some(g);
                }
            }
        }
    }
}

fn captures(re: &Regex, text: &str) -> Option<Groups> {
    let caps = re.captures(text)?;
    let list = caps
        .iter()
        .skip(1)
        .map(|m| m.map_or(Json::Null, |m| Json::from(m.as_str())))
        .collect();
    let named = re
        .capture_names()
        .flatten()
        .map(|n| {
            let v = caps.name(n).map_or(Json::Null, |m| Json::from(m.as_str()));
            (n.to_owned(), v)
        })
        .collect();
    Some((list, named))
}

#[cfg(test)]
mod tests;

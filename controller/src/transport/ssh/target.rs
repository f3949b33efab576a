//! Where and how to connect to one host: inventory vars (`ansible_*`/`dr_*`) first, then
//! `~/.ssh/config` as `ssh -G` resolves it (Match, Include, ProxyJump), or, without an
//! OpenSSH client, a small parser of the common keywords.

use std::path::{Path, PathBuf};

use russh::keys::ssh_key::PublicKey;
use serde_json::{Map, Value};

use super::TransportError;
use super::host_key::Trust;
use crate::inventory::connection_var;

/// Everything needed to open and authenticate the connection to one host.
#[derive(Debug, Clone)]
pub struct Target {
    /// Inventory name, for messages.
    pub host: String,
    /// Address to connect to (after `HostName`).
    pub address: String,
    /// TCP port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Key file named by inventory or `--private-key`; tried first.
    pub explicit_key: Option<PathBuf>,
    /// `IdentityFile`s from the SSH config that exist, tried after ssh-agent.
    pub identity_files: Vec<PathBuf>,
    /// `ProxyJump` hops, first hop first (`[user@]host[:port]`).
    pub proxy_jump: Vec<String>,
    /// Host-key trust for this host.
    pub trust: Trust,
    /// Extra `ssh` arguments from inventory (`ansible_ssh_common_args`/`_extra_args`), kept
    /// so jump hosts are resolved with the same `-F`/`-o` settings.
    pub ssh_args: Vec<String>,
}

/// Run-wide settings that shape every target.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// `--private-key`.
    pub private_key: Option<PathBuf>,
    /// `--accept-new-host-keys` / dr.toml.
    pub accept_new: bool,
    /// The login user when the inventory sets none (`ansible.cfg` `remote_user`).
    pub remote_user: Option<String>,
    /// The SSH config's answers so far, by `ssh -G` command line.
    pub resolved: std::sync::Arc<super::resolved::Resolved<SshConfig>>,
}

/// Resolves `host` from its merged vars. `address`, `port` and `user` come from
/// [`crate::inventory::connection_of`]; an explicit inventory port or user wins over the
/// SSH config, as in Ansible.
pub fn resolve(
    host: &str,
    address: &str,
    vars: &Map<String, Value>,
    defaults: &Defaults,
) -> Result<Target, TransportError> {
    let text = |name: &str| connection_var(vars, name).map(value_text);
    let mut args = Vec::new();
    for name in ["ssh_common_args", "ssh_extra_args"] {
        if let Some(extra) = text(name) {
            args.extend(split_words(&extra));
        }
    }
    let port = text("port").and_then(|p| p.parse::<u16>().ok());
    let user = text("user").or_else(|| defaults.remote_user.clone());
    let config = SshConfig::resolve(address, port, user.as_deref(), &args, defaults);
    let explicit_key = text("ssh_private_key_file")
        .or_else(|| text("private_key_file"))
        .map(|p| expand_tilde(&p))
        .or_else(|| defaults.private_key.clone());
    let pinned = pinned_keys(host, vars)?;
    Ok(build(host, config, explicit_key, pinned, args, defaults))
}

/// A ProxyJump hop (`[user@]host[:port]`) of `parent` as its own target: resolved through
/// the SSH config with the parent's `-F`/`-o` arguments minus the jump itself; it uses
/// `--private-key`, else the parent's key file, else its own identities.
pub fn resolve_jump(parent: &Target, hop: &str, defaults: &Defaults) -> Target {
    let (user, rest) = match hop.rsplit_once('@') {
        Some((u, r)) => (Some(u), r),
        None => (None, hop),
    };
    let (address, port) = split_host_port(rest);
    let args = without_jumps(&parent.ssh_args);
    let config = SshConfig::resolve(address, port, user, &args, defaults);
    let key = defaults
        .private_key
        .clone()
        .or_else(|| parent.explicit_key.clone());
    let label = format!("{} (jump host `{hop}`)", parent.host);
    let mut jump = build(&label, config, key, Vec::new(), args, defaults);
    jump.proxy_jump.clear();
    jump
}

/// `host`, `host:port`, `[host]:port` (how `ssh -G` prints it) or `[v6addr]:port`.
fn split_host_port(text: &str) -> (&str, Option<u16>) {
    if let Some(rest) = text.strip_prefix('[')
        && let Some((host, tail)) = rest.split_once(']')
    {
        return (host, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match text.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.parse::<u16>().is_ok() => (h, p.parse().ok()),
        _ => (text, None),
    }
}

fn build(
    host: &str,
    config: SshConfig,
    explicit_key: Option<PathBuf>,
    pinned: Vec<PublicKey>,
    ssh_args: Vec<String>,
    defaults: &Defaults,
) -> Target {
    let trust = if pinned.is_empty() {
        Trust::KnownHosts {
            record_to: defaults
                .accept_new
                .then(|| config.user_known_hosts.first().cloned())
                .flatten(),
            files: config
                .user_known_hosts
                .iter()
                .chain(config.global_known_hosts.iter())
                .cloned()
                .collect(),
        }
    } else {
        Trust::Pinned(pinned)
    };
    Target {
        host: host.to_owned(),
        address: config.hostname,
        port: config.port,
        user: config.user,
        explicit_key,
        identity_files: config
            .identity_files
            .into_iter()
            .filter(|p| p.is_file())
            .collect(),
        proxy_jump: config.proxy_jump,
        trust,
        ssh_args,
    }
}

/// `args` without `-J hop`, `-oProxyJump=...` or `-o ProxyJump ...`.
fn without_jumps(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        if a == "-J" {
            it.next();
            continue;
        }
        if a.starts_with("-J") {
            continue;
        }
        let option = match a.strip_prefix("-o") {
            Some("") => it.peek().map(|s| s.as_str()),
            Some(rest) => Some(rest),
            None => None,
        };
        if let Some(opt) = option
            && split_keyword(opt).is_some_and(|(k, _)| k == "proxyjump")
        {
            if a == "-o" {
                it.next();
            }
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// `dr_host_key`: one public key line or a list of them (`ssh-ed25519 AAAA... [comment]`,
/// optionally led by a host name as in known_hosts).
fn pinned_keys(host: &str, vars: &Map<String, Value>) -> Result<Vec<PublicKey>, TransportError> {
    let lines: Vec<String> = match vars.get("dr_host_key") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(value_text).collect(),
        Some(v) => value_text(v).lines().map(str::to_owned).collect(),
    };
    let mut keys = Vec::new();
    for line in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let start = usize::from(words.len() >= 3 && !looks_like_algorithm(words[0]));
        let text = words[start..]
            .iter()
            .take(2)
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let key = PublicKey::from_openssh(&text).map_err(|e| {
            TransportError::HostKey(format!(
                "`dr_host_key` of `{host}` is not an SSH public key (`ssh-ed25519 AAAA...`): {e}"
            ))
        })?;
        keys.push(key);
    }
    Ok(keys)
}

fn looks_like_algorithm(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-") || word.starts_with("sk-")
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The SSH config's answer for one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct SshConfig {
    hostname: String,
    port: u16,
    user: String,
    identity_files: Vec<PathBuf>,
    proxy_jump: Vec<String>,
    user_known_hosts: Vec<PathBuf>,
    global_known_hosts: Vec<PathBuf>,
}

impl SshConfig {
    /// The answer for a destination, resolved once per run for each distinct command line
    /// (see `resolved.rs`).
    fn resolve(
        address: &str,
        port: Option<u16>,
        user: Option<&str>,
        args: &[String],
        defaults: &Defaults,
    ) -> Self {
        let mut line = vec!["-G".to_owned()];
        line.extend(args.iter().cloned());
        if let Some(p) = port {
            line.extend(["-p".to_owned(), p.to_string()]);
        }
        if let Some(u) = user {
            line.extend(["-l".to_owned(), u.to_owned()]);
        }
        line.extend(["--".to_owned(), address.to_owned()]);
        defaults
            .resolved
            .get_or_resolve(line.clone(), || Self::run(&line, address, port, user, args))
    }

    /// Runs `ssh` with `line` (`-G ... -- address`), or reads the config file itself when
    /// that fails.
    fn run(
        line: &[String],
        address: &str,
        port: Option<u16>,
        user: Option<&str>,
        args: &[String],
    ) -> Self {
        let mut cmd = std::process::Command::new("ssh");
        cmd.args(line);
        cmd.stdin(std::process::Stdio::null());
        match cmd.output() {
            Ok(out) if out.status.success() => {
                tracing::debug!(%address, "resolved with `ssh -G`");
                Self::from_pairs(
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .filter_map(|l| l.split_once(' '))
                        .map(|(k, v)| (k.to_owned(), v.to_owned())),
                    address,
                )
            }
            _ => {
                tracing::debug!(%address, "`ssh -G` unavailable; reading ~/.ssh/config myself");
                let mut pairs = option_pairs(args);
                if let Some(p) = port {
                    pairs.insert(0, ("port".into(), p.to_string()));
                }
                if let Some(u) = user {
                    pairs.insert(0, ("user".into(), u.to_owned()));
                }
                let file = config_file(args);
                pairs.extend(parse_config(&file, address));
                Self::from_pairs(pairs.into_iter(), address)
            }
        }
    }

    /// Builds from `keyword value` pairs; the first value of a keyword wins (OpenSSH's rule),
    /// except `identityfile`, which accumulates.
    fn from_pairs(pairs: impl Iterator<Item = (String, String)>, address: &str) -> Self {
        let mut seen = std::collections::HashMap::<String, String>::new();
        let mut identity_files = Vec::new();
        for (k, v) in pairs {
            let k = k.to_ascii_lowercase();
            if k == "identityfile" {
                identity_files.push(expand_tilde(&v));
            } else {
                seen.entry(k).or_insert(v);
            }
        }
        if identity_files.is_empty() {
            identity_files = ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|f| expand_tilde(&format!("~/.ssh/{f}")))
                .collect();
        }
        let files = |key: &str, default: &str| -> Vec<PathBuf> {
            let list = seen.get(key).map_or(default, String::as_str);
            list.split_whitespace()
                .filter(|f| *f != "none" && *f != "/dev/null")
                .map(expand_tilde)
                .collect()
        };
        SshConfig {
            hostname: seen
                .get("hostname")
                .cloned()
                .unwrap_or_else(|| address.to_owned()),
            port: seen.get("port").and_then(|p| p.parse().ok()).unwrap_or(22),
            user: seen.get("user").cloned().unwrap_or_else(current_user),
            identity_files,
            proxy_jump: seen
                .get("proxyjump")
                .filter(|j| !j.eq_ignore_ascii_case("none"))
                .map(|j| j.split(',').map(|s| s.trim().to_owned()).collect())
                .unwrap_or_default(),
            user_known_hosts: files(
                "userknownhostsfile",
                "~/.ssh/known_hosts ~/.ssh/known_hosts2",
            ),
            global_known_hosts: files(
                "globalknownhostsfile",
                "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2",
            ),
        }
    }
}

/// `-o Key=Value` / `-o Key Value` options from `ansible_ssh_common_args`.
fn option_pairs(args: &[String]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let opt = match a.strip_prefix("-o") {
            Some("") => it.next().cloned(),
            Some(rest) => Some(rest.to_owned()),
            None => None,
        };
        if let Some(opt) = opt
            && let Some((k, v)) = split_keyword(&opt)
        {
            pairs.push((k, v));
        }
    }
    pairs
}

fn config_file(args: &[String]) -> PathBuf {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-F"
            && let Some(f) = it.next()
        {
            return expand_tilde(f);
        }
    }
    expand_tilde("~/.ssh/config")
}

fn split_keyword(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    let at = line.find(|c: char| c == '=' || c.is_whitespace())?;
    let (k, rest) = line.split_at(at);
    let v = rest.trim_start_matches(|c: char| c == '=' || c.is_whitespace());
    Some((k.to_ascii_lowercase(), v.trim_matches('"').to_owned()))
}

/// `Host` blocks of an ssh_config that apply to `address` (no `Match`, no `Include`).
fn parse_config(file: &Path, address: &str) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let mut applies = true;
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = split_keyword(line) else {
            continue;
        };
        match k.as_str() {
            "host" => {
                let mut positive = false;
                let mut negative = false;
                for p in v.split_whitespace() {
                    match p.strip_prefix('!') {
                        Some(n) => negative |= glob_match(n, address),
                        None => positive |= glob_match(p, address),
                    }
                }
                applies = positive && !negative;
            }
            "match" => applies = false,
            _ if applies => pairs.push((k, v)),
            _ => {}
        }
    }
    pairs
}

fn glob_match(pattern: &str, name: &str) -> bool {
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches(name))
}

/// Splits `ansible_ssh_common_args` like a shell would, minus expansions.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_parser_reads_host_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(
            &file,
            "Host db-* !db-9\n  HostName 10.1.1.1\n  Port 2222\n  ProxyJump bastion,jump2:2200\nHost *\n  User ops\n  Port 22\n",
        )
        .unwrap();
        let pairs = parse_config(&file, "db-1");
        let c = SshConfig::from_pairs(pairs.into_iter(), "db-1");
        assert_eq!(
            (c.hostname.as_str(), c.port, c.user.as_str()),
            ("10.1.1.1", 2222, "ops")
        );
        assert_eq!(c.proxy_jump, vec!["bastion", "jump2:2200"]);
        let c = SshConfig::from_pairs(parse_config(&file, "db-9").into_iter(), "db-9");
        assert_eq!((c.hostname.as_str(), c.port), ("db-9", 22));
    }

    #[test]
    fn common_args_split_and_options() {
        let words = split_words("-o 'UserKnownHostsFile=/tmp/a b' -oPort=2200 -F \"/x/y\"");
        assert_eq!(
            words,
            [
                "-o",
                "UserKnownHostsFile=/tmp/a b",
                "-oPort=2200",
                "-F",
                "/x/y"
            ]
        );
        let pairs = option_pairs(&words);
        assert_eq!(pairs[0], ("userknownhostsfile".into(), "/tmp/a b".into()));
        assert_eq!(pairs[1], ("port".into(), "2200".into()));
        assert_eq!(config_file(&words), PathBuf::from("/x/y"));
        let jumps: Vec<String> = [
            "-F",
            "f",
            "-o",
            "ProxyJump=a",
            "-oProxyJump b",
            "-J",
            "c",
            "-o",
            "Port=1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(without_jumps(&jumps), ["-F", "f", "-o", "Port=1"]);
        assert_eq!(
            split_host_port("[127.0.0.1]:2200"),
            ("127.0.0.1", Some(2200))
        );
        assert_eq!(split_host_port("bastion:22"), ("bastion", Some(22)));
        assert_eq!(split_host_port("bastion"), ("bastion", None));
        assert_eq!(split_host_port("[::1]:2222"), ("::1", Some(2222)));
    }

    /// Hosts whose `ssh -G` command lines are the same share one answer; any difference
    /// in address, port, user or options is its own.
    #[test]
    fn one_ssh_config_answer_per_command_line() {
        let defaults = Defaults::default();
        let vars = |port: u16, user: &str| {
            let mut vars = Map::new();
            vars.insert("ansible_port".into(), Value::from(port));
            vars.insert("ansible_user".into(), Value::from(user));
            vars
        };
        let resolve = |host: &str, address: &str, vars: &Map<String, Value>| {
            resolve(host, address, vars, &defaults).map(|t| (t.address, t.port, t.user))
        };
        let a = resolve("h1", "127.0.0.1", &vars(2201, "ops"));
        let b = resolve("h2", "127.0.0.1", &vars(2201, "ops"));
        assert_eq!(
            format!("{:?}", defaults.resolved),
            "Resolved { command_lines: 1 }"
        );
        assert_eq!(a.ok(), Some(("127.0.0.1".into(), 2201, "ops".into())));
        assert_eq!(b.ok(), Some(("127.0.0.1".into(), 2201, "ops".into())));
        let c = resolve("h3", "127.0.0.1", &vars(2202, "ops"));
        let d = resolve("h4", "127.0.0.1", &vars(2201, "app"));
        let e = resolve("h5", "127.0.0.2", &vars(2201, "ops"));
        assert_eq!(
            format!("{:?}", defaults.resolved),
            "Resolved { command_lines: 4 }"
        );
        assert_eq!(c.ok().map(|t| t.1), Some(2202));
        assert_eq!(d.ok().map(|t| t.2), Some("app".into()));
        assert_eq!(e.ok().map(|t| t.0), Some("127.0.0.2".into()));
    }

    #[test]
    fn pinned_key_forms() {
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN0rPS0hqPk7CBR5KWFU80U+zS56x8lAp8/DN/Mf8eDA";
        let mut vars = Map::new();
        vars.insert(
            "dr_host_key".into(),
            Value::String(format!("web1 {key} root@x")),
        );
        assert_eq!(pinned_keys("web1", &vars).unwrap().len(), 1);
        vars.insert("dr_host_key".into(), serde_json::json!([key, key]));
        assert_eq!(pinned_keys("web1", &vars).unwrap().len(), 2);
        vars.insert("dr_host_key".into(), Value::String("nonsense".into()));
        let err = pinned_keys("web1", &vars).unwrap_err().to_string();
        assert!(err.contains("`dr_host_key` of `web1`"), "{err}");
    }
}

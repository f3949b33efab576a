//! `ansible.cfg`, found as Ansible finds it (`ANSIBLE_CONFIG`, `./ansible.cfg`,
//! `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`; never from a world-writable working
//! directory): the settings dr shares with Ansible fill what `dr.toml` leaves unset.
//!
//! Settings that change what a play does and that dr does not implement (`become_method`
//! other than sudo, `hash_behaviour = merge`, `gathering = explicit`, ...) are refused with their
//! location, never ignored. Display and connection-tuning settings (callbacks, retry
//! files, pipelining, SSH arguments) do not change what runs and are left to Ansible.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Loc};

/// What dr takes from `ansible.cfg`. Paths are resolved against the file's directory.
#[derive(Debug, Clone, Default)]
pub struct AnsibleCfg {
    /// The file read.
    pub path: PathBuf,
    /// `[defaults] inventory` (comma-separated).
    pub inventory: Vec<PathBuf>,
    /// `[defaults] roles_path` (colon-separated).
    pub roles_path: Vec<PathBuf>,
    /// `[defaults] collections_path(s)` (colon-separated).
    pub collections_path: Vec<PathBuf>,
    /// `[defaults] vault_password_file`.
    pub vault_password_file: Option<PathBuf>,
    /// `[defaults] remote_user`.
    pub remote_user: Option<String>,
    /// `[defaults] private_key_file`.
    pub private_key_file: Option<PathBuf>,
    /// `[defaults] forks`.
    pub forks: Option<usize>,
    /// `[defaults] timeout` (connect timeout, seconds).
    pub timeout: Option<u64>,
    /// `[defaults] host_key_checking`.
    pub host_key_checking: Option<bool>,
    /// `[inventory] host_pattern_mismatch`.
    pub host_pattern_mismatch: Option<crate::dag::Mismatch>,
    /// `[defaults] error_on_missing_handler`.
    pub error_on_missing_handler: Option<bool>,
    /// `[defaults] private_role_vars`.
    pub private_role_vars: Option<bool>,
    /// `[defaults] allow_broken_conditionals`.
    pub allow_broken_conditionals: Option<bool>,
    /// `[defaults] fact_caching*`: the fact cache.
    pub fact_caching: FactCaching,
    /// `[privilege_escalation] become`.
    pub become_: Option<bool>,
    /// `[privilege_escalation] become_user`.
    pub become_user: Option<String>,
}

/// `[defaults] fact_caching`, `fact_caching_connection`, `fact_caching_prefix` and
/// `fact_caching_timeout`, each with its line (see `crate::fact_cache`).
#[derive(Debug, Clone, Default)]
pub struct FactCaching {
    /// `fact_caching`: the cache plugin.
    pub plugin: Option<(String, u32)>,
    /// `fact_caching_connection`: the jsonfile cache's directory (resolved as a path).
    pub connection: Option<(PathBuf, u32)>,
    /// `fact_caching_prefix`: put before each host's file name.
    pub prefix: Option<(String, u32)>,
    /// `fact_caching_timeout`: seconds a host's cached facts stay valid (0: forever).
    pub timeout: Option<(i64, u32)>,
}

/// Where Ansible would read its configuration from, if anywhere.
pub fn find(cwd: &Path) -> Option<PathBuf> {
    if let Some(env) = std::env::var_os("ANSIBLE_CONFIG").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(env);
        let p = if p.is_dir() { p.join("ansible.cfg") } else { p };
        if p.is_file() {
            return Some(p);
        }
    }
    let local = cwd.join("ansible.cfg");
    if local.is_file() {
        if world_writable(cwd) {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                tracing::warn!(
                    "ignoring `{}`: the working directory is world-writable, so anyone could have written it (as Ansible does)",
                    local.display()
                );
            });
        } else {
            return Some(local);
        }
    }
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ansible.cfg"));
    home.into_iter()
        .chain(std::iter::once(PathBuf::from("/etc/ansible/ansible.cfg")))
        .find(|p| p.is_file())
}

fn world_writable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o002 != 0)
}

/// Reads one `ansible.cfg`.
pub fn read(path: &Path) -> Result<AnsibleCfg, Diagnostic> {
    let text = crate::input_file::read_to_string(path)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut cfg = AnsibleCfg {
        path: path.to_path_buf(),
        ..AnsibleCfg::default()
    };
    for entry in entries(&text) {
        let at = |msg: String| {
            Diagnostic::new(
                Loc::new(path.display().to_string().into(), entry.line, 1),
                msg,
            )
        };
        apply(&mut cfg, &entry, &base).map_err(|(msg, help)| {
            let d = at(msg);
            match help {
                Some(h) => d.with_help(h),
                None => d,
            }
        })?;
    }
    Ok(cfg)
}

/// One `key = value` of a section.
struct Entry {
    section: String,
    key: String,
    value: String,
    line: u32,
}

/// Python's configparser as Ansible uses it: `[section]`, `key = value` or `key: value`,
/// `#`/`;` comment lines, ` ;` inline comments, indented continuation lines.
fn entries(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if raw.starts_with([' ', '\t'])
            && let Some(last) = out.last_mut()
            && last.section == section
        {
            last.value.push('\n');
            last.value.push_str(strip_inline(trimmed));
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        let split = trimmed.find(['=', ':']);
        let (key, value) = match split {
            Some(at) => (&trimmed[..at], &trimmed[at + 1..]),
            None => (trimmed, ""),
        };
        out.push(Entry {
            section: section.clone(),
            key: key.trim().to_ascii_lowercase(),
            value: strip_inline(value.trim()).to_owned(),
            line: line_no,
        });
    }
    out
}

fn strip_inline(v: &str) -> &str {
    match v.find(" ;").or_else(|| v.find("\t;")) {
        Some(at) => v[..at].trim_end(),
        None => v,
    }
}

type Refusal = (String, Option<String>);

fn apply(cfg: &mut AnsibleCfg, e: &Entry, base: &Path) -> Result<(), Refusal> {
    let v = e.value.as_str();
    let key = e.key.as_str();
    match (e.section.as_str(), key) {
        ("defaults", "inventory" | "hostfile") => {
            cfg.inventory = split(v, ',').map(|p| resolve(p, base)).collect();
        }
        ("defaults", "roles_path") => {
            cfg.roles_path = split(v, ':').map(|p| resolve(p, base)).collect();
        }
        ("defaults", "collections_path" | "collections_paths") => {
            cfg.collections_path = split(v, ':').map(|p| resolve(p, base)).collect();
        }
        ("defaults", "vault_password_file") => {
            cfg.vault_password_file = Some(resolve(v, base));
        }
        ("defaults", "remote_user") => cfg.remote_user = Some(v.to_owned()),
        ("defaults", "private_key_file") => cfg.private_key_file = Some(resolve(v, base)),
        ("defaults", "forks") => cfg.forks = Some(number(key, v)?),
        ("defaults", "timeout") => cfg.timeout = Some(number(key, v)?),
        ("defaults", "host_key_checking") => cfg.host_key_checking = Some(boolean(key, v)?),
        ("defaults", "error_on_missing_handler") => {
            cfg.error_on_missing_handler = Some(boolean(key, v)?)
        }
        ("defaults", "private_role_vars") => cfg.private_role_vars = Some(boolean(key, v)?),
        ("defaults", "allow_broken_conditionals") => {
            cfg.allow_broken_conditionals = Some(boolean(key, v)?);
        }
        ("defaults", "fact_caching") => cfg.fact_caching.plugin = Some((v.to_owned(), e.line)),
        ("defaults", "fact_caching_connection") => {
            cfg.fact_caching.connection = Some((resolve(v, base), e.line));
        }
        ("defaults", "fact_caching_prefix") => {
            cfg.fact_caching.prefix = Some((v.to_owned(), e.line));
        }
        ("defaults", "fact_caching_timeout") => {
            cfg.fact_caching.timeout = Some((number(key, v)?, e.line));
        }
        ("inventory", "host_pattern_mismatch") => {
            cfg.host_pattern_mismatch = Some(crate::dag::Mismatch::parse(v).ok_or_else(|| {
                (
                    format!(
                        "`{key} = {v}` in ansible.cfg is not one of `error`, `warning`, `ignore`"
                    ),
                    None,
                )
            })?);
        }
        ("privilege_escalation", "become") => cfg.become_ = Some(boolean(key, v)?),
        ("privilege_escalation", "become_ask_pass") if !boolean(key, v)? => {}
        ("privilege_escalation", "become_user") => cfg.become_user = Some(v.to_owned()),
        ("privilege_escalation", "become_method") if v == "sudo" => {}
        ("privilege_escalation", _) => {
            return Err((
                format!("`{key} = {v}` in ansible.cfg is not supported by dr yet"),
                Some("set `become_method:` on the plays instead; dr takes privilege escalation from the playbook and the inventory's `ansible_become*` vars".into()),
            ));
        }
        ("defaults", "async_dir") if v == dr_agent::async_job::DEFAULT_DIR => {}
        ("defaults", "async_dir") => {
            return Err((
                format!("`{key} = {v}` in ansible.cfg is not supported by dr"),
                Some("set the `ansible_async_dir` variable (in the inventory, say) instead".into()),
            ));
        }
        ("defaults", "hash_behaviour") if v == "replace" => {}
        ("defaults", "gathering") if v == "implicit" => {}
        ("defaults", "error_on_undefined_vars") if boolean(key, v)? => {}
        ("defaults", "jinja2_native" | "any_errors_fatal") if !boolean(key, v)? => {}
        ("defaults", "strategy") if matches!(v, "linear" | "free" | "host_pinned") => {}
        (
            "defaults",
            "hash_behaviour"
            | "gathering"
            | "error_on_undefined_vars"
            | "jinja2_native"
            | "any_errors_fatal"
            | "strategy"
            | "module_defaults"
            | "force_handlers"
            | "max_fail_percentage",
        ) => {
            return Err((
                format!("`{key} = {v}` in ansible.cfg changes what plays do and is not supported by dr"),
                Some("remove it (dr runs with Ansible's default for it), or say it in the playbook where dr supports the keyword".into()),
            ));
        }
        _ => {}
    }
    Ok(())
}

fn split(v: &str, sep: char) -> impl Iterator<Item = &str> {
    v.split([sep, '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Ansible's path handling: `~` and `$VAR` expanded, relative to the file's directory.
pub(crate) fn resolve(p: &str, base: &Path) -> PathBuf {
    let expanded = expand_vars(p);
    let expanded = match (expanded.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ if expanded == "~" => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default(),
        _ => PathBuf::from(&expanded),
    };
    if expanded.is_relative() {
        base.join(expanded)
    } else {
        expanded
    }
}

fn expand_vars(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], &inner[end + 1..]),
                None => ("", after),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        match std::env::var(name) {
            Ok(value) if !name.is_empty() => out.push_str(&value),
            // Python's expandvars leaves unknown variables as written.
            _ => out.push_str(&rest[at..rest.len() - tail.len()]),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

fn number<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, Refusal> {
    v.parse().map_err(|_| {
        (
            format!("`{key}` in ansible.cfg must be a number, not `{v}`"),
            None,
        )
    })
}

fn boolean(key: &str, v: &str) -> Result<bool, Refusal> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Ok(true),
        "0" | "no" | "n" | "false" | "f" | "off" | "" => Ok(false),
        _ => Err((
            format!("`{key}` in ansible.cfg must be a boolean, not `{v}`"),
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AnsibleCfg, Diagnostic> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ansible.cfg");
        std::fs::write(&path, text).unwrap();
        let cfg = read(&path)?;
        Ok(AnsibleCfg {
            inventory: cfg
                .inventory
                .iter()
                .map(|p| p.strip_prefix(dir.path()).unwrap_or(p).to_path_buf())
                .collect(),
            ..cfg
        })
    }

    #[test]
    fn reads_the_settings_dr_shares_with_ansible() {
        let cfg = parse(
            "# comment\n[defaults]\ninventory = hosts.ini, more.yml ; inline\nforks: 7\nremote_user = deploy\nhost_key_checking = False\nretry_files_enabled = False\nroles_path = roles:/opt/roles\n[ssh_connection]\npipelining = True\n[inventory]\nhost_pattern_mismatch = warning\n",
        )
        .unwrap();
        assert_eq!(
            cfg.host_pattern_mismatch,
            Some(crate::dag::Mismatch::Warning)
        );
        assert_eq!(
            cfg.inventory,
            vec![PathBuf::from("hosts.ini"), PathBuf::from("more.yml")]
        );
        assert_eq!(cfg.forks, Some(7));
        assert_eq!(cfg.remote_user.as_deref(), Some("deploy"));
        assert_eq!(cfg.host_key_checking, Some(false));
        assert_eq!(cfg.roles_path.len(), 2);
        assert_eq!(cfg.roles_path[1], PathBuf::from("/opt/roles"));
    }

    #[test]
    fn settings_that_change_plays_are_refused_with_their_line() {
        let err = parse("[defaults]\nforks = 5\nhash_behaviour = merge\n").unwrap_err();
        assert_eq!(err.loc.line, 3);
        assert!(
            err.message.contains("hash_behaviour = merge"),
            "{}",
            err.message
        );
        let err = parse("[privilege_escalation]\nbecome_method = doas\n").unwrap_err();
        assert!(
            err.message.contains("become_method = doas"),
            "{}",
            err.message
        );
        let cfg = parse("[privilege_escalation]\nbecome = True\nbecome_user = postgres\n").unwrap();
        assert_eq!(cfg.become_, Some(true));
        assert_eq!(cfg.become_user.as_deref(), Some("postgres"));
        // Ansible's defaults, written out, are fine.
        parse("[privilege_escalation]\nbecome = False\nbecome_method = sudo\n[defaults]\ngathering = implicit\n").unwrap();
    }

    #[test]
    fn a_bad_number_is_located() {
        let err = parse("[defaults]\n\nforks = many\n").unwrap_err();
        assert_eq!(err.loc.line, 3);
    }
}

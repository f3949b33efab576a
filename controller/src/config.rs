//! `dr.toml`: project defaults, found by walking up from the working directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Loc};

/// The file name looked for.
pub const FILE_NAME: &str = "dr.toml";

/// Project defaults. Relative paths are relative to the directory holding `dr.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Default inventory sources (`-i`).
    #[serde(default, deserialize_with = "one_or_many")]
    pub inventory: Vec<PathBuf>,
    /// Vault files whose vars every run loads (like `-e @vault/x.yml`).
    #[serde(default, deserialize_with = "one_or_many")]
    pub vault: Vec<PathBuf>,
    /// File holding the vault passphrase.
    pub vault_password_file: Option<PathBuf>,
    /// age identity files for the vault.
    #[serde(default, deserialize_with = "one_or_many")]
    pub vault_identity: Vec<PathBuf>,
    /// The team key: a passphrase-protected age identity file (default `vault/.key.age`).
    pub vault_key_file: Option<PathBuf>,
    /// Parallel nodes (`--forks`).
    pub forks: Option<usize>,
    /// Where journals go (default `.dr/runs`).
    pub journal_dir: Option<PathBuf>,
    /// Accept unknown host keys on first contact (default false).
    pub accept_new_host_keys: Option<bool>,
    /// Connect timeout in seconds.
    pub connect_timeout: Option<u64>,
    /// Where roles are looked for, before `ANSIBLE_ROLES_PATH` and Ansible's defaults
    /// (`roles/` beside the playbook always comes first).
    #[serde(default, deserialize_with = "one_or_many")]
    pub roles_path: Vec<PathBuf>,
    /// The Python that runs ansible-core, for modules dr runs through the module bridge
    /// (a path or a command on `PATH`; default: the one `ansible-playbook` runs with).
    pub ansible_python: Option<PathBuf>,
    /// The directory holding `dr.toml` (not read from the file).
    #[serde(skip)]
    pub root: Option<PathBuf>,
    /// The SSH user when the inventory sets none (`ansible.cfg` `remote_user`).
    #[serde(skip)]
    pub remote_user: Option<String>,
    /// The SSH key when the inventory and `--private-key` set none (`ansible.cfg`
    /// `private_key_file`).
    #[serde(skip)]
    pub private_key_file: Option<PathBuf>,
    /// Collection roots (`ansible.cfg` `collections_path`), searched for roles and bridged
    /// modules before `ANSIBLE_COLLECTIONS_PATH`.
    #[serde(skip)]
    pub collections_path: Vec<PathBuf>,
    /// The `ansible.cfg` whose settings fill what `dr.toml` leaves unset.
    #[serde(skip)]
    pub ansible_cfg: Option<PathBuf>,
    /// `ansible.cfg`'s `[inventory] host_pattern_mismatch`.
    #[serde(skip)]
    pub host_pattern_mismatch: Option<crate::dag::Mismatch>,
    /// `ansible.cfg`'s `[defaults] error_on_missing_handler`.
    #[serde(skip)]
    pub error_on_missing_handler: Option<bool>,
    /// `ansible.cfg`'s `[defaults] private_role_vars`.
    #[serde(skip)]
    pub private_role_vars: Option<bool>,
    /// `ansible.cfg`'s `[defaults] allow_broken_conditionals`.
    #[serde(skip)]
    pub allow_broken_conditionals: Option<bool>,
    /// `ansible.cfg`'s `[defaults] fact_caching*` (read by `crate::fact_cache`).
    #[serde(skip)]
    pub fact_caching: crate::ansible_cfg::FactCaching,
    /// `ansible.cfg`'s `[privilege_escalation] become`.
    #[serde(skip)]
    pub become_: Option<bool>,
    /// `ansible.cfg`'s `[privilege_escalation] become_user`.
    #[serde(skip)]
    pub become_user: Option<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(v) => v,
    })
}

impl Config {
    /// Finds and reads `dr.toml` from `start` upwards; no file means defaults. A `dr.toml`
    /// that anyone could have written (in a world-writable directory, or world-writable
    /// itself) is ignored with a warning, as Ansible ignores `ansible.cfg` in a
    /// world-writable directory: it names the inventory, vault and journal a run uses.
    pub fn discover(start: &Path) -> Result<Config, Diagnostic> {
        let mut config = Self::discover_own(start)?;
        if let Some(path) = crate::ansible_cfg::find(start) {
            config.fill_from(crate::ansible_cfg::read(&path)?);
        }
        Ok(config)
    }

    /// Fills what `dr.toml` leaves unset from `ansible.cfg` (dr.toml wins).
    fn fill_from(&mut self, cfg: crate::ansible_cfg::AnsibleCfg) {
        let rel = |p: PathBuf| relative_to_cwd(&p);
        if self.inventory.is_empty() {
            self.inventory = cfg.inventory.into_iter().map(rel).collect();
        }
        if self.roles_path.is_empty() {
            self.roles_path = cfg.roles_path.into_iter().map(rel).collect();
        }
        if self.vault_password_file.is_none() {
            self.vault_password_file = cfg.vault_password_file.map(rel);
        }
        self.forks = self.forks.or(cfg.forks);
        self.connect_timeout = self.connect_timeout.or(cfg.timeout);
        self.collections_path = cfg.collections_path.into_iter().map(rel).collect();
        self.remote_user = cfg.remote_user;
        self.private_key_file = cfg.private_key_file;
        if cfg.host_key_checking == Some(false) {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                tracing::warn!(
                    "`{}` turns host_key_checking off; dr keeps verifying host keys (use --accept-new-host-keys on first contact)",
                    cfg.path.display()
                );
            });
        }
        self.host_pattern_mismatch = cfg.host_pattern_mismatch;
        self.error_on_missing_handler = cfg.error_on_missing_handler;
        self.private_role_vars = cfg.private_role_vars;
        self.allow_broken_conditionals = cfg.allow_broken_conditionals;
        self.fact_caching = cfg.fact_caching;
        self.become_ = cfg.become_;
        self.become_user = cfg.become_user;
        self.ansible_cfg = Some(cfg.path);
    }

    /// What a `hosts:` term that matches nothing does: `ANSIBLE_HOST_PATTERN_MISMATCH`,
    /// else ansible.cfg, else an error (dr's default; Ansible's is a warning).
    pub fn pattern_mismatch(&self) -> Result<crate::dag::Mismatch, Diagnostic> {
        match std::env::var("ANSIBLE_HOST_PATTERN_MISMATCH") {
            Ok(v) if !v.is_empty() => crate::dag::Mismatch::parse(&v).ok_or_else(|| {
                Diagnostic::new(
                    crate::diagnostic::Loc::new("ANSIBLE_HOST_PATTERN_MISMATCH".into(), 1, 1),
                    format!("`{v}` is not one of `error`, `warning`, `ignore`"),
                )
            }),
            _ => Ok(self.host_pattern_mismatch.unwrap_or_default()),
        }
    }

    /// `ANSIBLE_ASYNC_DIR`: dr takes the async directory from the `ansible_async_dir`
    /// variable (or Ansible's default), so another directory here is refused, not ignored.
    pub fn check_async_dir(&self) -> Result<(), Diagnostic> {
        match std::env::var("ANSIBLE_ASYNC_DIR") {
            Ok(v) if !v.is_empty() && v != dr_agent::async_job::DEFAULT_DIR => {
                Err(Diagnostic::new(
                    crate::diagnostic::Loc::new("ANSIBLE_ASYNC_DIR".into(), 1, 1),
                    format!("`ANSIBLE_ASYNC_DIR={v}` is not supported by dr"),
                )
                .with_help("set the `ansible_async_dir` variable (in the inventory, say) instead"))
            }
            _ => Ok(()),
        }
    }

    /// Ansible's `ALLOW_BROKEN_CONDITIONALS` (`ANSIBLE_ALLOW_BROKEN_CONDITIONALS`, else
    /// ansible.cfg's `allow_broken_conditionals`, else false): a conditional whose result is
    /// not a boolean is its truthiness, with a deprecation, rather than an error.
    pub fn allow_broken_conditionals(&self) -> Result<bool, Diagnostic> {
        Ok(env_bool("ANSIBLE_ALLOW_BROKEN_CONDITIONALS")?
            .or(self.allow_broken_conditionals)
            .unwrap_or(false))
    }

    /// Whether notifying a handler that does not exist fails the task (Ansible's
    /// `ERROR_ON_MISSING_HANDLER`: `ANSIBLE_ERROR_ON_MISSING_HANDLER`, else ansible.cfg,
    /// else true) or only warns.
    pub fn error_on_missing_handler(&self) -> Result<bool, Diagnostic> {
        Ok(env_bool("ANSIBLE_ERROR_ON_MISSING_HANDLER")?
            .or(self.error_on_missing_handler)
            .unwrap_or(true))
    }

    /// Ansible's `DEFAULT_PRIVATE_ROLE_VARS` when it is set (`ANSIBLE_PRIVATE_ROLE_VARS`,
    /// else ansible.cfg's `private_role_vars`): whether roles keep their defaults and vars
    /// to their own tasks. Unset, imported roles share them with the play and included
    /// roles do not.
    pub fn private_role_vars(&self) -> Result<Option<bool>, Diagnostic> {
        Ok(env_bool("ANSIBLE_PRIVATE_ROLE_VARS")?.or(self.private_role_vars))
    }

    /// What plays escalate to when they do not say, as Ansible's `DEFAULT_BECOME` and
    /// `DEFAULT_BECOME_USER`: `-b` (`cli_on`) or `ANSIBLE_BECOME` or ansible.cfg's
    /// `become`; `--become-user` (`cli_user`), else `ANSIBLE_BECOME_USER`, else
    /// ansible.cfg's `become_user`.
    pub fn become_defaults(
        &self,
        cli_on: bool,
        cli_user: Option<&str>,
    ) -> Result<crate::playbook::BecomeDefaults, Diagnostic> {
        let on = cli_on
            || env_bool("ANSIBLE_BECOME")?
                .or(self.become_)
                .unwrap_or(false);
        let user = cli_user
            .map(str::to_owned)
            .or_else(|| {
                std::env::var("ANSIBLE_BECOME_USER")
                    .ok()
                    .filter(|u| !u.is_empty())
            })
            .or_else(|| self.become_user.clone());
        Ok(crate::playbook::BecomeDefaults { on, user })
    }

    /// `ANSIBLE_DEBUG`: with `--format ansible`, the debug lines Ansible prints about what
    /// dr also does (the implicit handler flushes); none of Ansible's internals.
    pub fn ansible_debug(&self) -> bool {
        std::env::var("ANSIBLE_DEBUG").is_ok_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "1" | "yes" | "y" | "true" | "t" | "on"
            )
        })
    }

    fn discover_own(start: &Path) -> Result<Config, Diagnostic> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            let candidate = d.join(FILE_NAME);
            if candidate.is_file() {
                if let Some(why) = untrusted(&candidate) {
                    // Several parts of one command discover the config; say it once.
                    static SAID: std::sync::Once = std::sync::Once::new();
                    SAID.call_once(|| tracing::warn!(
                        "ignoring `{}`: {why}, so anyone could have written it; using the defaults (move it, or `chmod o-w` the directory)",
                        candidate.display()
                    ));
                    return Ok(Config::default());
                }
                return Config::read(&candidate);
            }
            dir = d.parent();
        }
        Ok(Config::default())
    }

    /// Reads one `dr.toml`.
    pub fn read(path: &Path) -> Result<Config, Diagnostic> {
        let text = std::fs::read_to_string(path).map_err(|e| Diagnostic::io(path, &e))?;
        let mut config: Config = toml::from_str(&text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((1, 1));
            Diagnostic::new(
                Loc::new(path.display().to_string().into(), line, col),
                format!("invalid `{FILE_NAME}`: {}", e.message()),
            )
        })?;
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = relative_to_cwd(&root.join(&*p));
            }
        };
        config.inventory.iter_mut().for_each(rebase);
        config.vault.iter_mut().for_each(rebase);
        config.vault_identity.iter_mut().for_each(rebase);
        config.vault_password_file.iter_mut().for_each(rebase);
        config.vault_key_file.iter_mut().for_each(rebase);
        config.journal_dir.iter_mut().for_each(rebase);
        config.roles_path.iter_mut().for_each(rebase);
        config.root = Some(root);
        Ok(config)
    }

    /// The team key file: `vault_key_file`, else `vault/.key.age` beside `dr.toml` (or in
    /// the working directory without one).
    pub fn vault_key_file(&self) -> PathBuf {
        self.vault_key_file.clone().unwrap_or_else(|| {
            relative_to_cwd(
                &self
                    .root
                    .clone()
                    .unwrap_or_default()
                    .join(crate::vault::team_key::DEFAULT_KEY_FILE),
            )
        })
    }

    /// Where apply locks go (`.dr/locks` beside `dr.toml`, else in the working directory).
    pub fn lock_dir(&self) -> PathBuf {
        relative_to_cwd(&self.root.clone().unwrap_or_default().join(".dr/locks"))
    }

    /// Where journals go.
    pub fn journal_dir(&self) -> PathBuf {
        self.journal_dir.clone().unwrap_or_else(|| {
            relative_to_cwd(&self.root.clone().unwrap_or_default().join(".dr/runs"))
        })
    }
}

/// Why `file` cannot be trusted as configuration, if it cannot.
fn untrusted(file: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let world_writable =
        |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o002 != 0);
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if world_writable(dir) {
        return Some(format!(
            "its directory `{}` is world-writable",
            dir.display()
        ));
    }
    if world_writable(file) {
        return Some("it is world-writable".to_owned());
    }
    None
}

/// Shortens `path` to be relative to the working directory when it lies below it, so
/// messages show `inventory/staging.yml` rather than a long absolute path.
pub(crate) fn relative_to_cwd(path: &Path) -> PathBuf {
    let Ok(cwd) = std::env::current_dir() else {
        return path.to_path_buf();
    };
    match path.strip_prefix(&cwd) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line as u32, col as u32)
}

/// A boolean environment variable as Ansible reads it; `None` when unset or empty.
fn env_bool(name: &str) -> Result<Option<bool>, Diagnostic> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => match v.to_ascii_lowercase().as_str() {
            "1" | "yes" | "y" | "true" | "t" | "on" => Ok(Some(true)),
            "0" | "no" | "n" | "false" | "f" | "off" => Ok(Some(false)),
            _ => Err(Diagnostic::new(
                crate::diagnostic::Loc::new(name.into(), 1, 1),
                format!("`{v}` is not a boolean"),
            )),
        },
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_upwards_and_rebases_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            "inventory = \"inventory/staging.yml\"\nforks = 7\n",
        )
        .unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        let config = Config::discover(&sub).unwrap();
        assert_eq!(config.forks, Some(7));
        assert_eq!(
            config.inventory,
            vec![dir.path().join("inventory/staging.yml")]
        );
    }

    #[test]
    fn world_writable_directory_or_file_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::write(shared.join(FILE_NAME), "forks = 7\n").unwrap();
        assert_eq!(Config::discover(&shared).unwrap().forks, Some(7));
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(
            untrusted(&shared.join(FILE_NAME)),
            Some(format!(
                "its directory `{}` is world-writable",
                shared.display()
            ))
        );
        assert_eq!(Config::discover(&shared).unwrap().forks, None);
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(
            shared.join(FILE_NAME),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        assert_eq!(
            untrusted(&shared.join(FILE_NAME)),
            Some("it is world-writable".to_owned())
        );
        assert_eq!(Config::discover(&shared).unwrap().forks, None);
    }

    #[test]
    fn unknown_key_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE_NAME);
        std::fs::write(&file, "forks = 3\ninventry = \"x\"\n").unwrap();
        let err = Config::read(&file).unwrap_err();
        assert_eq!((err.loc.line, err.loc.col), (2, 1));
        assert!(
            err.message.contains("unknown field `inventry`"),
            "{}",
            err.message
        );
    }
}

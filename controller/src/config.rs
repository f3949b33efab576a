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
    /// The directory holding `dr.toml` (not read from the file).
    #[serde(skip)]
    pub root: Option<PathBuf>,
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
    /// Finds and reads `dr.toml` from `start` upwards; no file means defaults.
    pub fn discover(start: &Path) -> Result<Config, Diagnostic> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            let candidate = d.join(FILE_NAME);
            if candidate.is_file() {
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
        config.journal_dir.iter_mut().for_each(rebase);
        config.roles_path.iter_mut().for_each(rebase);
        config.root = Some(root);
        Ok(config)
    }

    /// Where journals go.
    pub fn journal_dir(&self) -> PathBuf {
        self.journal_dir.clone().unwrap_or_else(|| {
            relative_to_cwd(&self.root.clone().unwrap_or_default().join(".dr/runs"))
        })
    }
}

/// Shortens `path` to be relative to the working directory when it lies below it, so
/// messages show `inventory/staging.yml` rather than a long absolute path.
fn relative_to_cwd(path: &Path) -> PathBuf {
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

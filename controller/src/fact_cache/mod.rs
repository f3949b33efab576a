//! The fact cache: host facts kept across runs, as Ansible's `jsonfile` cache plugin keeps
//! them, so dr and ansible-playbook read each other's cache.
//!
//! A host's cached facts are its host facts when a run starts (the level of facts gathered
//! by `setup`, below play vars). The facts gathered in a run (`setup`, a module's
//! `ansible_facts`) and those of a `set_fact` with `cacheable: true` are written to the
//! host's file when a play ends on the host (Ansible writes them as each task sets them).
//! `--flush-cache` removes the files of every inventory host and `localhost` first.

mod jsonfile;
pub mod settings;

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

pub use settings::Plugin;

/// The key prefix of ansible-core 2.19's cache schema (its `PluginInterposer`): a host's
/// file is `<prefix>s1_<host>`.
const SCHEMA_PREFIX: &str = "s1_";

/// A `jsonfile` fact cache: one file per host in a directory.
#[derive(Debug)]
pub struct FactCache {
    dir: PathBuf,
    prefix: String,
    /// Seconds a file stays valid after it was written; 0: forever.
    timeout: i64,
    /// Hosts whose file was read in this run (each is read once).
    loaded: Mutex<HashSet<String>>,
}

/// Why the fact cache could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FactCacheError {
    /// The directory could not be created or is not usable.
    #[error("the `jsonfile` fact cache directory `{dir}` cannot be used: {reason}")]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// A host's file could not be read.
    #[error("cannot read the fact cache file `{file}`: {reason}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        reason: String,
    },
    /// A host's file is not a cache file; as Ansible does, it was removed.
    #[error(
        "The cache file {} was corrupt, or did not otherwise contain valid data. It has been removed, so you can re-run your command now.",
        file.display()
    )]
    Corrupt {
        /// The file.
        file: PathBuf,
    },
    /// A host's file holds data dr cannot read.
    #[error("cannot read the fact cache file `{file}`: {reason}")]
    Unreadable {
        /// The file.
        file: PathBuf,
        /// Why.
        reason: jsonfile::DecodeError,
    },
}

impl FactCache {
    /// Opens the cache `plugin` names (none for `memory`), creating its directory when
    /// missing and checking that it can be used, as Ansible's file caches do.
    pub fn open(plugin: Plugin) -> Result<Option<FactCache>, FactCacheError> {
        let Plugin::JsonFile {
            dir,
            prefix,
            timeout,
        } = plugin
        else {
            return Ok(None);
        };
        let dir_error = |e: &std::io::Error| FactCacheError::Dir {
            dir: dir.clone(),
            reason: crate::diagnostic::io_reason(e),
        };
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| dir_error(&e))?;
        }
        let probe = std::fs::read_dir(&dir).map_err(|e| dir_error(&e))?;
        drop(probe);
        Ok(Some(FactCache {
            dir,
            prefix,
            timeout,
            loaded: Mutex::new(HashSet::new()),
        }))
    }

    /// The file of `host`.
    pub fn file_of(&self, host: &str) -> PathBuf {
        self.dir
            .join(format!("{}{SCHEMA_PREFIX}{host}", self.prefix))
    }

    /// `host`'s cached facts the first time it is asked for in the run (`None` after, or
    /// when there are none, or they expired), with the `ansible_facts` namespace Ansible
    /// derives from them.
    pub fn load_once(&self, host: &str) -> Result<Option<Map<String, Value>>, FactCacheError> {
        let first = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_owned());
        if !first {
            return Ok(None);
        }
        let file = self.file_of(host);
        if self.expired(&file) {
            return Ok(None);
        }
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(FactCacheError::Read {
                    file,
                    reason: crate::diagnostic::io_reason(&e),
                });
            }
        };
        let facts = match jsonfile::decode(&text) {
            Ok(facts) => facts,
            Err(jsonfile::DecodeError::NotJson(_)) => {
                let _ = std::fs::remove_file(&file);
                return Err(FactCacheError::Corrupt { file });
            }
            Err(reason) => return Err(FactCacheError::Unreadable { file, reason }),
        };
        Ok(facts.map(|mut facts| {
            let namespace = namespace(&facts);
            facts.insert("ansible_facts".into(), Value::Object(namespace));
            facts
        }))
    }

    /// Writes `host`'s facts (its host facts; the derived `ansible_facts` namespace left
    /// out, as Ansible keeps only the facts), through a temporary file renamed over the
    /// old one, readable by all (as Ansible's mode 0644).
    pub fn store(&self, host: &str, facts: &Map<String, Value>) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let mut kept = facts.clone();
        kept.remove("ansible_facts");
        let file = self.file_of(host);
        let tmp = self.dir.join(format!(
            ".{}{SCHEMA_PREFIX}{host}.{}.tmp",
            self.prefix,
            std::process::id()
        ));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(jsonfile::encode(&kept).as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &file)?;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Removes the files of `hosts` (`--flush-cache`); a missing file is fine.
    pub fn flush<'a>(&self, hosts: impl IntoIterator<Item = &'a str>) {
        for host in hosts {
            let _ = std::fs::remove_file(self.file_of(host));
        }
    }

    /// Whether `file` was written longer ago than the timeout.
    fn expired(&self, file: &Path) -> bool {
        if self.timeout == 0 {
            return false;
        }
        let Ok(modified) = std::fs::metadata(file).and_then(|m| m.modified()) else {
            return false;
        };
        let age = SystemTime::now()
            .duration_since(modified)
            .unwrap_or(Duration::ZERO);
        age.as_secs_f64() > self.timeout as f64
    }
}

/// Ansible's `namespace_facts`: the facts under `ansible_facts`, without their `ansible_`
/// prefix (`ansible_local` keeps its name).
fn namespace(facts: &Map<String, Value>) -> Map<String, Value> {
    facts
        .iter()
        .map(|(k, v)| {
            let short = match k.strip_prefix("ansible_") {
                Some(rest) if k != "ansible_local" => rest,
                _ => k.as_str(),
            };
            (short.to_owned(), v.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cache(dir: &Path, timeout: i64) -> FactCache {
        FactCache::open(Plugin::JsonFile {
            dir: dir.join("made/here"),
            prefix: "p_".into(),
            timeout,
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn stores_and_loads_once_with_the_namespace() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cache(tmp.path(), 0);
        let facts = json!({"ansible_os_family": "Debian", "ansible_facts": {"x": 1}, "custom": 2});
        c.store("web1", facts.as_object().unwrap()).unwrap();
        let file = tmp.path().join("made/here/p_s1_web1");
        assert!(file.is_file());
        let loaded = c.load_once("web1").unwrap().unwrap();
        assert_eq!(
            Value::Object(loaded),
            json!({
                "ansible_os_family": "Debian",
                "custom": 2,
                "ansible_facts": {"os_family": "Debian", "custom": 2}
            })
        );
        assert_eq!(c.load_once("web1").unwrap(), None);
        c.flush(["web1", "other"]);
        assert!(!file.exists());
    }

    #[test]
    fn an_expired_file_is_no_facts() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cache(tmp.path(), 1);
        c.store("h", json!({"a": 1}).as_object().unwrap()).unwrap();
        let old = SystemTime::now() - Duration::from_secs(10);
        std::fs::File::options()
            .write(true)
            .open(c.file_of("h"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(c.load_once("h").unwrap(), None);
    }

    #[test]
    fn a_corrupt_file_is_removed_and_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cache(tmp.path(), 0);
        std::fs::write(c.file_of("h"), "{not json").unwrap();
        let err = c.load_once("h").unwrap_err();
        assert!(matches!(err, FactCacheError::Corrupt { .. }), "{err}");
        assert!(!c.file_of("h").exists());
    }
}

//! `group_vars/` and `host_vars/` beside an inventory source.
//!
//! Each may hold `NAME.yml`, `NAME.yaml`, `NAME.json`, `NAME` (YAML without extension), or a
//! directory `NAME/` whose files are read in name order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::model::{IMPLICIT_LOCALHOST, Inventory};
use super::source::is_yaml;
use crate::diagnostic::Diagnostic;
use crate::secrets::Secrets;

/// Reads `group_vars/` and `host_vars/` under `base` into the inventory's `file_vars`.
pub fn apply(inv: &mut Inventory, base: &Path, secrets: &Secrets) -> Result<(), Diagnostic> {
    let dir = Listing::of(&base.join("group_vars"));
    let group_names: Vec<String> = inv.groups.keys().cloned().collect();
    for name in group_names {
        let vars = read_listed(&dir, &name, secrets)?;
        if let Some(g) = inv.groups.get_mut(&name) {
            g.file_vars.extend(vars);
        }
    }
    let dir = Listing::of(&base.join("host_vars"));
    let host_names: Vec<String> = inv.hosts.keys().cloned().collect();
    for name in host_names {
        let vars = read_listed(&dir, &name, secrets)?;
        if let Some(h) = inv.hosts.get_mut(&name) {
            h.file_vars.extend(vars);
        }
    }
    if !inv.hosts.contains_key(IMPLICIT_LOCALHOST) {
        let vars = read_listed(&dir, IMPLICIT_LOCALHOST, secrets)?;
        inv.implicit_localhost_vars.extend(vars);
    }
    Ok(())
}

/// `group_vars/` and `host_vars/` beside a playbook: Ansible reads them too, each above
/// the inventory's own at the same level (see [`Inventory::host_vars_with`]).
#[derive(Debug, Default)]
pub struct PlaybookVars {
    /// `group_vars/<group>` by group name.
    pub groups: std::collections::HashMap<String, Map<String, Value>>,
    /// `host_vars/<host>` by host name.
    pub hosts: std::collections::HashMap<String, Map<String, Value>>,
    /// How many groups and hosts the inventory had when they were read (an inventory that
    /// `add_host`/`group_by` grew since needs them read again).
    pub covered: usize,
}

/// Reads `group_vars/` and `host_vars/` under `base` (a playbook's directory) for the
/// inventory's groups and hosts.
pub fn read_beside_playbook(
    inv: &Inventory,
    base: &Path,
    secrets: &Secrets,
) -> Result<PlaybookVars, Diagnostic> {
    let mut out = PlaybookVars {
        covered: inv.groups.len() + inv.hosts.len(),
        ..PlaybookVars::default()
    };
    let dir = Listing::of(&base.join("group_vars"));
    for name in inv.groups.keys() {
        let vars = read_listed(&dir, name, secrets)?;
        if !vars.is_empty() {
            out.groups.insert(name.clone(), vars);
        }
    }
    let dir = Listing::of(&base.join("host_vars"));
    let implicit = (!inv.hosts.contains_key(IMPLICIT_LOCALHOST)).then_some(IMPLICIT_LOCALHOST);
    for name in inv.hosts.keys().map(String::as_str).chain(implicit) {
        let vars = read_listed(&dir, name, secrets)?;
        if !vars.is_empty() {
            out.hosts.insert(name.to_owned(), vars);
        }
    }
    Ok(out)
}

/// The vars of group or host `name` in `dir` (a `group_vars/` or `host_vars/`), looked up
/// on their own: for one name, as `add_host` and `group_by` need.
pub(super) fn read_entity(
    dir: &Path,
    name: &str,
    secrets: &Secrets,
) -> Result<Map<String, Value>, Diagnostic> {
    read_listed(&Listing::unlisted(dir), name, secrets)
}

fn read_listed(
    dir: &Listing,
    name: &str,
    secrets: &Secrets,
) -> Result<Map<String, Value>, Diagnostic> {
    let mut merged = Map::new();
    for file in dir.files_for(name)? {
        merged.extend(crate::vars_file::load(&file, secrets)?);
    }
    Ok(merged)
}

/// A `group_vars/` or `host_vars/` directory, listed once: looking each of 100k hosts up
/// with six `stat` calls cost more than reading the inventory.
struct Listing {
    /// The directory; `None` when there is none (then there are no vars).
    dir: Option<PathBuf>,
    /// The names its entries can be for: each entry's name, and without `.yml`, `.yaml` or
    /// `.json`; lowercased, so that a name differing only in case is still looked up and a
    /// case-insensitive file system finds what it always found. `None` when the directory
    /// cannot be listed (searchable, not readable): every name is looked up.
    names: Option<HashSet<String>>,
}

impl Listing {
    /// `dir` without its entries: every name is looked up on disk.
    fn unlisted(dir: &Path) -> Listing {
        Listing {
            dir: dir.is_dir().then(|| dir.to_path_buf()),
            names: None,
        }
    }

    /// `dir` with its entries, for looking many names up.
    fn of(dir: &Path) -> Listing {
        if !dir.is_dir() {
            return Listing {
                dir: None,
                names: None,
            };
        }
        let names = std::fs::read_dir(dir).ok().map(|entries| {
            let mut names = HashSet::new();
            for entry in entries.filter_map(Result::ok) {
                let name = entry.file_name().to_string_lossy().to_lowercase();
                for ext in [".yml", ".yaml", ".json"] {
                    if let Some(stem) = name.strip_suffix(ext) {
                        names.insert(stem.to_owned());
                    }
                }
                names.insert(name);
            }
            names
        });
        Listing {
            dir: Some(dir.to_path_buf()),
            names,
        }
    }

    /// Whether the directory may hold vars for `name`: false only when the listing says it
    /// cannot. A name that is not one plain ASCII path component is always looked up.
    fn may_hold(&self, name: &str) -> bool {
        let Some(names) = &self.names else {
            return true;
        };
        let plain = name.is_ascii()
            && !name.is_empty()
            && !name.contains(['/', '\\'])
            && name != "."
            && name != "..";
        if !plain {
            return true;
        }
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            names.contains(&name.to_ascii_lowercase())
        } else {
            names.contains(name)
        }
    }

    /// The files holding `name`'s vars, in the order they are merged.
    fn files_for(&self, name: &str) -> Result<Vec<PathBuf>, Diagnostic> {
        let mut files = Vec::new();
        let Some(dir) = &self.dir else {
            return Ok(files);
        };
        if !self.may_hold(name) {
            return Ok(files);
        }
        for candidate in [
            name.to_owned(),
            format!("{name}.yml"),
            format!("{name}.yaml"),
            format!("{name}.json"),
        ] {
            let path = dir.join(&candidate);
            if path.is_file() {
                files.push(path);
            }
        }
        let sub = dir.join(name);
        if sub.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(&sub)
                .map_err(|e| Diagnostic::io(&sub, &e))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && (is_yaml(p) || p.extension().is_none()))
                .collect();
            inner.sort();
            files.extend(inner);
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(files: Vec<PathBuf>, dir: &Path) -> Vec<String> {
        files
            .iter()
            .map(|f| f.strip_prefix(dir).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn one_listing_finds_every_file_form() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for file in ["web.yml", "web.json", "db", "Cache.yaml", "notes.txt"] {
            std::fs::write(d.join(file), "a: 1\n").unwrap();
        }
        std::fs::create_dir(d.join("app")).unwrap();
        for file in ["b.yml", "a.yml", "c.txt"] {
            std::fs::write(d.join("app").join(file), "a: 1\n").unwrap();
        }
        let listing = Listing::of(d);
        let found = |name: &str| names(listing.files_for(name).unwrap(), d);
        assert_eq!(found("web"), ["web.yml", "web.json"]);
        assert_eq!(found("db"), ["db"]);
        assert_eq!(found("app"), ["app/a.yml", "app/b.yml"]);
        assert_eq!(found("Cache"), ["Cache.yaml"]);
        assert!(
            found("cache").len() <= 1,
            "found only on a case-insensitive file system"
        );
        assert!(found("notes").is_empty());
        assert!(found("nothing").is_empty());
        assert!(
            Listing::of(&d.join("missing"))
                .files_for("web")
                .unwrap()
                .is_empty()
        );
    }
}

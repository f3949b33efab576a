//! Finding roles and reading their parts (`tasks/`, `handlers/`, `defaults/`, `vars/`,
//! `meta/`), as Ansible lays them out.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Loc};
use crate::yaml::{self, Node};

/// Where roles are looked for, besides `roles/` beside the playbook.
#[derive(Debug, Clone, Default)]
pub struct RoleSearch {
    /// `roles_path` entries (dr.toml, then `ANSIBLE_ROLES_PATH`, then Ansible's defaults).
    pub roles_path: Vec<PathBuf>,
    /// Collection roots holding `ansible_collections/<ns>/<coll>/roles/<name>`.
    pub collections_path: Vec<PathBuf>,
    /// Ansible's `DEFAULT_PRIVATE_ROLE_VARS` when set (see `Config::private_role_vars`).
    pub private_role_vars: Option<bool>,
    /// Ansible's `DEFAULT_BECOME`/`DEFAULT_BECOME_USER` (`-b`, `--become-user`, their
    /// variables and ansible.cfg): what a play that does not say escalates to.
    pub become_defaults: BecomeDefaults,
}

/// The run's escalation defaults, what Ansible's `become` and `become_user` keywords fall
/// back to when no play, block or task writes them.
#[derive(Debug, Clone, Default)]
pub struct BecomeDefaults {
    /// `-b`/`--become`: plays escalate unless they say `become: false`.
    pub on: bool,
    /// `--become-user`: the user `become` escalates to when nothing names one (else root).
    pub user: Option<String>,
}

impl RoleSearch {
    /// The search path an Ansible user expects: `configured` (dr.toml's `roles_path`), then
    /// `ANSIBLE_ROLES_PATH`, then `~/.ansible/roles`, `/usr/share/ansible/roles`,
    /// `/etc/ansible/roles`; collections from `collections` (ansible.cfg), `ANSIBLE_COLLECTIONS_PATH` and
    /// `~/.ansible/collections`, `/usr/share/ansible/collections`.
    pub fn new(configured: &[PathBuf], collections: &[PathBuf]) -> RoleSearch {
        let env_paths = |name: &str| -> Vec<PathBuf> {
            std::env::var(name)
                .map(|v| {
                    v.split(':')
                        .filter(|s| !s.is_empty())
                        .map(expand_home)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut roles_path = configured.to_vec();
        roles_path.extend(env_paths("ANSIBLE_ROLES_PATH"));
        roles_path.extend(
            [
                "~/.ansible/roles",
                "/usr/share/ansible/roles",
                "/etc/ansible/roles",
            ]
            .into_iter()
            .map(expand_home),
        );
        let mut collections_path = collections.to_vec();
        collections_path.extend(env_paths("ANSIBLE_COLLECTIONS_PATH"));
        collections_path.extend(env_paths("ANSIBLE_COLLECTIONS_PATHS"));
        collections_path.extend(
            ["~/.ansible/collections", "/usr/share/ansible/collections"]
                .into_iter()
                .map(expand_home),
        );
        RoleSearch {
            roles_path,
            collections_path,
            private_role_vars: None,
            become_defaults: BecomeDefaults::default(),
        }
    }

    /// The directory of role `name`, referenced from a playbook in `playbook_dir` (and, for
    /// a dependency, from the role at `parent`).
    pub fn find(
        &self,
        name: &str,
        playbook_dir: &Path,
        parent: Option<&Path>,
        loc: &Loc,
    ) -> Result<PathBuf, Diagnostic> {
        let mut tried: Vec<PathBuf> = Vec::new();
        let as_path = Path::new(name);
        if as_path.is_absolute() {
            if as_path.is_dir() {
                return Ok(as_path.to_path_buf());
            }
            tried.push(as_path.to_path_buf());
        } else if let Some((ns, coll, role)) = fqcn(name).filter(|_| !name.contains('/')) {
            let mut roots = vec![playbook_dir.join("collections")];
            roots.extend(self.collections_path.iter().cloned());
            for root in roots {
                let candidate = root
                    .join("ansible_collections")
                    .join(ns)
                    .join(coll)
                    .join("roles")
                    .join(role);
                if candidate.is_dir() {
                    return Ok(candidate);
                }
                tried.push(candidate);
            }
        } else {
            // Ansible's order (`RoleDefinition._load_role_path`): `roles/` beside the
            // playbook, the roles path, the depending role's directory, the playbook's
            // directory; the first that exists is the role, whatever it holds (a role may
            // have no tasks).
            let mut bases = vec![playbook_dir.join("roles")];
            bases.extend(self.roles_path.iter().cloned());
            if let Some(siblings) = parent.and_then(Path::parent) {
                bases.push(siblings.to_path_buf());
            }
            bases.push(playbook_dir.to_path_buf());
            for base in bases {
                let candidate = base.join(name);
                if candidate.is_dir() {
                    return Ok(candidate);
                }
                tried.push(candidate);
            }
            // Then the name as a path of its own (`roles/x` from the working directory).
            if as_path.is_dir() {
                return Ok(as_path.to_path_buf());
            }
        }
        let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
        Err(
            Diagnostic::new(loc.clone(), format!("role `{name}` not found")).with_help(format!(
                "looked in: {}; set `roles_path` in dr.toml or ANSIBLE_ROLES_PATH",
                list.join(", ")
            )),
        )
    }
}

/// `ns.coll.role` → its parts.
fn fqcn(name: &str) -> Option<(&str, &str, &str)> {
    let mut parts = name.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), Some(c), None) if !a.is_empty() && !b.is_empty() && !c.is_empty() => {
            Some((a, b, c))
        }
        _ => None,
    }
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// The file for `<role>/<part>/<name>`: `name.yml`, `name.yaml`, `name` itself, or the
/// directory `name/` (whose YAML files are read in name order). `None` when absent.
pub fn part_files(role: &Path, part: &str, name: &str) -> Option<Vec<PathBuf>> {
    let dir = role.join(part);
    // As Ansible's loader, `..` is resolved in the name before the disk is asked, so
    // `sub/../x` names `x` even without a directory `sub`.
    let dir = if Path::new(name)
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        let name = std::path::absolute(dir.join(name)).unwrap_or_else(|_| dir.join(name));
        let name = dr_agent::fsutil::lexical(&name);
        let (Some(parent), Some(file)) = (name.parent(), name.file_name()) else {
            return None;
        };
        return part_files(parent, "", &file.to_string_lossy());
    } else {
        dir
    };
    for candidate in [
        dir.join(format!("{name}.yml")),
        dir.join(format!("{name}.yaml")),
        dir.join(format!("{name}.json")),
        dir.join(name),
    ] {
        if candidate.is_file() {
            return Some(vec![candidate]);
        }
    }
    let sub = dir.join(name);
    if sub.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&sub)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("yml" | "yaml" | "json")
                    )
            })
            .collect();
        files.sort();
        return Some(files);
    }
    None
}

/// [`part_files`] for a `*_from` name written in a play: a file found outside the role's
/// `part/` directory (an absolute name, or one climbing out with `..`) is refused in
/// Ansible's words, as Ansible refuses it.
pub fn part_files_inside(
    role: &Path,
    part: &str,
    name: &str,
    role_name: &str,
    loc: &Loc,
) -> Result<Option<Vec<PathBuf>>, Diagnostic> {
    let files = part_files(role, part, name);
    let dir = role.join(part);
    let resolved = |p: &Path| {
        dr_agent::fsutil::lexical(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
    };
    let inside = resolved(&dir);
    let outside = files
        .iter()
        .flatten()
        .find(|f| !resolved(f).starts_with(&inside));
    match outside {
        Some(found) => Err(Diagnostic::new(
            loc.clone(),
            format!(
                "Failed loading '{}' for role ({role_name}) as it is not inside the expected role path: '{}'",
                found.display(),
                dir.display()
            ),
        )),
        None => Ok(files),
    }
}

/// A role's variables file(s) for `part` (`defaults` or `vars`) named `name`, merged.
pub fn read_vars(
    role: &Path,
    part: &str,
    name: &str,
    role_name: &str,
    loc: &Loc,
) -> Result<Map<String, Value>, Diagnostic> {
    let mut out = Map::new();
    for file in part_files_inside(role, part, name, role_name, loc)?.unwrap_or_default() {
        let node = yaml::load_file(&file)?;
        match node.to_json() {
            Value::Object(m) => out.extend(m),
            Value::Null => {}
            _ => {
                return Err(Diagnostic::new(
                    node.loc.clone(),
                    format!(
                        "`{}` must be a mapping of variables, found {}",
                        file.display(),
                        node.kind()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// `meta/main.yml`: the dependencies as written, and `allow_duplicates`.
pub struct Meta {
    /// `dependencies:` items (a role name or a role entry mapping).
    pub dependencies: Vec<Node>,
    /// `allow_duplicates:`.
    pub allow_duplicates: bool,
    /// `argument_specs:` (used when the role has no `meta/argument_specs.yml`).
    pub argument_specs: Option<Node>,
}

/// Reads `meta/main.yml` (absent = no dependencies).
pub fn read_meta(role: &Path) -> Result<Meta, Diagnostic> {
    let mut meta = Meta {
        dependencies: Vec::new(),
        allow_duplicates: false,
        argument_specs: None,
    };
    let Some(files) = part_files(role, "meta", "main") else {
        return Ok(meta);
    };
    for file in files {
        let node = yaml::load_file(&file)?;
        let Some(entries) = node.as_map() else {
            continue;
        };
        for (k, v) in entries {
            match k.as_str() {
                Some("dependencies") => {
                    if let Some(items) = v.as_seq() {
                        meta.dependencies.extend(items.iter().cloned());
                    }
                }
                Some("argument_specs") => meta.argument_specs = Some(v.clone()),
                Some("allow_duplicates") => {
                    meta.allow_duplicates = super::scalar::bool_of(v, "allow_duplicates")?;
                }
                _ => {}
            }
        }
    }
    Ok(meta)
}

/// The role's argument specs by entry point (`main`, or a `tasks_from` name), as Ansible
/// finds them: the `argument_specs:` of `meta/argument_specs.yml` (`.yaml`, `.json`), else
/// those of `meta/main.yml`. An empty file or key is no spec.
pub fn argument_specs(role: &Path, meta: &Meta) -> Result<Option<Node>, Diagnostic> {
    let meta_dir = role.join("meta");
    let file = [
        "argument_specs",
        "argument_specs.yml",
        "argument_specs.yaml",
        "argument_specs.json",
    ]
    .iter()
    .map(|f| meta_dir.join(f))
    .find(|f| f.is_file());
    let Some(file) = file else {
        return Ok(meta.argument_specs.clone().filter(|n| n.as_map().is_some()));
    };
    let node = yaml::load_file(&file)?;
    let specs = node.as_map().and_then(|entries| {
        entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("argument_specs"))
            .map(|(_, v)| v.clone())
    });
    Ok(specs.filter(|n| n.as_map().is_some()))
}

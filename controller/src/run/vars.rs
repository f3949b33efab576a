//! The variables a node's play sees, merged in Ansible's precedence: role defaults <
//! inventory (group < host) < play `vars` < play `vars_files` < role vars < extra vars
//! (`-e`). Task-level layers (block and task vars, facts, include params) are the agent's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dr_agent::wire::SharedVars;
use serde_json::{Map, Value, json};

use crate::diagnostic::Diagnostic;
use crate::inventory::vars_dirs::{self, PlaybookVars};
use crate::inventory::{IMPLICIT_LOCALHOST, Inventory};
use crate::playbook::PlaySpec;
use crate::secrets::Secrets;

/// Variables shared by every node of the run: `hostvars`, `groups`, extra vars.
pub struct RunVars {
    /// Every inventory host's `hostvars` entry, shared by the requests of the run.
    hostvars: SharedVars,
    groups: Value,
    extra: Map<String, Value>,
    /// `vars_files` already read this run (each file is read and parsed once).
    files: Mutex<HashMap<PathBuf, Map<String, Value>>>,
    /// Magic variables of the run (`ansible_run_tags`, `ansible_version`, ...).
    magic: Map<String, Value>,
    /// `group_vars/`/`host_vars/` beside each playbook directory, read once.
    beside: Mutex<HashMap<PathBuf, std::sync::Arc<PlaybookVars>>>,
    /// `hostvars` with them, per playbook directory and inventory size.
    hostvars_beside: Mutex<HashMap<(PathBuf, usize), SharedVars>>,
    /// The inventory's and extra vars' variables whose values are templates (see
    /// `sync_marks`), read once.
    run_templated: std::sync::OnceLock<Vec<(String, String)>>,
    /// The names the `-e` arguments set, in order (the journal records names, never values).
    extra_names: Vec<String>,
}

impl RunVars {
    /// Collects inventory-wide vars and parses `-e` arguments (`k=v` or `@file`).
    pub fn new(
        inv: &Inventory,
        extra_args: &[String],
        vault_files: &[PathBuf],
        secrets: &Secrets,
    ) -> Result<RunVars, Diagnostic> {
        let mut hostvars = Map::new();
        for name in hostvars_names(inv) {
            hostvars.insert(name.to_owned(), hostvars_entry(inv, name, None, secrets)?);
        }
        let mut groups = Map::new();
        for g in inv.groups() {
            groups.insert(g.name.clone(), json!(inv.group_hosts(&g.name)));
        }
        let mut extra = Map::new();
        for file in vault_files {
            extra.extend(crate::vars_file::load(file, secrets)?);
        }
        let mut extra_names: Vec<String> = Vec::new();
        for arg in extra_args {
            let parsed = parse_extra(arg, secrets)?;
            for name in parsed.keys() {
                if !extra_names.contains(name) {
                    extra_names.push(name.clone());
                }
            }
            extra.extend(parsed);
        }
        Ok(RunVars {
            hostvars: SharedVars::new(hostvars),
            groups: Value::Object(groups),
            extra,
            files: Mutex::default(),
            magic: Map::new(),
            beside: Mutex::default(),
            hostvars_beside: Mutex::default(),
            run_templated: std::sync::OnceLock::new(),
            extra_names,
        })
    }

    /// The `group_vars/` and `host_vars/` beside the playbooks in `dir` (read once).
    fn beside_playbook(
        &self,
        inv: &Inventory,
        dir: &Path,
        secrets: &Secrets,
    ) -> Result<std::sync::Arc<PlaybookVars>, Diagnostic> {
        let key = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut cache = self.beside.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = cache.get(&key)
            && found.covered >= inv.groups().count() + inv.hosts().count()
        {
            return Ok(found.clone());
        }
        let base = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let read = std::sync::Arc::new(vars_dirs::read_beside_playbook(inv, base, secrets)?);
        cache.insert(key, read.clone());
        Ok(read)
    }

    /// Adds the run's magic variables (see [`super::magic::run_level`]).
    pub fn with_magic(mut self, magic: Map<String, Value>) -> Self {
        self.magic = magic;
        self
    }

    /// `host`'s inventory variables, if it is in the inventory.
    pub fn hostvars_of(&self, host: &str) -> Option<&Map<String, Value>> {
        self.hostvars.map().get(host).and_then(Value::as_object)
    }

    /// The names among the run's variables (inventory, `vars_files` read so far, extra
    /// vars) and `play`'s whose values read other hosts' variables: see `sync_marks`.
    pub fn reading_hostvars(&self, play: &PlaySpec) -> std::collections::HashSet<String> {
        // The inventory's and extra vars' templates are read once per run, not per play.
        let mut texts = self
            .run_templated
            .get_or_init(|| {
                let inventory = self.hostvars.map().values().filter_map(Value::as_object);
                super::sync_marks::templated(inventory.chain([&self.extra]))
            })
            .clone();
        let files = self.lock_files();
        texts.extend(super::sync_marks::templated(files.values().chain([
            &play.vars,
            &play.role_vars,
            &play.role_defaults,
        ])));
        let mut names = super::sync_marks::closure(&texts);
        // Where the play changes the inventory, `groups` is other hosts' data too.
        if super::phases::changes_inventory(play) {
            names.extend(["groups".to_owned(), "group_names".to_owned()]);
        }
        names
    }

    /// `groups` as the inventory the run started with has them.
    pub fn groups(&self) -> &Value {
        &self.groups
    }

    /// The names the `-e` arguments set, in the order given.
    pub fn extra_names(&self) -> &[String] {
        &self.extra_names
    }

    /// The `-e` vars (and dr.toml's vault files), highest precedence.
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// The merged vars for `play` on `host`, with magic variables; `hostvars` is a null
    /// that keeps its place, the map itself is [`RunVars::hostvars_for_play`] (shared by
    /// every host's request, not copied into each).
    pub fn for_node(
        &self,
        inv: &Inventory,
        play: &PlaySpec,
        host: &str,
        secrets: &Secrets,
    ) -> Result<Map<String, Value>, Diagnostic> {
        // Role defaults are the lowest of all, below inventory variables.
        let mut vars = play.role_defaults.clone();
        vars.extend(super::magic::host_level(inv, host));
        let beside = self.beside_playbook(inv, &play.dir, secrets)?;
        vars.extend(inv.host_vars_with(host, Some(&beside)));
        vars.extend(play.vars.clone());
        for entry in &play.vars_files {
            let loc = &entry.loc;
            let path = self.path_of(entry, play, &vars, secrets)?;
            let cached = self.lock_files().get(&path).cloned();
            if let Some(loaded) = cached {
                vars.extend(loaded);
                continue;
            }
            let loaded = load_vars_file(&path, loc, secrets)?;
            self.lock_files().insert(path, loaded.clone());
            vars.extend(loaded);
        }
        vars.extend(play.role_vars.clone());
        vars.extend(self.extra.clone());
        vars.insert("inventory_hostname".into(), json!(host));
        vars.insert(
            "inventory_hostname_short".into(),
            json!(host.split('.').next().unwrap_or(host)),
        );
        vars.insert("group_names".into(), json!(inv.group_names(host)));
        // `groups` and the play's host lists hold a null: the request carries them shared
        // with the batch's other hosts (see `play_vars`).
        vars.insert("groups".into(), Value::Null);
        vars.insert("hostvars".into(), Value::Null);
        vars.insert("playbook_dir".into(), json!(absolute(&play.dir)));
        // Where relative paths resolve; a role's tasks put the role's directory first.
        vars.insert("ansible_search_path".into(), json!([absolute(&play.dir)]));
        vars.insert("ansible_play_name".into(), json!(play.name));
        vars.insert("ansible_play_hosts".into(), Value::Null);
        vars.extend(self.magic.clone());
        vars.extend(super::magic::play_level(play));
        for (name, value) in vars.iter_mut() {
            secrets.decrypt_inline(name, value);
        }
        Ok(vars)
    }
}

/// The hosts `hostvars` has: the inventory's, and the implicit `localhost` when the
/// inventory does not have one (Ansible answers `hostvars['localhost']` with it).
fn hostvars_names(inv: &Inventory) -> impl Iterator<Item = &str> {
    let implicit = inv
        .host(IMPLICIT_LOCALHOST)
        .is_none()
        .then_some(IMPLICIT_LOCALHOST);
    inv.hosts().map(|h| h.name.as_str()).chain(implicit)
}

/// `hostvars[host]` as Ansible has it: the host's inventory variables (with the
/// `group_vars/`/`host_vars/` beside the playbook, when given) and its magic variables.
pub fn hostvars_entry(
    inv: &Inventory,
    host: &str,
    beside: Option<&PlaybookVars>,
    secrets: &Secrets,
) -> Result<Value, Diagnostic> {
    let mut vars = Value::Object(inv.host_vars_with(host, beside));
    secrets.open_inline(&|| format!("hostvars['{host}']"), &mut vars);
    if let Value::Object(m) = &mut vars {
        let mut magic = super::magic::host_level(inv, host);
        magic.insert("inventory_hostname".into(), json!(host));
        magic.insert(
            "inventory_hostname_short".into(),
            json!(host.split('.').next().unwrap_or(host)),
        );
        magic.insert("group_names".into(), json!(inv.group_names(host)));
        m.extend(magic);
    }
    Ok(vars)
}

impl RunVars {
    /// The names `play` sets for a host at its own level or above (play `vars`, `vars_files`,
    /// role vars): facts gathered from the host rank below them, as in Ansible. `vars` are
    /// the host's merged variables ([`RunVars::for_node`], which read the `vars_files`).
    pub fn above_facts(
        &self,
        play: &PlaySpec,
        vars: &Map<String, Value>,
        secrets: &Secrets,
    ) -> Vec<String> {
        let mut names: Vec<String> = play
            .vars
            .keys()
            .chain(play.role_vars.keys())
            .cloned()
            .collect();
        for entry in &play.vars_files {
            if let Ok(path) = self.path_of(entry, play, vars, secrets)
                && let Some(loaded) = self.lock_files().get(&path)
            {
                names.extend(loaded.keys().cloned());
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// `hostvars[host]` for the plays of the playbook in `dir` (a host the run added).
    pub fn hostvars_entry_beside(
        &self,
        inv: &Inventory,
        host: &str,
        dir: &Path,
        secrets: &Secrets,
    ) -> Result<Value, Diagnostic> {
        let beside = self.beside_playbook(inv, dir, secrets)?;
        hostvars_entry(inv, host, Some(&beside), secrets)
    }

    /// `hostvars` (inventory and magic variables) for `play`, as of `inv`.
    pub fn hostvars_for_play(
        &self,
        inv: &Inventory,
        play: &PlaySpec,
        secrets: &Secrets,
    ) -> Result<SharedVars, Diagnostic> {
        let beside = self.beside_playbook(inv, &play.dir, secrets)?;
        self.hostvars_for(inv, &beside, &play.dir, secrets)
    }

    /// `hostvars` for the plays of the playbook in `dir`: with its `group_vars/` and
    /// `host_vars/`, when it has any (built once per directory).
    fn hostvars_for(
        &self,
        inv: &Inventory,
        beside: &PlaybookVars,
        dir: &Path,
        secrets: &Secrets,
    ) -> Result<SharedVars, Diagnostic> {
        if beside.groups.is_empty() && beside.hosts.is_empty() {
            return Ok(self.hostvars.clone());
        }
        let key = (
            std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
            inv.hosts().count(),
        );
        let mut cache = self
            .hostvars_beside
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(found) = cache.get(&key) {
            return Ok(found.clone());
        }
        let mut all = self.hostvars.map().clone();
        for name in hostvars_names(inv) {
            all.insert(
                name.to_owned(),
                hostvars_entry(inv, name, Some(beside), secrets)?,
            );
        }
        let all = SharedVars::new(all);
        cache.insert(key, all.clone());
        Ok(all)
    }

    /// Reads every play's `vars_files` up front, so a missing file or a wrong vault key is
    /// one clear error before anything runs, not one failure per node.
    pub fn preload(&self, plays: &[&PlaySpec], secrets: &Secrets) -> Result<(), Diagnostic> {
        for play in plays {
            for entry in &play.vars_files {
                let (loc, [file]) = (&entry.loc, entry.names.as_slice()) else {
                    // Alternatives are chosen per host.
                    continue;
                };
                if file.contains("{{") {
                    // Named by a template: read per host, when its variables are known.
                    continue;
                }
                let path = play.dir.join(file);
                if self.lock_files().contains_key(&path) {
                    continue;
                }
                let loaded = load_vars_file(&path, loc, secrets)?;
                self.lock_files().insert(path, loaded);
            }
        }
        Ok(())
    }

    /// The file a `vars_files` entry loads for a host: its name, or the first of its
    /// alternatives that exists.
    fn path_of(
        &self,
        entry: &crate::playbook::VarsFile,
        play: &PlaySpec,
        vars: &Map<String, Value>,
        secrets: &Secrets,
    ) -> Result<PathBuf, Diagnostic> {
        let mut tried = Vec::new();
        for name in &entry.names {
            let name = self.file_name(name, &entry.loc, vars, (&play.dir, secrets))?;
            let path = play.dir.join(name);
            if entry.names.len() == 1 || path.is_file() {
                return Ok(path);
            }
            tried.push(path.display().to_string());
        }
        Err(Diagnostic::new(
            entry.loc.clone(),
            format!("none of the vars files exists: {}", tried.join(", ")),
        ))
    }

    /// A `vars_files` entry's name, rendered when it is a template (`vars/{{ env }}.yml`)
    /// with the variables known so far and the extra vars, as Ansible does; controller
    /// lookups in it (`first_found`) run at once, from the playbook's directory `dir`.
    fn file_name(
        &self,
        file: &str,
        loc: &crate::diagnostic::Loc,
        vars: &Map<String, Value>,
        (dir, secrets): (&Path, &Secrets),
    ) -> Result<String, Diagnostic> {
        if !file.contains("{{") {
            return Ok(file.to_owned());
        }
        let mut known = vars.clone();
        known.extend(self.extra.clone());
        dr_agent::template::Templater::with_lookups(super::lookups::direct(dir, secrets))
            .scope(known)
            .render_string(file)
            .map_err(|e| {
                Diagnostic::new(
                    loc.clone(),
                    format!("cannot render the vars file name `{file}`: {e}"),
                )
                .with_help("a vars file name may use inventory, play and extra vars")
            })
    }

    fn lock_files(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Map<String, Value>>> {
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn load_vars_file(
    path: &Path,
    loc: &crate::diagnostic::Loc,
    secrets: &Secrets,
) -> Result<Map<String, Value>, Diagnostic> {
    crate::vars_file::load_play_vars(path, secrets).map_err(|d| {
        if d.message.starts_with("cannot read") {
            Diagnostic::new(
                loc.clone(),
                format!("cannot read vars file `{}`", path.display()),
            )
        } else {
            d
        }
    })
}

/// `dir` made absolute (`.` for an empty path).
pub(super) fn absolute(dir: &Path) -> String {
    // A playbook in the working directory has an empty parent.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

/// `-e key=value key2=value2`, `-e '{"json": 1}'`, or `-e @file.yml`.
fn parse_extra(arg: &str, secrets: &Secrets) -> Result<Map<String, Value>, Diagnostic> {
    if let Some(file) = arg.strip_prefix('@') {
        return crate::vars_file::load(Path::new(file), secrets);
    }
    let trimmed = arg.trim_start();
    if trimmed.starts_with('{') {
        let node = crate::yaml::parse_str(Path::new("-e"), arg)?;
        if let Value::Object(map) = node.to_json() {
            return Ok(map);
        }
    }
    crate::playbook::kv::parse(arg).map_err(|why| {
        Diagnostic::new(
            crate::diagnostic::Loc::new("-e".into(), 0, 0),
            format!("extra vars `{arg}`: {why}"),
        )
        .with_help("write `-e key=value`, `-e @file.yml` or `-e '{\"key\": 1}'`")
    })
}

//! Building a play's task tree: task lists, blocks, imports and includes, roles.
//!
//! Everything static is flattened here (imports, roles and their dependencies, block
//! keyword inheritance); blocks and dynamic includes stay nodes of the tree, which the agent
//! runs (`rescue`/`always`; an include's `when` and `loop` evaluated once). Role handlers,
//! defaults and vars are collected for the play.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use dr_agent::wire::{Condition, Task, TaskKind};
use serde_json::{Map, Value};

use super::inherit::{Inherit, RoleRef};
use super::keywords::{ANSIBLE_ROLE, BLOCK_SUPPORTED, ROLE_SUPPORTED};
use super::level::{Level, refused};
use super::role::{self, RoleSearch};
use super::scalar::text_of;
use super::task::{self, Parsed, Statement};
use crate::diagnostic::{Diagnostic, Loc, did_you_mean};
use crate::yaml::{self, Node};

const MAX_DEPTH: usize = 32;

/// Arguments `include_role`/`import_role` accept.
const ROLE_ARGS: &[&str] = &[
    "name",
    "role",
    "tasks_from",
    "vars_from",
    "defaults_from",
    "handlers_from",
    "allow_duplicates",
    "public",
    "apply",
    "rolespec_validate",
];

/// An `include_tasks` whose file name is a template, resolved per host when the request is
/// built (`run/includes.rs`), with what parsing the file then needs.
#[derive(Debug, Clone)]
pub struct DynamicInclude {
    /// The file name as written.
    pub template: String,
    /// The directory of the file that holds the include.
    pub dir: PathBuf,
    /// What the included tasks inherit.
    pub inherit: Inherit,
    /// Where the include is.
    pub loc: Loc,
    /// For an `include_role` whose name is a template: which of the role's files.
    pub role: Option<From>,
}

/// The key in a dynamic include node's `args` that holds its index in
/// [`Builder::dynamic`].
pub const DYNAMIC_KEY: &str = "_dr_dynamic";

/// Builds one play's tasks, collecting what its roles bring.
pub struct Builder<'a> {
    search: &'a RoleSearch,
    /// Templated includes, for resolution per host.
    pub dynamic: Vec<DynamicInclude>,
    playbook_dir: PathBuf,
    /// Handlers from the roles, in the order the roles were loaded.
    pub role_handlers: Vec<Task>,
    /// Handlers of roles an `include_role` loads: Ansible adds them after the play's own
    /// when the include runs, so they are searched before them.
    pub included_handlers: Vec<Task>,
    /// The `include_role` being expanded (its location).
    including: Option<String>,
    /// Role defaults, merged in load order (lowest precedence of all variables).
    pub role_defaults: Map<String, Value>,
    /// Role vars (`vars/main.yml`), merged in load order (above play `vars_files`).
    pub role_vars: Map<String, Value>,
    /// The defaults and vars of the roles loaded privately (see [`Inherit::private_role`])
    /// since the enclosing `include_role` began: what a `public` one gives the tasks after it.
    private_loaded: (Map<String, Value>, Map<String, Value>),
    /// Roles the play names itself (`roles:`, `import_role`, `include_role`), in order.
    pub play_roles: Vec<String>,
    /// Roles loaded as another role's dependency, in order.
    pub dependent_roles: Vec<String>,
    /// Role instances that run once per play and host (`roles:` entries and dependencies
    /// without `allow_duplicates`), by identity: the agent skips an instance's tasks on a
    /// host where an identical one already completed, as Ansible.
    role_instances: HashMap<String, u32>,
    /// Role directories whose handlers were already added.
    handlers_of: HashSet<PathBuf>,
    depth: usize,
    /// Reading handlers: how many blocks deep (Ansible reads a file's blocks as the
    /// implicit blocks handlers are in, and refuses a block inside one).
    handler_blocks: Option<usize>,
}

/// Which files of a role to read.
#[derive(Debug, Clone)]
pub struct From {
    tasks: String,
    vars: String,
    defaults: String,
    handlers: String,
    /// `allow_duplicates:` of an `import_role`/`include_role` (over the role's own).
    allow_duplicates: Option<bool>,
    /// `public:` of an `import_role`/`include_role`: whether its defaults and vars are the
    /// play's or its own tasks' only (see [`Builder::private`]).
    public: Option<bool>,
    /// `rolespec_validate:` (Ansible validates a role's declared arguments by default).
    validate: bool,
    /// Run once per play with the same parameters (a `roles:` entry or a dependency);
    /// `import_role` and `include_role` run their role each time unless they say
    /// `allow_duplicates: false`, as Ansible.
    once: bool,
    /// The parameters of a `roles:` entry (`- {role: app, port: 80}`), which the role's
    /// argument spec validates as given.
    provided: Map<String, Value>,
}

impl From {
    /// The name an `include_role` is resolved by per host when its role name or one of its
    /// `*_from` files is a template: the role name, then a `KEY_from: FILE` line for each
    /// file that is not `main`, so that the name renders differently for each file.
    fn dynamic_name(&self, role: &str) -> Option<String> {
        let files = self.files();
        if !role.contains("{{") && !files.iter().any(|(_, f)| f.contains("{{")) {
            return None;
        }
        let mut name = role.to_owned();
        for (key, file) in files {
            if file != "main" {
                name.push_str(&format!("\n{key}_from: {file}"));
            }
        }
        Some(name)
    }

    fn files(&self) -> [(&'static str, &str); 4] {
        [
            ("tasks", &self.tasks),
            ("vars", &self.vars),
            ("defaults", &self.defaults),
            ("handlers", &self.handlers),
        ]
    }

    /// The role name and files a [`From::dynamic_name`] rendered to.
    fn rendered(mut self, name: &str) -> (String, From) {
        let mut lines = name.split('\n');
        let role = lines.next().unwrap_or_default().to_owned();
        for line in lines {
            let Some((key, file)) = line.split_once("_from: ") else {
                continue;
            };
            let file = strip_ext(file);
            match key {
                "tasks" => self.tasks = file,
                "vars" => self.vars = file,
                "defaults" => self.defaults = file,
                "handlers" => self.handlers = file,
                _ => {}
            }
        }
        (role, self)
    }
}

impl Default for From {
    fn default() -> Self {
        From {
            tasks: "main".into(),
            vars: "main".into(),
            defaults: "main".into(),
            handlers: "main".into(),
            allow_duplicates: None,
            public: None,
            validate: true,
            once: true,
            provided: Map::new(),
        }
    }
}

impl<'a> Builder<'a> {
    /// A builder for a play in a playbook in `playbook_dir`.
    pub fn new(search: &'a RoleSearch, playbook_dir: &Path) -> Self {
        Builder {
            search,
            playbook_dir: playbook_dir.to_path_buf(),
            dynamic: Vec::new(),
            role_handlers: Vec::new(),
            included_handlers: Vec::new(),
            including: None,
            role_defaults: Map::new(),
            private_loaded: (Map::new(), Map::new()),
            role_vars: Map::new(),
            play_roles: Vec::new(),
            dependent_roles: Vec::new(),
            role_instances: HashMap::new(),
            handlers_of: HashSet::new(),
            depth: 0,
            handler_blocks: None,
        }
    }

    /// A task list written in a file in `dir`.
    pub fn tasks(
        &mut self,
        v: &Node,
        dir: &Path,
        inherit: &Inherit,
    ) -> Result<Vec<Task>, Diagnostic> {
        let items = list_of(v, "a task list")?;
        let mut out = Vec::new();
        for item in items {
            match task::parse(item, inherit)? {
                Parsed::Task(t) => out.push(*t),
                Parsed::Block {
                    level,
                    name,
                    block,
                    rescue,
                    always,
                    node,
                } => {
                    let outer = self.handler_blocks;
                    if outer.is_some_and(|depth| depth > 0) {
                        // As Ansible words it.
                        return Err(Diagnostic::new(
                            node.loc.clone(),
                            "Using a block as a handler is not supported.",
                        )
                        .with_help("list each handler as a task"));
                    }
                    self.handler_blocks = outer.map(|depth| depth + 1);
                    let inner = level.enter(inherit)?;
                    let section = |b: &mut Self, n: Option<&Node>| match n {
                        Some(n) => b.tasks(n, dir, &inner),
                        None => Ok(Vec::new()),
                    };
                    let block = self.tasks(block, dir, &inner)?;
                    let rescue = section(self, rescue)?;
                    let always = section(self, always)?;
                    self.handler_blocks = outer;
                    out.push(Task {
                        name,
                        module: "block".into(),
                        kind: TaskKind::Block,
                        location: node.loc.to_string(),
                        tags: inner.tags.clone(),
                        block,
                        rescue,
                        always,
                        ..Task::default()
                    });
                }
                Parsed::Statement(st)
                    if self.handler_blocks.is_some() && st.kind.ends_with("_role") =>
                {
                    // As Ansible words it, with the action as written.
                    let written = st.key.scalar_text().unwrap_or_default();
                    return Err(Diagnostic::new(
                        item.loc.clone(),
                        format!("Using '{written}' as a handler is not supported."),
                    )
                    .with_help("notify the role's own handlers, or include tasks instead"));
                }
                Parsed::Statement(st) => out.extend(self.statement(*st, dir, inherit)?),
            }
        }
        Ok(out)
    }

    /// Handlers: a task list without blocks (a handler may be an `include_tasks`, whose tasks
    /// run when it is notified, as in Ansible).
    pub fn handlers(
        &mut self,
        v: &Node,
        dir: &Path,
        inherit: &Inherit,
    ) -> Result<Vec<Task>, Diagnostic> {
        let mut inherit = inherit.clone();
        inherit.handler = true;
        let outer = self.handler_blocks.replace(0);
        let handlers = self.tasks(v, dir, &inherit);
        self.handler_blocks = outer;
        // As Ansible: the tasks of a block in `handlers` are handlers themselves (with the
        // block's keywords); the block's own name notifies nothing.
        let mut flat = Vec::new();
        for h in handlers? {
            if h.kind != TaskKind::Block {
                flat.push(h);
                continue;
            }
            if !h.rescue.is_empty() || !h.always.is_empty() {
                return Err(Diagnostic::new(
                    loc_of(&h.location, v),
                    "`rescue`/`always` in a handler block are not supported by dr yet",
                )
                .with_help("list the handlers in the block's `block` only"));
            }
            flat.extend(h.block);
        }
        Ok(flat)
    }

    fn enter(&mut self, loc: &Loc) -> Result<(), Diagnostic> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Diagnostic::new(
                loc.clone(),
                "imports and roles are nested too deeply (an import loop?)",
            ));
        }
        Ok(())
    }

    fn statement(
        &mut self,
        st: Statement<'_>,
        dir: &Path,
        inherit: &Inherit,
    ) -> Result<Vec<Task>, Diagnostic> {
        self.enter(&st.key.loc)?;
        let result = match st.kind {
            "import_tasks" => {
                let inner = st.level.enter(inherit)?;
                let (file, _) = file_arg(&st)?;
                self.task_file(&file, dir, &inner, st.key)
            }
            "include_tasks" => {
                let (file, apply) = file_arg(&st)?;
                let inner = self.apply_level(apply, inherit)?;
                if file.contains("{{") {
                    self.depth -= 1;
                    return Ok(vec![
                        self.dynamic_node(&st, inherit, inner, file, dir, None),
                    ]);
                }
                let depth = self.depth;
                let tasks = self.task_file(&file, dir, &inner, st.key);
                // An error left the nesting count where it stopped.
                self.depth = depth;
                Ok(vec![include_node(
                    &st,
                    inherit,
                    loaded_when_run(tasks, &st),
                )])
            }
            "import_role" => {
                let mut inner = st.level.enter(inherit)?;
                let (name, from, _) = role_args(&st)?;
                inner.private_role = self.private(&from, true);
                self.role(&name, &st.key.loc, Map::new(), &inner, &from, None)
            }
            _ => {
                let (name, from, apply) = role_args(&st)?;
                let mut inner = self.apply_level(apply.as_ref(), inherit)?;
                // A public include's vars reach the tasks after it, when it runs: its role
                // is loaded as a private one, and the include node carries what it shares.
                let public = !self.private(&from, false);
                inner.private_role = true;
                if let Some(template) = from.dynamic_name(&name) {
                    if public {
                        self.depth -= 1;
                        return Err(Diagnostic::new(
                            st.key.loc.clone(),
                            "a public `include_role` whose role or files are templates is not supported by dr yet",
                        )
                        .with_help("import the role (`import_role`), or name its role and files without templates"));
                    }
                    self.depth -= 1;
                    let node = self.dynamic_node(&st, inherit, inner, template, dir, Some(from));
                    return Ok(vec![node]);
                }
                let depth = self.depth;
                let outer = self.including.replace(st.task.location.clone());
                let before = std::mem::take(&mut self.private_loaded);
                let tasks = self.role(&name, &st.key.loc, Map::new(), &inner, &from, None);
                let (defaults, vars) = std::mem::replace(&mut self.private_loaded, before);
                self.including = outer;
                self.depth = depth;
                let mut node = include_node(&st, inherit, loaded_when_run(tasks, &st));
                if public {
                    node.public_defaults = defaults;
                    node.public_vars = vars;
                }
                Ok(vec![node])
            }
        };
        self.depth -= 1;
        result
    }

    /// The node of an include whose file or role name is a template: resolved per host
    /// when its request is built (`run/includes.rs`).
    fn dynamic_node(
        &mut self,
        st: &Statement<'_>,
        inherit: &Inherit,
        inner: Inherit,
        template: String,
        dir: &Path,
        role: Option<From>,
    ) -> Task {
        let mut node = include_node(st, inherit, Vec::new());
        node.include_file = Some(template.clone());
        let mut args = Map::new();
        args.insert(DYNAMIC_KEY.into(), Value::from(self.dynamic.len()));
        node.args = Value::Object(args);
        self.dynamic.push(DynamicInclude {
            template,
            dir: dir.to_path_buf(),
            inherit: inner,
            loc: st.key.loc.clone(),
            role,
        });
        node
    }

    /// The tasks of role `name` included by the templated `include_role` `include`.
    pub fn included_role(
        &mut self,
        name: &str,
        include: &DynamicInclude,
    ) -> Result<Vec<Task>, Diagnostic> {
        let from = include.role.clone().unwrap_or_default();
        let (name, from) = from.rendered(name);
        self.role(
            &name,
            &include.loc,
            Map::new(),
            &include.inherit,
            &from,
            None,
        )
    }

    /// Whether a role keeps its defaults and vars to its own tasks, as Ansible decides it:
    /// its `public:` if given, else `DEFAULT_PRIVATE_ROLE_VARS` if configured, else
    /// imported roles (`static`) share them with the play and included ones do not.
    fn private(&self, from: &From, imported: bool) -> bool {
        match (from.public, self.search.private_role_vars) {
            (Some(public), _) => !public,
            (None, Some(private)) => private,
            (None, None) => !imported,
        }
    }

    /// The role `name` names, if it exists (`name` as [`From::dynamic_name`] writes it).
    pub fn find_role(&self, name: &str, loc: &Loc) -> Option<PathBuf> {
        let name = name.split('\n').next().unwrap_or(name);
        self.search.find(name, &self.playbook_dir, None, loc).ok()
    }

    /// `apply:` keywords of an include, passed down to the included tasks.
    fn apply_level(&self, apply: Option<&Node>, inherit: &Inherit) -> Result<Inherit, Diagnostic> {
        let Some(apply) = apply else {
            return Ok(inherit.clone());
        };
        let entries = apply.as_map().ok_or_else(|| {
            Diagnostic::new(apply.loc.clone(), "`apply` must be a mapping of keywords")
        })?;
        let mut level = Level::default();
        for (key, v) in entries {
            let k = key.scalar_text().unwrap_or_default();
            if k == "vars" {
                super::level::refuse_become_vars(v)?;
            }
            if !(BLOCK_SUPPORTED.contains(&k.as_str()) && level.read(key, &k, v)?) {
                return Err(refused(key, &k));
            }
        }
        level.enter(inherit)
    }

    fn task_file(
        &mut self,
        file: &str,
        dir: &Path,
        inherit: &Inherit,
        key: &Node,
    ) -> Result<Vec<Task>, Diagnostic> {
        if file.contains("{{") {
            return Err(Diagnostic::new(
                key.loc.clone(),
                "a templated `import_tasks` file name is not supported by dr",
            )
            .with_help("use `include_tasks` (resolved per host), or name the file"));
        }
        let path = self.find_task_file(file, dir, inherit).ok_or_else(|| {
            Diagnostic::new(
                key.loc.clone(),
                format!("cannot read task file `{}`", dir.join(file).display()),
            )
        })?;
        self.read_task_file(&path, inherit)
    }

    /// Where Ansible finds an included task file: beside the including file, in the role's
    /// `tasks/`, beside the playbook.
    pub fn find_task_file(&self, file: &str, dir: &Path, inherit: &Inherit) -> Option<PathBuf> {
        let mut candidates = vec![dir.join(file)];
        if let Some(role) = &inherit.role {
            candidates.push(role.path.join("tasks").join(file));
        }
        candidates.push(self.playbook_dir.join(file));
        candidates.into_iter().find(|p| p.is_file())
    }

    /// Parses a task file found by [`Builder::find_task_file`].
    pub fn read_task_file(
        &mut self,
        path: &Path,
        inherit: &Inherit,
    ) -> Result<Vec<Task>, Diagnostic> {
        let root = yaml::load_file(path)?;
        let sub_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        // A file's blocks are the implicit blocks of its handlers again.
        let outer = self.handler_blocks;
        self.handler_blocks = outer.map(|_| 0);
        let tasks = self.tasks(&root, &sub_dir, inherit);
        self.handler_blocks = outer;
        tasks
    }

    /// The play's `roles:` section.
    pub fn roles_section(&mut self, v: &Node, inherit: &Inherit) -> Result<Vec<Task>, Diagnostic> {
        let items = list_of(v, "`roles`")?;
        let mut out = Vec::new();
        for item in items {
            out.extend(self.role_entry(item, inherit, None)?);
        }
        Ok(out)
    }

    /// The `vars/` a dependency entry brings (its own over its dependencies', recursively).
    fn exported_vars(
        &self,
        dep: &Node,
        parent: &Path,
        depth: usize,
    ) -> Result<Map<String, Value>, Diagnostic> {
        let name = dep.scalar_text().or_else(|| {
            dep.as_map()?.iter().find_map(|(k, v)| {
                matches!(k.scalar_text().as_deref(), Some("role" | "name"))
                    .then(|| v.scalar_text())
                    .flatten()
            })
        });
        let Some(name) = name.filter(|n| !n.contains("{{")) else {
            return Ok(Map::new());
        };
        let path = self
            .search
            .find(&name, &self.playbook_dir, Some(parent), &dep.loc)?;
        let mut vars = Map::new();
        if depth < 32 {
            for sub in &role::read_meta(&path)?.dependencies {
                vars.extend(self.exported_vars(sub, &path, depth + 1)?);
            }
        }
        vars.extend(role::read_vars(&path, "vars", "main", &name, &dep.loc)?);
        Ok(vars)
    }

    /// One role entry: `- name`, or `- role: name` with keywords and parameters.
    fn role_entry(
        &mut self,
        item: &Node,
        inherit: &Inherit,
        parent: Option<&Path>,
    ) -> Result<Vec<Task>, Diagnostic> {
        // A play's `roles:` entry is imported; a dependency keeps its parent's privacy.
        let mut play_level;
        let inherit = if parent.is_none() {
            play_level = inherit.clone();
            play_level.private_role = self.private(&From::default(), true);
            &play_level
        } else {
            inherit
        };
        if let Some(name) = item.scalar_text() {
            return self.role(
                &name,
                &item.loc,
                Map::new(),
                inherit,
                &From::default(),
                parent,
            );
        }
        let entries = item.as_map().ok_or_else(|| {
            Diagnostic::new(
                item.loc.clone(),
                format!("a role entry is a name or a mapping, found {}", item.kind()),
            )
        })?;
        let mut level = Level::default();
        let mut name = None;
        let mut params = Map::new();
        for (key, v) in entries {
            let k = key.scalar_text().unwrap_or_default();
            match k.as_str() {
                "role" | "name" => name = Some(text_of(v, "role")?),
                _ if ROLE_SUPPORTED.contains(&k.as_str()) && level.read(key, &k, v)? => {}
                _ if ANSIBLE_ROLE.contains(&k.as_str()) => return Err(refused(key, &k)),
                // Any other key is a role parameter (`- {role: app, port: 80}`).
                _ => {
                    if let Some(hint) = did_you_mean(&k, ROLE_SUPPORTED.iter().copied()) {
                        return Err(Diagnostic::new(
                            key.loc.clone(),
                            format!("unknown role keyword `{k}`"),
                        )
                        .with_help(format!("{hint} (write role parameters under `vars:`)")));
                    }
                    params.insert(k, v.to_json());
                }
            }
        }
        let name = name.ok_or_else(|| {
            Diagnostic::new(item.loc.clone(), "this role entry names no role")
                .with_help("write `- role: name`")
        })?;
        // Role params are the role's own variables, above the entry's `vars`.
        let mut inner_level = level.clone();
        inner_level.inherit.vars.extend(params.clone());
        inner_level.inherit.params.extend(params.keys().cloned());
        let inner = inner_level.enter(inherit)?;
        let mut key_params = level.inherit.vars.clone();
        key_params.extend(params.clone());
        let from = From {
            provided: params,
            ..From::default()
        };
        self.role(&name, &item.loc, key_params, &inner, &from, parent)
    }

    /// Expands role `name`: its dependencies, then its tasks; collects its handlers,
    /// defaults and vars. `params` identify the instance (a role runs once per play with the
    /// same parameters unless it allows duplicates).
    fn role(
        &mut self,
        name: &str,
        loc: &Loc,
        params: Map<String, Value>,
        inherit: &Inherit,
        from: &From,
        parent: Option<&Path>,
    ) -> Result<Vec<Task>, Diagnostic> {
        if name.contains("{{") {
            return Err(Diagnostic::new(
                loc.clone(),
                "a templated role name is not supported by dr yet",
            ));
        }
        self.enter(loc)?;
        let path = self.search.find(name, &self.playbook_dir, parent, loc)?;
        let names = if parent.is_some() {
            &mut self.dependent_roles
        } else {
            &mut self.play_roles
        };
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
        crate::bridge::add_library(&path.join("library"));
        crate::bridge::lookups::add_dir(&path.join("lookup_plugins"));
        crate::bridge::plugins::add_dirs(&path);
        let meta = role::read_meta(&path)?;
        let key = format!(
            "{}|{}|{}|{}",
            path.display(),
            Value::Object(params),
            from.tasks,
            inherit
                .when
                .iter()
                .map(Condition::as_str)
                .collect::<Vec<_>>()
                .join(" and ")
        );
        let specs = if from.validate {
            role::argument_specs(&path, &meta).inspect_err(|_| self.depth -= 1)?
        } else {
            None
        };
        // As Ansible: `import_role`/`include_role` allow duplicates unless they say
        // `allow_duplicates: false` (over the role's own `meta`).
        let dedupe = if from.once {
            !from.allow_duplicates.unwrap_or(meta.allow_duplicates)
        } else {
            from.allow_duplicates == Some(false)
        };
        let instance = dedupe.then(|| {
            let next = self.role_instances.len() as u32;
            *self.role_instances.entry(key).or_insert(next)
        });
        // Imported or included from another role's tasks: that role and its own parents.
        let parents = inherit.role.as_ref().map_or_else(Vec::new, |r| {
            std::iter::once((r.name.clone(), r.path.clone()))
                .chain(r.parents.iter().cloned())
                .collect()
        });
        let run = ROLE_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let role_ref = RoleRef {
            name: name.to_owned(),
            path: path.clone(),
            parents,
            run,
        };
        let own_vars = role::read_vars(&path, "vars", &from.vars, name, loc)?;
        let mut inner = inherit.clone();
        inner.role = Some(role_ref);
        inner.role_vars.extend(own_vars.clone());
        let mut out = Vec::new();
        let mut dep_vars = Map::new();
        for dep in &meta.dependencies {
            // A dependency inherits the dependent role's keywords and vars, not its
            // identity.
            let mut dep_inherit = inner.clone();
            dep_inherit.role = None;
            out.extend(self.role_entry(dep, &dep_inherit, Some(&path))?);
            dep_vars.extend(self.exported_vars(dep, &path, 0)?);
        }
        let own_start = out.len();
        // In the role's tasks, as Ansible's role vars follow the dependency chain: the
        // vars of the roles it depends from, then its dependencies' vars, then its own.
        inner.role_vars = inherit.role_vars.clone();
        inner.role_vars.extend(dep_vars);
        inner.role_vars.extend(own_vars.clone());
        let defaults = role::read_vars(&path, "defaults", &from.defaults, name, loc)?;
        if inner.private_role {
            self.private_loaded.0.extend(defaults.clone());
            self.private_loaded.1.extend(own_vars);
            inner.role_defaults.extend(defaults);
        } else {
            self.role_defaults.extend(defaults);
            self.role_vars.extend(own_vars);
        }
        if let Some(check) = specs
            .as_ref()
            .and_then(|s| super::role_validation::task(s, name, &path, &from.tasks, &from.provided))
        {
            let dir = path.join("meta");
            out.extend(self.tasks(&check, &dir, &inner)?);
        }
        let tasks_dir = path.join("tasks");
        if let Some(files) = role::part_files_inside(&path, "tasks", &from.tasks, name, loc)? {
            for file in files {
                let root = yaml::load_file(&file)?;
                let dir = file
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or(tasks_dir.clone());
                out.extend(self.tasks(&root, &dir, &inner)?);
            }
        } else if from.tasks != "main" {
            return Err(Diagnostic::new(
                loc.clone(),
                format!("role `{name}` has no task file `{}`", from.tasks),
            ));
        }
        if let Some(id) = instance {
            for task in &mut out[own_start..] {
                mark_instance(task, id);
            }
        }
        let ends = out[own_start..]
            .iter()
            .flat_map(Task::walk)
            .any(|t| t.role_run == Some(run));
        if instance.is_some() || ends {
            let mut end = role_complete(instance, loc);
            end.role_run = Some(run);
            out.push(end);
        }
        if self.handlers_of.insert(path.join(&from.handlers))
            && let Some(files) =
                role::part_files_inside(&path, "handlers", &from.handlers, name, loc)?
        {
            for file in files {
                let root = yaml::load_file(&file)?;
                let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
                let mut handlers = self.handlers(&root, &dir, &inner)?;
                // A collection's role (`ns.col.role`) is also known by its short name.
                let short = name.rsplit('.').next().unwrap_or(name);
                let names: Vec<&str> = if short == name {
                    vec![name]
                } else {
                    vec![name, short]
                };
                for h in &mut handlers {
                    // As Ansible: a role's listen topics are also heard as `role : topic`.
                    let topics: Vec<String> = names
                        .iter()
                        .flat_map(|r| h.listen.iter().map(move |t| format!("{r} : {t}")))
                        .collect();
                    h.listen.extend(topics);
                    if let Some(n) = &h.name {
                        h.listen.push(format!("{name} : {n}"));
                    }
                }
                if let Some(include) = &self.including {
                    for h in &mut handlers {
                        h.added_by = Some(include.clone());
                    }
                    self.included_handlers.extend(handlers);
                } else {
                    self.role_handlers.extend(handlers);
                }
            }
        }
        self.depth -= 1;
        Ok(out)
    }
}

/// Marks `task` and the tasks nested in it that no inner role instance claimed as tasks
/// of role instance `id`.
fn mark_instance(task: &mut Task, id: u32) {
    task.role_instance.get_or_insert(id);
    for t in task
        .block
        .iter_mut()
        .chain(&mut task.rescue)
        .chain(&mut task.always)
    {
        mark_instance(t, id);
    }
}

/// Ansible's implicit `meta: role_complete` at the end of a role instance: the instance
/// has completed on a host where one of its tasks ran (was not skipped).
fn role_complete(id: Option<u32>, loc: &Loc) -> Task {
    Task {
        module: "meta".into(),
        args: Value::from("role_complete"),
        location: loc.to_string(),
        implicit: true,
        tags: vec!["always".into()],
        role_instance: id,
        ..Task::default()
    }
}

/// Role expansions so far, for [`RoleRef::run`].
static ROLE_RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The items of a list node (`null` is empty); `what` names it in the error.
fn list_of<'n>(v: &'n Node, what: &str) -> Result<&'n [Node], Diagnostic> {
    if v.is_null() {
        return Ok(&[]);
    }
    v.as_seq().ok_or_else(|| {
        Diagnostic::new(
            v.loc.clone(),
            format!("{what} must be a list, found {}", v.kind()),
        )
    })
}

/// The include node: the statement's own `when`, `loop`, tags and vars, the tasks inside.
/// The tasks of a dynamic include (`include_tasks`, `include_role`). Ansible loads its file
/// only when a host reaches it, so an error in the file (a module that does not run here,
/// a syntax error) is that include's failure on the hosts that run it, not the playbook's:
/// dr reads the file before the run, and where it cannot, the include runs a task that
/// fails with the located error. `dr graph`/`plan` warn about it.
fn loaded_when_run(tasks: Result<Vec<Task>, Diagnostic>, st: &Statement<'_>) -> Vec<Task> {
    let e = match tasks {
        Ok(tasks) => return tasks,
        Err(e) => e,
    };
    tracing::warn!(
        "the {} at {} fails on every host that reaches it: {} ({})",
        st.kind,
        st.key.loc,
        e.message,
        e.loc
    );
    vec![fails_with(st.kind, &e, &st.key.loc)]
}

/// A task that fails with `e`, located (`at`) where the `kind` include that could not load
/// its file is.
pub fn fails_with(kind: &str, e: &Diagnostic, at: &Loc) -> Task {
    let mut args = Map::new();
    args.insert(
        "msg".into(),
        Value::from(format!("{} ({})", e.message, e.loc)),
    );
    Task {
        name: Some(format!("{kind} {}", e.loc.file)),
        module: "fail".into(),
        args: Value::Object(args),
        location: at.to_string(),
        ..Task::default()
    }
}

fn include_node(st: &Statement<'_>, inherit: &Inherit, tasks: Vec<Task>) -> Task {
    let mut node = st.task.clone();
    node.kind = TaskKind::Include;
    node.module = st.kind.to_owned();
    inherit.apply_when_and_tags(&mut node);
    inherit.apply_block_vars(&mut node);
    inherit.apply_role_names(&mut node);
    // As in Ansible, only the first host includes the file: its tasks run there only.
    let run_once = st.level.inherit.run_once.or(inherit.run_once) == Some(true);
    node.run_once = false;
    if run_once {
        node.when.insert(0, super::task::RUN_ONCE.into());
    }
    if node.name.is_none() {
        let args = st.value.to_json();
        let target = st.value.scalar_text().or_else(|| {
            args.get("name")
                .or_else(|| args.get("file"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        node.name = Some(format!("{}: {}", st.kind, target.unwrap_or_default()));
    }
    node.block = tasks;
    node
}

/// The statement's arguments as a mapping (`args:` merged in).
fn statement_args(st: &Statement<'_>) -> Result<Map<String, Value>, Diagnostic> {
    let mut value = match st.value.to_json() {
        Value::String(s) if s.contains('=') && !s.contains("{{") => super::kv::parse(&s)
            .map(Value::Object)
            .map_err(|m| Diagnostic::new(st.value.loc.clone(), m))?,
        Value::String(s) => {
            let mut m = Map::new();
            m.insert("_raw_params".into(), Value::String(s));
            Value::Object(m)
        }
        Value::Null => Value::Object(Map::new()),
        other => other,
    };
    if let Some(extra) = st.args {
        task::merge_args(&mut value, extra)?;
    }
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(Diagnostic::new(
            st.value.loc.clone(),
            format!("`{}` takes a name or a mapping of arguments", st.kind),
        )),
    }
}

/// `import_tasks`/`include_tasks`: the file, and `apply:` when given.
fn file_arg<'n>(st: &Statement<'n>) -> Result<(String, Option<&'n Node>), Diagnostic> {
    let args = statement_args(st)?;
    for k in args.keys() {
        if !matches!(k.as_str(), "file" | "_raw_params" | "apply") {
            return Err(Diagnostic::new(
                st.value.loc.clone(),
                format!("`{}` has no argument `{k}`", st.kind),
            )
            .with_help("it takes `file` and `apply`"));
        }
    }
    if args.contains_key("apply") && st.kind == "import_tasks" {
        return Err(Diagnostic::new(
            st.value.loc.clone(),
            "`apply` is for `include_tasks`; an import passes its own keywords down",
        ));
    }
    let file = args
        .get("file")
        .or_else(|| args.get("_raw_params"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            Diagnostic::new(
                st.value.loc.clone(),
                format!("`{}` names a file: `{}: tasks/db.yml`", st.kind, st.kind),
            )
        })?;
    let apply = st
        .value
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("apply")))
        .map(|(_, v)| v);
    Ok((file, apply))
}

/// `import_role`/`include_role`: the role, which of its files, and `apply:`.
fn role_args(st: &Statement<'_>) -> Result<(String, From, Option<Node>), Diagnostic> {
    let args = statement_args(st)?;
    let mut from = From {
        once: false,
        ..From::default()
    };
    let mut name = None;
    for (k, v) in &args {
        let text = || {
            v.as_str().map(str::to_owned).ok_or_else(|| {
                Diagnostic::new(st.value.loc.clone(), format!("`{k}` must be a string"))
            })
        };
        match k.as_str() {
            "name" | "_raw_params" => name = Some(text()?),
            // As Ansible: `role` is read when `name` is not given.
            "role" => {
                if !args.contains_key("name") {
                    name = Some(text()?)
                }
            }
            "tasks_from" => from.tasks = strip_ext(&text()?),
            "vars_from" => from.vars = strip_ext(&text()?),
            "defaults_from" => from.defaults = strip_ext(&text()?),
            "handlers_from" => from.handlers = strip_ext(&text()?),
            "allow_duplicates" => from.allow_duplicates = Some(bool_value(v, k, st)?),
            "rolespec_validate" => from.validate = bool_value(v, k, st)?,
            "public" => from.public = Some(bool_value(v, k, st)?),
            "apply" => {}
            _ => {
                let help = did_you_mean(k, ROLE_ARGS.iter().copied())
                    .unwrap_or_else(|| format!("it takes: {}", ROLE_ARGS.join(", ")));
                return Err(Diagnostic::new(
                    st.value.loc.clone(),
                    format!("`{}` has no argument `{k}`", st.kind),
                )
                .with_help(help));
            }
        }
    }
    if st.kind == "import_role" && args.contains_key("apply") {
        return Err(Diagnostic::new(
            st.value.loc.clone(),
            "`apply` is for `include_role`; an import passes its own keywords down",
        ));
    }
    let apply = st
        .value
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("apply")))
        .map(|(_, v)| v.clone());
    let name = name.ok_or_else(|| {
        Diagnostic::new(
            st.value.loc.clone(),
            format!(
                "`{}` names a role: `{}: {{name: my_role}}`",
                st.kind, st.kind
            ),
        )
    })?;
    Ok((name, from, apply))
}

/// A boolean argument of an include/import statement.
fn bool_value(v: &Value, k: &str, st: &Statement<'_>) -> Result<bool, Diagnostic> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" => Ok(true),
            "no" | "false" | "off" | "0" => Ok(false),
            _ => Err(Diagnostic::new(
                st.value.loc.clone(),
                format!("`{k}` must be true or false"),
            )),
        },
        _ => Err(Diagnostic::new(
            st.value.loc.clone(),
            format!("`{k}` must be true or false"),
        )),
    }
}

fn strip_ext(name: &str) -> String {
    name.strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .unwrap_or(name)
        .to_owned()
}

/// The location of a task, as a `Loc` (for errors found after parsing).
pub(super) fn loc_of(location: &str, fallback: &Node) -> Loc {
    let mut parts = location.rsplitn(3, ':');
    let col = parts.next().and_then(|c| c.parse().ok());
    let line = parts.next().and_then(|l| l.parse().ok());
    match (parts.next(), line, col) {
        (Some(file), Some(line), Some(col)) => Loc::new(file.into(), line, col),
        _ => fallback.loc.clone(),
    }
}

//! Keywords a play, role, block or import passes down to the tasks inside it.
//!
//! dr flattens structure on the controller (DESIGN.md "Compiling structure into one
//! request"): a block's `when` becomes the first conditions of each of its tasks, its `vars`
//! the lowest of each task's vars, and so on, exactly as Ansible's inheritance resolves
//! them when it runs the task.

use std::path::PathBuf;

use dr_agent::wire::{Condition, Task, Throttle};
use serde_json::{Map, Value};

/// What the enclosing levels say, innermost last applied.
#[derive(Debug, Clone, Default)]
pub struct Inherit {
    /// Conditions evaluated before the task's own.
    pub when: Vec<Condition>,
    /// Tags added to the task's own.
    pub tags: Vec<String>,
    /// Vars below the task's own (block vars, role params, import vars).
    pub vars: Map<String, Value>,
    /// The names in `vars` that are role parameters: above facts, as in Ansible.
    pub params: Vec<String>,
    /// The `vars/` of the role the tasks are in, over those of the roles it is a
    /// dependency of: below every block and task var, above the play's roles' vars.
    pub role_vars: Map<String, Value>,
    /// The `defaults/` of a role that keeps them to its own tasks (`include_role` without
    /// `public`), over those of its dependencies.
    pub role_defaults: Map<String, Value>,
    /// Handlers are being read (`meta: end_role` is refused in them, as Ansible does).
    pub handler: bool,
    /// Inside an `include_role` without `public`: the roles loaded here keep their
    /// defaults and vars to their own tasks instead of giving them to the play.
    pub private_role: bool,
    /// Environment below the task's own.
    pub environment: Map<String, Value>,
    /// Handlers notified by every task inside (a block's `notify`).
    pub notify: Vec<String>,
    /// Defaults for the task's own keywords.
    pub ignore_errors: Option<bool>,
    /// `ignore_errors` written as a template (then `ignore_errors` is `None`): each task
    /// below renders it (`Task::ignore_errors_when`).
    pub ignore_errors_when: Option<String>,
    /// `check_mode` default.
    pub check_mode: Option<bool>,
    /// `diff` default.
    pub diff: Option<bool>,
    /// `no_log` default.
    pub no_log: Option<bool>,
    /// `no_log` written as a template (then `no_log` is `None`): each task below renders it
    /// (`Task::no_log_when`).
    pub no_log_when: Option<String>,
    /// `run_once` default.
    pub run_once: Option<bool>,
    /// `delegate_to` default (a template).
    pub delegate_to: Option<String>,
    /// `delegate_facts` default.
    pub delegate_facts: Option<bool>,
    /// `timeout` default.
    pub timeout: Option<f64>,
    /// `ignore_unreachable` default.
    pub ignore_unreachable: Option<bool>,
    /// `any_errors_fatal` default.
    pub any_errors_fatal: Option<bool>,
    /// `become_method` as written; `None`: sudo, unless a level above says otherwise.
    pub become_method: Option<String>,
    /// `remote_user`, `port`, `connection` below the play (keyword to value).
    pub connection: Map<String, Value>,
    /// `throttle` default.
    pub throttle: Option<Throttle>,
    /// The user tasks run as after escalation at this level (`None` = no `become`).
    pub become_now: Option<String>,
    /// The same for the play: the user the node's agent runs as (under `sudo -n -u USER`,
    /// or the login user).
    pub play_become: Option<String>,
    /// The role the tasks belong to.
    pub role: Option<RoleRef>,
    /// The user `become` escalates to when no level names one (`--become-user`; else root).
    pub default_become_user: Option<String>,
}

/// The role a task comes from: `role_name` and `role_path`, and where to look for its files.
#[derive(Debug, Clone)]
pub struct RoleRef {
    /// As written (`akira_app`, `ns.coll.name`).
    pub name: String,
    /// The role's directory.
    pub path: PathBuf,
    /// The roles that imported or included it (`import_role`/`include_role` in their
    /// tasks), innermost first: `ansible_parent_role_names` and `_paths`.
    pub parents: Vec<(String, PathBuf)>,
    /// This expansion of the role, unique in the run: `meta: end_role` skips to its end.
    pub run: u32,
}

impl Inherit {
    /// `ignore_errors` as written here: a boolean or a template, at most one of them.
    fn ignore_errors_pair(&self) -> (Option<bool>, Option<String>) {
        (self.ignore_errors, self.ignore_errors_when.clone())
    }

    /// `self` with `inner`'s settings layered on top (inner wins where both say something).
    pub fn with(&self, inner: &Inherit) -> Inherit {
        let mut out = self.clone();
        out.when.extend(inner.when.iter().cloned());
        for t in &inner.tags {
            if !out.tags.contains(t) {
                out.tags.push(t.clone());
            }
        }
        out.vars.extend(inner.vars.clone());
        out.role_vars.extend(inner.role_vars.clone());
        out.role_defaults.extend(inner.role_defaults.clone());
        out.private_role |= inner.private_role;
        for p in &inner.params {
            if !out.params.contains(p) {
                out.params.push(p.clone());
            }
        }
        out.environment.extend(inner.environment.clone());
        out.notify.extend(inner.notify.iter().cloned());
        let inner_sets = inner.ignore_errors.is_some() || inner.ignore_errors_when.is_some();
        let (b, t) = if inner_sets { inner } else { self }.ignore_errors_pair();
        (out.ignore_errors, out.ignore_errors_when) = (b, t);
        out.check_mode = inner.check_mode.or(self.check_mode);
        out.diff = inner.diff.or(self.diff);
        let inner_sets = inner.no_log.is_some() || inner.no_log_when.is_some();
        let outer = if inner_sets { inner } else { self };
        (out.no_log, out.no_log_when) = (outer.no_log, outer.no_log_when.clone());
        out.run_once = inner.run_once.or(self.run_once);
        out.delegate_to = inner
            .delegate_to
            .clone()
            .or_else(|| self.delegate_to.clone());
        out.delegate_facts = inner.delegate_facts.or(self.delegate_facts);
        out.timeout = inner.timeout.or(self.timeout);
        out.connection.extend(inner.connection.clone());
        out.become_method = inner
            .become_method
            .clone()
            .or_else(|| self.become_method.clone());
        out.ignore_unreachable = inner.ignore_unreachable.or(self.ignore_unreachable);
        out.any_errors_fatal = inner.any_errors_fatal.or(self.any_errors_fatal);
        out.throttle = inner.throttle.clone().or_else(|| self.throttle.clone());
        out.become_now = inner.become_now.clone();
        if inner.role.is_some() {
            out.role = inner.role.clone();
        }
        out
    }

    /// Gives `task` the enclosing levels' block and import vars (and role parameters)
    /// below its own: an include's `when`, loop and file name read them as its tasks do.
    pub fn apply_block_vars(&self, task: &mut Task) {
        for (k, v) in &self.vars {
            task.vars.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for p in &self.params {
            if task.vars.contains_key(p) && !task.params.contains(p) {
                task.params.push(p.clone());
            }
        }
    }

    /// [`Inherit::apply_block_vars`], and the role's vars and defaults.
    fn apply_vars(&self, task: &mut Task) {
        self.apply_block_vars(task);
        for (k, v) in &self.role_vars {
            task.vars.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &self.role_defaults {
            task.role_defaults
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
    }

    /// Gives an include in a role that role's `role_name` and `role_path`, for its own
    /// templated arguments (`include_role: role: "{{ role_path }}/roles/a"`), as Ansible
    /// renders them with the including role's variables. They sit with the role's defaults
    /// (what the include's own scope reads, below anything set), not in its `vars`, which
    /// the included tasks see over their own.
    pub fn apply_role_names(&self, node: &mut Task) {
        if let Some(role) = &self.role {
            let path = std::path::absolute(&role.path)
                .unwrap_or_else(|_| role.path.clone())
                .display()
                .to_string();
            for (k, v) in [
                ("role_name", role.name.clone()),
                ("ansible_role_name", role.name.clone()),
                ("role_path", path),
            ] {
                node.role_defaults
                    .entry(k)
                    .or_insert_with(|| Value::from(v));
            }
        }
    }

    /// Applies the inherited keywords to a parsed task whose own keywords are in `own`
    /// (the keywords the task set explicitly win).
    pub fn apply(&self, task: &mut Task, own: &Explicit) {
        self.apply_when_and_tags(task);
        self.apply_vars(task);
        if let Some(role) = &self.role {
            // As Ansible's: `role_path` is absolute.
            let path = std::path::absolute(&role.path)
                .unwrap_or_else(|_| role.path.clone())
                .display()
                .to_string();
            if !task.vars.contains_key("ansible_search_path") {
                // As Ansible: the role, the directory of the task's file, the playbook's.
                let absolute = |p: &std::path::Path| {
                    std::path::absolute(p)
                        .unwrap_or_else(|_| p.to_path_buf())
                        .display()
                        .to_string()
                };
                let mut search = vec![absolute(&role.path)];
                let file = task.location.rsplitn(3, ':').last().unwrap_or_default();
                if let Some(dir) = std::path::Path::new(file).parent()
                    && dir != role.path
                {
                    search.push(absolute(dir));
                }
                search.push("{{ playbook_dir }}".into());
                task.vars
                    .insert("ansible_search_path".into(), Value::from(search));
            }
            for (k, v) in [
                ("role_name", role.name.clone()),
                ("ansible_role_name", role.name.clone()),
                ("role_path", path),
            ] {
                task.vars.entry(k).or_insert_with(|| Value::from(v));
            }
            if !role.parents.is_empty() {
                let (names, paths): (Vec<_>, Vec<_>) = role
                    .parents
                    .iter()
                    .map(|(n, p)| {
                        let p = std::path::absolute(p).unwrap_or_else(|_| p.clone());
                        (Value::from(n.clone()), Value::from(p.display().to_string()))
                    })
                    .unzip();
                task.vars
                    .entry("ansible_parent_role_names")
                    .or_insert(Value::Array(names));
                task.vars
                    .entry("ansible_parent_role_paths")
                    .or_insert(Value::Array(paths));
            }
        }
        if !self.environment.is_empty() {
            // The enclosing levels' entries first, the task's own after them, so the task's
            // win over an inherited template mapping too (applied in order by the agent).
            let mut merged = self.environment.clone();
            for (k, v) in std::mem::take(&mut task.environment) {
                merged.shift_remove(&k);
                merged.insert(k, v);
            }
            task.environment = merged;
        }
        for n in &self.notify {
            if !task.notify.contains(n) {
                task.notify.push(n.clone());
            }
        }
        if !own.ignore_errors {
            if let Some(b) = self.ignore_errors {
                task.ignore_errors = b;
            }
            if let Some(t) = &self.ignore_errors_when {
                task.ignore_errors_when = Some(t.clone());
            }
        }
        if !own.no_log {
            if let Some(b) = self.no_log {
                task.no_log = b;
            }
            if let Some(t) = &self.no_log_when {
                task.no_log_when = Some(t.clone());
            }
        }
        if task.check_mode.is_none() {
            task.check_mode = self.check_mode;
        }
        if task.diff.is_none() {
            task.diff = self.diff;
        }
        if task.timeout.is_none() {
            task.timeout = self.timeout;
        }
        for (k, v) in &self.connection {
            task.connection
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        if !own.ignore_unreachable
            && let Some(b) = self.ignore_unreachable
        {
            task.ignore_unreachable = b;
        }
        if !own.run_once
            && let Some(b) = self.run_once
        {
            task.run_once = b;
        }
        if !own.any_errors_fatal
            && let Some(b) = self.any_errors_fatal
        {
            task.any_errors_fatal = b;
        }
        // As Ansible: a task whose errors are ignored fails no other host.
        task.any_errors_fatal &= !task.ignore_errors;
        if task.delegate_to.is_none() {
            task.delegate_to = self.delegate_to.clone();
        }
        if task.throttle.is_none() {
            task.throttle = self.throttle.clone();
        }
        if !own.delegate_facts
            && let Some(b) = self.delegate_facts
        {
            task.delegate_facts = b;
        }
    }
}

impl Inherit {
    /// The enclosing conditions before the task's own, the enclosing tags added to its own
    /// (all an include node takes from its enclosing levels).
    pub fn apply_when_and_tags(&self, task: &mut Task) {
        let mut when = self.when.clone();
        when.append(&mut task.when);
        task.when = when;
        for t in &self.tags {
            if !task.tags.contains(t) {
                task.tags.push(t.clone());
            }
        }
    }
}

/// Which boolean keywords a task set itself (so an inherited value does not override them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Explicit {
    /// `ignore_errors` was written on the task.
    pub ignore_errors: bool,
    /// `no_log` was written on the task.
    pub no_log: bool,
    /// `run_once` was written on the task.
    pub run_once: bool,
    /// `delegate_facts` was written on the task.
    pub delegate_facts: bool,
    /// `ignore_unreachable` was written on the task.
    pub ignore_unreachable: bool,
    /// `any_errors_fatal` was written on the task.
    pub any_errors_fatal: bool,
}

/// A level's own privilege keywords (`become`, `become_user`, `become_method`).
#[derive(Debug, Clone, Default)]
pub struct Become {
    /// `become:` as written.
    pub on: Option<bool>,
    /// `become_user:` as written.
    pub user: Option<String>,
}

impl Become {
    /// The effective escalation inside a level with these keywords, below `parent`.
    pub fn resolve(&self, parent: &Inherit) -> Option<String> {
        let on = self.on.unwrap_or(parent.become_now.is_some());
        on.then(|| {
            self.user.clone().unwrap_or_else(|| {
                parent
                    .become_now
                    .clone()
                    .or_else(|| parent.default_become_user.clone())
                    .unwrap_or_else(|| "root".to_owned())
            })
        })
    }
}

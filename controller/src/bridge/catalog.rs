//! What the installed ansible-core and collections offer, and how a module name written in
//! a playbook resolves against it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The Python program run under the operator's ansible-core (listing, payload building).
pub(super) const HELPER: &str = include_str!("helper.py");

/// Modules of `ansible.builtin` that Ansible's executor handles itself (no module code
/// runs): dr runs them natively or refuses them as keywords.
const EXECUTOR: &[&str] = &[
    "ansible.builtin.async_wrapper",
    "ansible.builtin.import_playbook",
    "ansible.builtin.import_role",
    "ansible.builtin.import_tasks",
    "ansible.builtin.include",
    "ansible.builtin.include_role",
    "ansible.builtin.include_tasks",
];

/// The modules and action plugins of the installed ansible-core and collections.
#[derive(Debug, Clone, Deserialize)]
pub struct Catalog {
    /// ansible-core's version (`2.19.14`).
    pub version: String,
    /// The Python that runs it.
    pub python: PathBuf,
    /// Where its `ansible` package lives.
    pub ansible: PathBuf,
    /// Every module: fully qualified name → source file.
    modules: BTreeMap<String, PathBuf>,
    /// Every action plugin: fully qualified name → `normal` when it is only Ansible's
    /// generic one, `own` when it does work on the controller.
    actions: BTreeMap<String, String>,
    /// ansible-core's routing of `ansible.builtin` names that moved to collections
    /// (`ansible.builtin.locale_gen` → `community.general.locale_gen`).
    #[serde(default)]
    redirects: BTreeMap<String, String>,
}

/// What a module name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A module dr runs through the bridge, by its fully qualified name.
    Bridged(String),
    /// A module that needs its action plugin on the controller (refused: dr does not run
    /// Ansible's action plugins).
    NeedsAction(String),
    /// Handled by Ansible's executor, not a module.
    Executor(String),
    /// Neither ansible-core nor an installed collection has it.
    Unknown,
}

impl Catalog {
    /// Lists what `python`'s ansible-core offers (one run of the helper).
    pub fn load(python: &Path) -> Result<Catalog, String> {
        let out = super::helper(python, &["catalog"])
            .output()
            .map_err(|e| format!("cannot run `{}`: {e}", python.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            return Err(format!(
                "`{}` cannot list Ansible's modules: {}",
                python.display(),
                last.unwrap_or("it exited with an error")
            ));
        }
        let json = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .ok_or_else(|| format!("`{}` listed no modules", python.display()))?;
        serde_json::from_str(json).map_err(|e| {
            format!(
                "cannot read the module list from `{}`: {e} (a bug in dr)",
                python.display()
            )
        })
    }

    /// Resolves a module name as written: short (`replace`), `ansible.builtin.*`,
    /// `ansible.legacy.*` or a collection's (`community.general.ini_file`).
    pub fn resolve(&self, written: &str) -> Resolved {
        let mut fqcn = qualified(written);
        if EXECUTOR.contains(&fqcn.as_str()) {
            return Resolved::Executor(fqcn);
        }
        // As Ansible's plugin loader: a moved module is found where it went, when installed.
        for _ in 0..4 {
            match self.redirects.get(&fqcn) {
                Some(to) if !self.modules.contains_key(&fqcn) => fqcn = to.clone(),
                _ => break,
            }
        }
        if !self.modules.contains_key(&fqcn) {
            return Resolved::Unknown;
        }
        match self.actions.get(&fqcn).map(String::as_str) {
            Some("normal") | None => Resolved::Bridged(fqcn),
            Some(_) => Resolved::NeedsAction(fqcn),
        }
    }

    /// The modules dr can bridge, by fully qualified name.
    pub fn bridgeable(&self) -> impl Iterator<Item = &str> {
        self.modules
            .keys()
            .map(String::as_str)
            .filter(|m| match self.resolve(m) {
                Resolved::Bridged(_) => true,
                Resolved::NeedsAction(fqcn) => super::synchronize::bridges(&fqcn),
                _ => false,
            })
    }
}

/// The fully qualified name of a written module name.
pub fn qualified(written: &str) -> String {
    if let Some(short) = written.strip_prefix("ansible.legacy.") {
        return format!("ansible.builtin.{short}");
    }
    if written.contains('.') {
        return written.to_owned();
    }
    format!("ansible.builtin.{written}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        serde_json::from_value(serde_json::json!({
            "version": "2.19.14", "python": "/p", "ansible": "/a",
            "modules": {
                "ansible.builtin.replace": "/a/modules/replace.py",
                "ansible.builtin.fetch": "/a/modules/fetch.py",
                "ansible.builtin.import_playbook": "/a/modules/import_playbook.py",
                "community.general.ini_file": "/c/ini_file.py",
                "community.general.locale_gen": "/c/locale_gen.py",
                "my.coll.thing": "/c/thing.py",
            },
            "actions": {"ansible.builtin.fetch": "own", "my.coll.thing": "normal"},
            "redirects": {
                "ansible.builtin.locale_gen": "community.general.locale_gen",
                "ansible.builtin.gone": "community.general.gone",
            },
        }))
        .unwrap()
    }

    #[test]
    fn names_resolve_as_ansible_resolves_them() {
        let c = catalog();
        let bridged = |n: &str| Resolved::Bridged(n.to_owned());
        assert_eq!(c.resolve("replace"), bridged("ansible.builtin.replace"));
        assert_eq!(
            c.resolve("ansible.legacy.replace"),
            bridged("ansible.builtin.replace")
        );
        assert_eq!(
            c.resolve("ansible.builtin.replace"),
            bridged("ansible.builtin.replace")
        );
        assert_eq!(
            c.resolve("community.general.ini_file"),
            bridged("community.general.ini_file")
        );
        assert_eq!(c.resolve("ini_file"), Resolved::Unknown);
        // ansible-core's routing of a module that moved to a collection, when installed.
        assert_eq!(
            c.resolve("locale_gen"),
            bridged("community.general.locale_gen")
        );
        assert_eq!(c.resolve("gone"), Resolved::Unknown);
        assert_eq!(
            c.resolve("fetch"),
            Resolved::NeedsAction("ansible.builtin.fetch".into())
        );
        assert_eq!(c.resolve("my.coll.thing"), bridged("my.coll.thing"));
        assert_eq!(
            c.resolve("import_playbook"),
            Resolved::Executor("ansible.builtin.import_playbook".into())
        );
        let all: Vec<&str> = c.bridgeable().collect();
        assert_eq!(
            all,
            [
                "ansible.builtin.replace",
                "community.general.ini_file",
                "community.general.locale_gen",
                "my.coll.thing"
            ]
        );
    }
}

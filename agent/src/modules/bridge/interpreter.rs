//! Which Python runs a bridged module on this host: `ansible_python_interpreter` when the
//! inventory sets it, else `/usr/bin/python3`, else `python3` on `PATH` (Ansible's
//! discovery, minus the platform table).

use std::path::{Path, PathBuf};

use crate::modules::ModuleError;
use crate::template::Scope;

/// The default interpreter, as in Ansible's discovery on Linux.
const DEFAULT: &str = "/usr/bin/python3";

/// The interpreter for `module` on this host, or an error saying where dr looked.
pub(crate) fn find(scope: &Scope, module: &str) -> Result<PathBuf, ModuleError> {
    let host = scope
        .vars()
        .get("inventory_hostname")
        .and_then(|v| v.as_str())
        .unwrap_or("this host")
        .to_owned();
    let configured = match scope.vars().get("ansible_python_interpreter") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => {
            let rendered = scope
                .render_value(v)
                .map_err(|e| ModuleError::Failed(format!("`ansible_python_interpreter`: {e}")))?;
            match rendered {
                serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                _ => None,
            }
        }
    };
    // Ansible's `auto*` values mean "discover it".
    let configured = configured.filter(|c| !c.starts_with("auto"));
    if let Some(wanted) = configured {
        // The value may carry arguments (`/usr/bin/env python3`): the first word is the program.
        let program = wanted.split_whitespace().next().unwrap_or_default();
        return executable(program).ok_or_else(|| {
            ModuleError::Failed(format!(
                "module `{module}` runs Ansible's own code, which needs Python on `{host}`: \
                 `ansible_python_interpreter` is `{wanted}`, which is not an executable there; \
                 install python3 or fix `ansible_python_interpreter`"
            ))
        });
    }
    executable(DEFAULT)
        .or_else(|| executable("python3"))
        .ok_or_else(|| {
            ModuleError::Failed(format!(
                "module `{module}` runs Ansible's own code, which needs Python on `{host}`: \
                 dr looked for python3 at `{DEFAULT}` and on PATH and found none; install \
                 python3 there or set `ansible_python_interpreter`"
            ))
        })
}

/// `program` if it is an executable file (a path), or the first executable of that name
/// on `PATH` (a bare name).
fn executable(program: &str) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        let path = PathBuf::from(program);
        return is_executable(&path).then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Templater;

    fn scope(vars: serde_json::Value) -> Scope {
        let serde_json::Value::Object(map) = vars else {
            unreachable!()
        };
        Templater::new().scope(map)
    }

    #[test]
    fn a_missing_interpreter_names_the_host_and_the_module() {
        let s = scope(serde_json::json!({
            "inventory_hostname": "db-01",
            "ansible_python_interpreter": "/nonexistent/python3",
        }));
        let err = find(&s, "ansible.builtin.replace").unwrap_err().to_string();
        assert!(
            err.contains("`db-01`") && err.contains("`ansible.builtin.replace`"),
            "{err}"
        );
        assert!(err.contains("/nonexistent/python3"), "{err}");
    }

    #[test]
    fn auto_means_discovery() {
        let s = scope(serde_json::json!({"ansible_python_interpreter": "auto_silent"}));
        // Either found, or the discovery message (never the configured-value one).
        if let Err(e) = find(&s, "x.y.z") {
            assert!(e.to_string().contains("dr looked for python3"), "{e}");
        }
    }
}

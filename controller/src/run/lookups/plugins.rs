//! The lookups that read the controller's world, as Ansible's plugins of the same name.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dr_agent::template::lookup::WITH_MARKER;
use dr_agent::wire::{LookupAnswer, Task, TemplateFile};
use serde_json::{Map, Value};

use super::password;
use crate::run::{search_path, template_includes};
use crate::secrets::Secrets;

/// What a controller lookup may read: the task it is used in, the playbook's directory and
/// the vault.
pub struct Site<'a> {
    /// The task whose templates call the lookup.
    pub task: &'a Task,
    /// The playbook's directory (Ansible's basedir).
    pub playbook_dir: &'a Path,
    /// Vault access; decrypted values become secrets.
    pub secrets: &'a Secrets,
    /// The task's variables as the controller knows them (for Python plugins).
    pub vars: &'a Map<String, Value>,
}

/// Runs controller lookup `name`: its values, or for `template` the files to render where
/// the lookup is used; `Err` is the plugin's failure.
pub fn answer(
    name: &str,
    terms: &[Value],
    options: &Map<String, Value>,
    site: &Site<'_>,
) -> Result<LookupAnswer, String> {
    if let Some((kind, plugin)) = dr_agent::template::python_plugins::split(name) {
        return crate::bridge::plugins::run(kind, plugin, terms, options)
            .map(|v| LookupAnswer::Values(vec![v]));
    }
    if dr_agent::template::lookup::plugin(name).is_none() {
        return python(name, terms, options, site).map(LookupAnswer::Values);
    }
    if name != "template" {
        return run(name, terms, options, site).map(LookupAnswer::Values);
    }
    check_options(name, options)?;
    let files = terms
        .iter()
        .map(|t| template(&text(t), site))
        .collect::<Result<_, _>>()?;
    Ok(LookupAnswer::Templates(files))
}

/// A lookup dr does not have: a Python plugin of a `lookup_plugins/` directory, or not
/// found (in Ansible's words; a name made at run time escapes the check before the run).
fn python(
    name: &str,
    terms: &[Value],
    options: &Map<String, Value>,
    site: &Site<'_>,
) -> Result<Vec<Value>, String> {
    use dr_agent::template::lookup::{CONTROLLER_LOOKUPS, DATA_LOOKUPS};
    if !crate::bridge::lookups::has(name) {
        return Err(format!(
            "The lookup plugin '{name}' was not found (dr has: {}; and Python plugins in a `lookup_plugins/` beside the playbook or in a role)",
            CONTROLLER_LOOKUPS
                .iter()
                .chain(DATA_LOOKUPS)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    crate::bridge::lookups::run(name, terms, options, site.vars, site.playbook_dir)
}

/// Refuses options the plugin does not take.
fn check_options(name: &str, options: &Map<String, Value>) -> Result<(), String> {
    let allowed: &[&str] = match name {
        "file" => &["lstrip", "rstrip"],
        "env" => &["default"],
        "first_found" => &["files", "paths", "skip", WITH_MARKER],
        "password" => password::OPTIONS,
        "template" => TEMPLATE_OPTIONS,
        _ => &[],
    };
    match options.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(format!("the `{name}` lookup has no option `{key}` in dr")),
        None => Ok(()),
    }
}

/// Runs controller lookup `name` (not `template`); `Err` is the plugin's failure.
fn run(
    name: &str,
    terms: &[Value],
    options: &Map<String, Value>,
    site: &Site<'_>,
) -> Result<Vec<Value>, String> {
    check_options(name, options)?;
    match name {
        "file" => terms
            .iter()
            .map(|t| file(&text(t), options, site))
            .collect(),
        "unvault" => terms.iter().map(|t| unvault(&text(t), site)).collect(),
        "env" => terms.iter().map(|t| env(&text(t), options)).collect(),
        "pipe" => terms
            .iter()
            .map(|t| pipe(&text(t), site).map(Value::from))
            .collect(),
        "lines" => {
            let mut out = Vec::new();
            for t in terms {
                out.extend(pipe(&text(t), site)?.lines().map(Value::from));
            }
            Ok(out)
        }
        "fileglob" => Ok(terms
            .iter()
            .flat_map(|t| fileglob(&text(t), site))
            .collect()),
        "first_found" => first_found(terms, options, site),
        "password" => terms
            .iter()
            .map(|t| password::run(&text(t), options, site.playbook_dir).map(Value::from))
            .collect(),
        other => Err(format!("`{other}` is not a controller lookup")),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn truthy(v: Option<&Value>, default: bool) -> bool {
    match v {
        None => default,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            matches!(s.to_ascii_lowercase().as_str(), "yes" | "true" | "on" | "1")
        }
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(_) => false,
    }
}

/// Reads a controller file found in the task's search path; a vault file is decrypted and
/// its text becomes a secret.
fn read_text(name: &str, subdir: &str, site: &Site<'_>) -> Result<(PathBuf, String), String> {
    let Some(path) = search_path::find(name, subdir, site.task, site.playbook_dir) else {
        let looked: Vec<String> =
            search_path::candidates(name, subdir, site.task, site.playbook_dir)
                .iter()
                .map(|p| p.display().to_string())
                .collect();
        return Err(format!(
            "unable to find `{name}` (looked in: {})",
            looked.join(", ")
        ));
    };
    let bytes =
        std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    match site.secrets.decrypt_if_vault(&path, &bytes) {
        Ok(Some(plain)) => {
            site.secrets.add(plain.trim());
            site.secrets.add(&plain);
            Ok((path, plain))
        }
        Ok(None) => String::from_utf8(bytes)
            .map(|s| (path.clone(), s))
            .map_err(|_| format!("`{}` is not UTF-8 text", path.display())),
        Err(d) => Err(d.to_string()),
    }
}

fn file(name: &str, options: &Map<String, Value>, site: &Site<'_>) -> Result<Value, String> {
    let (_, mut contents) = read_text(name, "files", site)?;
    if truthy(options.get("lstrip"), false) {
        contents = contents.trim_start().to_owned();
    }
    if truthy(options.get("rstrip"), true) {
        contents = contents.trim_end().to_owned();
    }
    Ok(Value::from(contents))
}

fn unvault(name: &str, site: &Site<'_>) -> Result<Value, String> {
    // A vault file is decrypted (its text becomes a secret); a plain file is returned as
    // it is, as Ansible's `unvault` does.
    read_text(name, "files", site).map(|(_, contents)| Value::from(contents))
}

/// The `template` lookup's options (`convert_data` and `jinja2_native` no longer change
/// anything in Ansible either).
const TEMPLATE_OPTIONS: &[&str] = &[
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "trim_blocks",
    "template_vars",
    "convert_data",
    "jinja2_native",
];

/// The `template` lookup's file and the templates it names; it is rendered where the
/// lookup is used, with the variables there.
fn template(name: &str, site: &Site<'_>) -> Result<TemplateFile, String> {
    let (path, source) = read_text(name, "templates", site)?;
    let templates = template_includes::gather(
        &source,
        &path,
        site.task,
        site.playbook_dir,
        template_includes::Searcher::Lookup,
    );
    Ok(TemplateFile {
        name: name.to_owned(),
        origin: path.display().to_string(),
        meta: crate::host_info::file_meta(&path),
        source,
        templates,
    })
}

fn env(name: &str, options: &Map<String, Value>) -> Result<Value, String> {
    let var = name.split_whitespace().next().unwrap_or_default();
    match (std::env::var(var), options.get("default")) {
        (Ok(v), _) => Ok(Value::from(v)),
        (Err(_), Some(default)) => Ok(default.clone()),
        // Ansible's `default` option defaults to an empty string.
        (Err(_), None) => Ok(Value::from("")),
    }
}

fn pipe(command: &str, site: &Site<'_>) -> Result<String, String> {
    let out = Command::new("/bin/sh")
        .args(["-c", command])
        .current_dir(if site.playbook_dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            site.playbook_dir
        })
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run `{command}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{command}` returned {}",
            out.status.code().unwrap_or(-1)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}

/// Ansible's `fileglob`: the file-name pattern matched in the first directory of the
/// search path that has matches, in directory order (as Python's `glob`), files only.
fn fileglob(pattern: &str, site: &Site<'_>) -> Vec<Value> {
    let path = Path::new(pattern);
    let Some(file) = path.file_name().map(|f| f.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let Ok(matcher) = glob::Pattern::new(&file) else {
        return Vec::new();
    };
    let dirs: Vec<PathBuf> = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            let dir = dir.to_string_lossy();
            search_path::find_dir(&dir, "files", site.task, site.playbook_dir)
                .into_iter()
                .collect()
        }
        _ => search_path::bases(site.task, site.playbook_dir)
            .into_iter()
            .flat_map(|b| [b.join("files"), b])
            .collect(),
    };
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let found: Vec<Value> = entries
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (!name.starts_with('.') || file.starts_with('.')) && matcher.matches(&name)
            })
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .map(|p| Value::from(p.display().to_string()))
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

fn split_list(v: &Value, separators: &str) -> Vec<String> {
    match v {
        // An undefined entry is left out, as Ansible's `first_found` ignores it.
        _ if is_undefined(v) => Vec::new(),
        Value::Array(items) => items
            .iter()
            .flat_map(|i| split_list(i, separators))
            .collect(),
        Value::String(s) => s
            .split(|c| separators.contains(c))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

fn first_found(
    terms: &[Value],
    options: &Map<String, Value>,
    site: &Site<'_>,
) -> Result<Vec<Value>, String> {
    // As `with_first_found`, Ansible searches the subdirectory the task's action names (the
    // agent says which); as a function, only the search path itself.
    let subdir = options
        .get(WITH_MARKER)
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut skip = truthy(options.get("skip"), false);
    let base_paths = options
        .get("paths")
        .map(|p| split_list(p, ",:;"))
        .unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    let terms: Vec<Value> = if terms.is_empty() {
        options.get("files").cloned().into_iter().collect()
    } else {
        terms.to_vec()
    };
    collect_names(&terms, &base_paths, &mut names, &mut skip)?;
    for name in &names {
        if let Some(found) = search_path::find(name, subdir, site.task, site.playbook_dir) {
            return Ok(vec![Value::from(found.display().to_string())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(format!(
        "No file was found when using first_found (looked for: {})",
        names.join(", ")
    ))
}

/// Whether `v` stands for an undefined value (the agent sends such terms to `first_found`,
/// which skips them).
fn is_undefined(v: &Value) -> bool {
    *v == dr_agent::template::lookup::undefined_term()
}

/// Python's name for the type of a JSON value.
fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn collect_names(
    terms: &[Value],
    paths: &[String],
    names: &mut Vec<String>,
    skip: &mut bool,
) -> Result<(), String> {
    for term in terms {
        let (files, paths) = match term {
            _ if is_undefined(term) => continue,
            Value::Array(list) => {
                collect_names(list, paths, names, skip)?;
                continue;
            }
            Value::Object(spec) => {
                *skip = *skip || truthy(spec.get("skip"), false);
                let own = spec.get("paths").map(|p| split_list(p, ",:;"));
                (
                    spec.get("files")
                        .map(|f| split_list(f, ",;"))
                        .unwrap_or_default(),
                    own.unwrap_or_else(|| paths.to_vec()),
                )
            }
            Value::String(_) => (split_list(term, ",;"), paths.to_vec()),
            other => {
                return Err(format!(
                    "Invalid term supplied. A string, dict or list is required, not '{}').",
                    python_type(other)
                ));
            }
        };
        for f in files {
            if paths.is_empty() {
                names.push(f);
            } else {
                names.extend(
                    paths
                        .iter()
                        .map(|p| Path::new(p).join(&f).display().to_string()),
                );
            }
        }
    }
    Ok(())
}

//! Paths as Python's `os.path` handles them on POSIX: `expanduser`, `expandvars`,
//! `realpath`, `relpath`, `splitext`, `path_join`, `commonpath`, `normpath`, `fileglob`.
//! The `win_*` filters are refused: dr manages POSIX hosts.

use minijinja::{Environment, Error, Value};

use super::{invalid, string_of};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "expanduser", expanduser);
    super::strict::add(env, "expandvars", expandvars);
    super::strict::add(env, "realpath", realpath);
    super::strict::add(env, "relpath", relpath);
    super::strict::add(env, "splitext", splitext);
    super::strict::add(env, "path_join", path_join);
    super::strict::add(env, "commonpath", commonpath);
    super::strict::add(env, "normpath", normpath);
    super::strict::add(env, "fileglob", fileglob);
    for name in ["win_basename", "win_dirname", "win_splitdrive"] {
        super::strict::add(env, name, move |_: Value| -> Result<Value, Error> {
            Err(invalid(format!(
                "`{name}` is not supported by dr: it manages POSIX hosts only"
            )))
        });
    }
}

fn expanduser(v: Value) -> Result<String, Error> {
    let s = string_of(&v)?;
    Ok(crate::home::expanduser(&s, || std::env::var("HOME").ok()))
}

/// `$NAME` and `${NAME}` replaced by environment variables; unknown ones stay as they are.
fn expandvars(v: Value) -> Result<String, Error> {
    let s = string_of(&v)?;
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match std::env::var(name).ok().filter(|_| !name.is_empty()) {
            Some(val) => out.push_str(&val),
            None => out.push_str(&rest[i..i + 1 + consumed]),
        }
        rest = &rest[i + 1 + consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Python's `os.path.normpath`.
pub(super) fn normpath_str(s: &str) -> String {
    if s.is_empty() {
        return ".".to_owned();
    }
    let initial = if s.starts_with("//") && !s.starts_with("///") {
        "//"
    } else if s.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in s.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if initial.is_empty() {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = format!("{initial}{}", parts.join("/"));
    if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

fn normpath(v: Value) -> Result<String, Error> {
    Ok(normpath_str(&string_of(&v)?))
}

fn realpath(v: Value) -> Result<String, Error> {
    let s = string_of(&v)?;
    let abs = if s.starts_with('/') {
        s
    } else {
        let cwd = std::env::current_dir().map_err(|e| invalid(format!("realpath: {e}")))?;
        format!("{}/{s}", cwd.display())
    };
    // Python resolves what exists and keeps the rest as written (normalised).
    let mut resolved = std::path::PathBuf::from("/");
    let norm = normpath_str(&abs);
    let mut components = norm.split('/').filter(|c| !c.is_empty()).peekable();
    while let Some(c) = components.next() {
        let next = resolved.join(c);
        match std::fs::canonicalize(&next) {
            Ok(p) => resolved = p,
            Err(_) => {
                resolved = next;
                for rest in components.by_ref() {
                    resolved.push(rest);
                }
                break;
            }
        }
    }
    Ok(resolved.to_string_lossy().into_owned())
}

fn relpath(v: Value, start: Option<String>) -> Result<String, Error> {
    let path = string_of(&v)?;
    if path.is_empty() {
        return Err(invalid("no path specified"));
    }
    let cwd = std::env::current_dir().map_err(|e| invalid(format!("relpath: {e}")))?;
    let absolute = |p: &str| {
        if p.starts_with('/') {
            normpath_str(p)
        } else {
            normpath_str(&format!("{}/{p}", cwd.display()))
        }
    };
    let start = absolute(start.as_deref().unwrap_or("."));
    let path = absolute(&path);
    let s: Vec<&str> = start.split('/').filter(|c| !c.is_empty()).collect();
    let p: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let common = s.iter().zip(&p).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; s.len() - common];
    parts.extend(&p[common..]);
    Ok(if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    })
}

fn splitext(v: Value) -> Result<Value, Error> {
    let s = string_of(&v)?;
    let base_start = s.rfind('/').map_or(0, |i| i + 1);
    let base = &s[base_start..];
    let leading_dots = base.len() - base.trim_start_matches('.').len();
    let split = base
        .rfind('.')
        .filter(|&i| i >= leading_dots && leading_dots < base.len());
    Ok(match split {
        Some(i) => Value::from(vec![
            Value::from(&s[..base_start + i]),
            Value::from(&s[base_start + i..]),
        ]),
        None => Value::from(vec![Value::from(s.as_str()), Value::from("")]),
    })
}

fn path_join(v: Value) -> Result<String, Error> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_owned());
    }
    if !super::data::is_sequence(&v) {
        return Err(invalid(format!(
            "|path_join expects string or sequence, got {} instead.",
            super::type_name(&v)
        )));
    }
    let mut out = String::new();
    for part in v.try_iter()? {
        let part = string_of(&part)?;
        if part.starts_with('/') {
            out = part;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&part);
        } else {
            out.push('/');
            out.push_str(&part);
        }
    }
    Ok(out)
}

fn commonpath(v: Value) -> Result<String, Error> {
    if !super::data::is_sequence(&v) {
        return Err(invalid(format!(
            "|commonpath expects sequence, got {} instead.",
            super::type_name(&v)
        )));
    }
    let paths: Vec<String> = v
        .try_iter()?
        .map(|p| string_of(&p))
        .collect::<Result<_, _>>()?;
    if paths.is_empty() {
        return Err(invalid("commonpath() arg is an empty sequence"));
    }
    let absolute = paths[0].starts_with('/');
    if paths.iter().any(|p| p.starts_with('/') != absolute) {
        return Err(invalid("Can't mix absolute and relative paths"));
    }
    let split: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| {
            p.split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .collect()
        })
        .collect();
    let first = &split[0];
    let common = (0..first.len())
        .take_while(|&i| split.iter().all(|s| s.get(i) == first.get(i)))
        .count();
    let prefix = if absolute { "/" } else { "" };
    Ok(format!("{prefix}{}", first[..common].join("/")))
}

/// Regular files matching a glob pattern (on the host the template renders on).
fn fileglob(v: Value) -> Result<Value, Error> {
    let pattern = string_of(&v)?;
    let Ok(paths) = glob::glob(&pattern) else {
        return Ok(Value::from(Vec::<Value>::new()));
    };
    Ok(Value::from(
        paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .map(|p| Value::from(p.to_string_lossy().into_owned()))
            .collect::<Vec<_>>(),
    ))
}

//! Ansible's tests (`x is name`): task results, regular expressions, versions, sets,
//! truthiness, files and URIs.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, Value};

use super::version::compare_versions;
use super::{invalid, regex_cached, regex_failed, string_of};

pub(super) fn register(env: &mut Environment<'static>) {
    for name in ["failed", "failure"] {
        env.add_test(name, |v: Value| result_flag(&v, "failed", "failed"));
    }
    for name in ["succeeded", "success", "successful"] {
        env.add_test(name, |v: Value| {
            result_flag(&v, "failed", "succeeded").map(|f| !f)
        });
    }
    env.add_test("unreachable", |v: Value| {
        result_flag(&v, "unreachable", "unreachable")
    });
    env.add_test("reachable", |v: Value| {
        result_flag(&v, "unreachable", "reachable").map(|f| !f)
    });
    for name in ["changed", "change"] {
        env.add_test(name, changed);
    }
    for name in ["skipped", "skip"] {
        env.add_test(name, |v: Value| result_flag(&v, "skipped", "skipped"));
    }
    env.add_test("timedout", timedout);
    for name in ["started", "finished"] {
        env.add_test(name, move |v: Value| async_flag(&v, name));
    }
    env.add_test("match", |v: Value, p: Option<String>, k: Kwargs| {
        regex_test(v, p, k, "match")
    });
    env.add_test("search", |v: Value, p: Option<String>, k: Kwargs| {
        regex_test(v, p, k, "search")
    });
    env.add_test("regex", |v: Value, p: Option<String>, k: Kwargs| {
        regex_test(v, p, k, "")
    });
    env.add_test("version", compare_versions);
    env.add_test("version_compare", compare_versions);
    env.add_test("any", |v: Value| -> Result<bool, Error> {
        Ok(v.try_iter()?.any(|x| x.is_true()))
    });
    env.add_test("all", |v: Value| -> Result<bool, Error> {
        Ok(v.try_iter()?.all(|x| x.is_true()))
    });
    env.add_test("truthy", |v: Value, k: Kwargs| truthy(v, k));
    env.add_test("falsy", |v: Value, k: Kwargs| truthy(v, k).map(|t| !t));
    // Jinja2's `sequence`: anything with a length and items (strings and mappings too).
    env.add_test("sequence", |v: Value| {
        matches!(
            v.kind(),
            ValueKind::String | ValueKind::Seq | ValueKind::Map | ValueKind::Bytes
        )
    });
    env.add_test("vaulted_file", vaulted_file);
    for name in ["subset", "issubset"] {
        env.add_test(name, |a: Value, b: Value| -> Result<bool, Error> {
            let b: Vec<Value> = b.try_iter()?.collect();
            Ok(a.try_iter()?.all(|x| b.contains(&x)))
        });
    }
    for name in ["superset", "issuperset"] {
        env.add_test(name, |a: Value, b: Value| -> Result<bool, Error> {
            let a: Vec<Value> = a.try_iter()?.collect();
            Ok(b.try_iter()?.all(|x| a.contains(&x)))
        });
    }
    for name in ["nan", "isnan"] {
        env.add_test(name, |v: Value| {
            v.kind() == ValueKind::Number && f64::try_from(v).is_ok_and(f64::is_nan)
        });
    }
    for (name, f) in FILE_TESTS {
        env.add_test(*name, move |v: Value| -> Result<bool, Error> {
            Ok(f(&string_of(&v)?))
        });
    }
    for name in ["same_file", "is_same_file"] {
        env.add_test(name, same_file);
    }
    env.add_test("uri", |v: Value, schemes: Option<Value>| {
        is_uri(&v, schemes.as_ref())
    });
    env.add_test("url", |v: Value, schemes: Option<Value>| {
        is_uri(&v, schemes.as_ref())
            && v.as_str().is_some_and(|s| {
                let p = super::text::split_url(s);
                !p.netloc.is_empty() || p.scheme == "file"
            })
    });
    env.add_test("urn", |v: Value| {
        is_uri(&v, Some(&Value::from(vec!["urn"])))
    });
}

fn mapping(v: &Value, test: &str) -> Result<(), Error> {
    if v.kind() == ValueKind::Map {
        Ok(())
    } else {
        Err(invalid(format!("The '{test}' test expects a dictionary")))
    }
}

fn flag(v: &Value, key: &str) -> bool {
    v.get_item(&Value::from(key)).is_ok_and(|f| f.is_true())
}

fn result_flag(v: &Value, key: &str, test: &str) -> Result<bool, Error> {
    mapping(v, test)?;
    Ok(flag(v, key))
}

/// `started`/`finished` as Ansible's tests: the async result's flag; a result without it
/// (a task that was not async) counts as started and finished.
/// Ansible's `started` and `finished`: a result of no async task counts as both, with a
/// warning.
fn async_flag(v: &Value, key: &str) -> Result<bool, Error> {
    mapping(v, key)?;
    let f = v.get_item(&Value::from(key)).unwrap_or(Value::UNDEFINED);
    if f.is_undefined() {
        crate::template::warnings::warn(format!(
            "The '{key}' test expects an async task, but a non-async task was tested"
        ));
        return Ok(true);
    }
    Ok(f.is_true())
}

fn changed(v: Value) -> Result<bool, Error> {
    mapping(&v, "changed")?;
    let c = v
        .get_item(&Value::from("changed"))
        .unwrap_or(Value::UNDEFINED);
    if !c.is_undefined() {
        return Ok(c.is_true());
    }
    let results = v
        .get_item(&Value::from("results"))
        .unwrap_or(Value::UNDEFINED);
    if results.kind() == ValueKind::Seq {
        let first = results.get_item(&Value::from(0))?;
        if first.kind() == ValueKind::Map {
            return Ok(results.try_iter()?.any(|r| flag(&r, "changed")));
        }
    }
    Ok(false)
}

fn timedout(v: Value) -> Result<bool, Error> {
    mapping(&v, "timedout")?;
    let t = v
        .get_item(&Value::from("timedout"))
        .unwrap_or(Value::UNDEFINED);
    Ok(t.is_true() && flag(&t, "period"))
}

fn regex_test(v: Value, pattern: Option<String>, kwargs: Kwargs, how: &str) -> Result<bool, Error> {
    let text = string_of(&v)?;
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    let how = match how {
        "" => kwargs
            .get::<Option<String>>("match_type")?
            .unwrap_or_else(|| "search".to_owned()),
        h => h.to_owned(),
    };
    kwargs.assert_all_used()?;
    let pattern = pattern.unwrap_or_default();
    let re = match how.as_str() {
        "match" => regex_cached(&format!("\\A(?:{pattern})"), ignorecase, multiline)?,
        "fullmatch" => regex_cached(&format!("\\A(?:{pattern})\\z"), ignorecase, multiline)?,
        _ => regex_cached(&pattern, ignorecase, multiline)?,
    };
    re.is_match(&text).map_err(regex_failed)
}

fn truthy(v: Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    if convert {
        let known = match v.kind() {
            ValueKind::Bool => Some(v.is_true()),
            ValueKind::String | ValueKind::Number => {
                let t = super::super::pyrepr::python_str(&v).to_lowercase();
                match t.as_str() {
                    "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Some(true),
                    "n" | "no" | "off" | "0" | "false" | "f" | "0.0" => Some(false),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(b) = known {
            return Ok(b);
        }
    }
    Ok(v.is_true())
}

fn vaulted_file(v: Value) -> Result<bool, Error> {
    let path = string_of(&v)?;
    let data = std::fs::read(&path)
        .map_err(|_| invalid(format!("Cannot test if the file '{path}' is a vault.")))?;
    Ok(data.starts_with(b"$ANSIBLE_VAULT;"))
}

type FileTest = fn(&str) -> bool;

const FILE_TESTS: &[(&str, FileTest)] = &[
    ("directory", |p| std::path::Path::new(p).is_dir()),
    ("is_dir", |p| std::path::Path::new(p).is_dir()),
    ("file", |p| std::path::Path::new(p).is_file()),
    ("is_file", |p| std::path::Path::new(p).is_file()),
    ("link", |p| std::path::Path::new(p).is_symlink()),
    ("is_link", |p| std::path::Path::new(p).is_symlink()),
    ("exists", |p| std::path::Path::new(p).exists()),
    ("link_exists", |p| std::fs::symlink_metadata(p).is_ok()),
    ("abs", |p| p.starts_with('/')),
    ("is_abs", |p| p.starts_with('/')),
    ("mount", is_mount),
    ("is_mount", is_mount),
];

/// Python's `os.path.ismount`: a different device than the parent, or the same inode.
fn is_mount(p: &str) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return false;
    }
    let parent = std::path::Path::new(p).join("..");
    let Ok(pmeta) = std::fs::symlink_metadata(&parent) else {
        return false;
    };
    meta.dev() != pmeta.dev() || meta.ino() == pmeta.ino()
}

fn same_file(a: Value, b: Value) -> Result<bool, Error> {
    use std::os::unix::fs::MetadataExt as _;
    let (a, b) = (string_of(&a)?, string_of(&b)?);
    let ma = std::fs::metadata(&a).map_err(|e| invalid(format!("{a}: {e}")))?;
    let mb = std::fs::metadata(&b).map_err(|e| invalid(format!("{b}: {e}")))?;
    Ok(ma.dev() == mb.dev() && ma.ino() == mb.ino())
}

fn is_uri(v: &Value, schemes: Option<&Value>) -> bool {
    let Some(s) = v.as_str() else {
        return false;
    };
    let p = super::text::split_url(s);
    match schemes.filter(|s| s.is_true()) {
        None => true,
        Some(list) => list
            .try_iter()
            .is_ok_and(|mut it| it.any(|x| x.as_str() == Some(p.scheme.as_str()))),
    }
}

//! The `type:` and `elements:` of an option: each value checked, and converted as
//! Ansible converts it (`"5"` is an int, `"a,b"` a list, `"yes"` a bool), with
//! Ansible's messages when it cannot be.

use serde_json::{Map, Value as Json};

use super::checks::{
    BOOLEANS_FALSE, BOOLEANS_TRUE, Boolean, class_name, py_str, python_eq, type_name,
};
use crate::template::pyrepr::repr_json;

/// Checks and converts every option of `spec` that `params` has.
pub(super) fn check_types(
    spec: &Map<String, Json>,
    params: &mut Map<String, Json>,
    context: &[String],
    errors: &mut Vec<String>,
) {
    let found = if context.is_empty() {
        String::new()
    } else {
        format!(" found in '{}'.", context.join(" -> "))
    };
    for (param, attrs) in spec {
        let Some(value) = params.get(param).cloned() else {
            continue;
        };
        let required = attrs.get("required").is_some_and(super::checks::truthy);
        let has_default = attrs.get("default").is_some_and(|d| !d.is_null());
        if value.is_null() && !required && !has_default {
            continue;
        }
        let wanted = wanted_name(attrs.get("type"));
        let converted = convert(&wanted, &value).and_then(|v| {
            let Some(elements) = attrs.get("elements").filter(|e| super::checks::truthy(e))
            else {
                return Ok(v);
            };
            let items = match &v {
                Json::Array(items) => items.clone(),
                other => {
                    errors.push(format!(
                        "Invalid type {wanted} for option '{}'{found}, elements value check is supported only with 'list' type",
                        py_str(other)
                    ));
                    iterate(other)?
                }
            };
            Ok(Json::Array(check_elements(
                &wanted_name(Some(elements)),
                param,
                &items,
                context,
                errors,
            )))
        });
        match converted {
            Ok(v) => {
                params.insert(param.clone(), v);
            }
            Err(e) => errors.push(format!(
                "argument '{param}' is of type {}{found} and we were unable to convert to {wanted}: {e}",
                type_name(&value)
            )),
        }
    }
}

/// The type an option asks for (`str` when it names none).
fn wanted_name(t: Option<&Json>) -> String {
    match t {
        None | Some(Json::Null) => "str".to_owned(),
        Some(other) => py_str(other),
    }
}

/// What Python iterates in a value that should have been a list.
fn iterate(v: &Json) -> Result<Vec<Json>, String> {
    match v {
        Json::Object(m) => Ok(m.keys().map(|k| Json::from(k.as_str())).collect()),
        // Python iterates bytes as numbers.
        Json::String(_) if let Some(bytes) = crate::pybytes::of_json(v) => {
            Ok(bytes.into_iter().map(Json::from).collect())
        }
        Json::String(s) => Ok(s.chars().map(|c| Json::from(c.to_string())).collect()),
        other => Err(format!("'{}' object is not iterable", type_name(other))),
    }
}

/// Each item of a list option checked against `elements:`; the items that convert.
fn check_elements(
    wanted: &str,
    param: &str,
    items: &[Json],
    context: &[String],
    errors: &mut Vec<String>,
) -> Vec<Json> {
    let mut out = Vec::new();
    for item in items {
        match convert(wanted, item) {
            Ok(v) => out.push(v),
            Err(e) => {
                let mut msg = format!("Elements value for option '{param}'");
                if !context.is_empty() {
                    msg.push_str(&format!(" found in '{}'", context.join(" -> ")));
                }
                msg.push_str(&format!(
                    " is of type {} and we were unable to convert to {wanted}: {e}",
                    type_name(item)
                ));
                errors.push(msg);
            }
        }
    }
    out
}

/// `value` as type `wanted`, or why it cannot be (Ansible's `check_type_*`).
pub(super) fn convert(wanted: &str, value: &Json) -> Result<Json, String> {
    if let Some(bytes) = crate::pybytes::of_json(value) {
        return convert_bytes(wanted, value, &bytes);
    }
    match wanted {
        "str" | "path" => Ok(match value {
            Json::String(_) => value.clone(),
            Json::Null => Json::from(""),
            other => Json::from(py_str(other)),
        }),
        "list" => to_list(value),
        "dict" => to_dict(value),
        "bool" => to_bool(value).map(Json::Bool),
        "int" => to_int(value),
        "float" => to_float(value),
        "raw" => Ok(value.clone()),
        "json" | "jsonarg" => match value {
            Json::String(s) => Ok(Json::from(s.trim())),
            Json::Array(_) | Json::Object(_) => Ok(Json::from(value.to_string())),
            other => Err(format!(
                "{} cannot be converted to a json string",
                class_name(other)
            )),
        },
        "bytes" | "bits" => {
            let bits = wanted == "bits";
            crate::template::filters::human_to_bytes_text(&py_str(value), None, bits)
                .and_then(|n| i64::try_from(n).ok())
                .map(Json::from)
                .ok_or_else(|| {
                    let unit = if bits { "Bit" } else { "Byte" };
                    format!(
                        "{} cannot be converted to a {unit} value",
                        class_name(value)
                    )
                })
        }
        _ => Err("'NoneType' object is not callable".to_owned()),
    }
}

/// A bytes value (`!!binary`) as type `wanted`, as Ansible's `check_type_*` treat
/// `bytes`: the text types keep it; the others cannot convert it (a number is not read
/// from bytes, even `b'5'`).
fn convert_bytes(wanted: &str, value: &Json, bytes: &[u8]) -> Result<Json, String> {
    let cannot = |what: &str| format!("{} cannot be converted to {what}", class_name(value));
    match wanted {
        "str" | "path" | "raw" | "json" | "jsonarg" => Ok(value.clone()),
        "int" => Err(format!(
            "\"{}\" cannot be converted to an int",
            crate::pybytes::repr(bytes)
        )),
        "list" => Err(cannot("a list")),
        "dict" => Err(cannot("a dict")),
        "bool" => Err(cannot("a bool")),
        "float" => Err(cannot("a float")),
        "bytes" => Err(cannot("a Byte value")),
        "bits" => Err(cannot("a Bit value")),
        _ => Err("'NoneType' object is not callable".to_owned()),
    }
}

fn to_list(value: &Json) -> Result<Json, String> {
    match value {
        Json::Array(_) => Ok(value.clone()),
        Json::String(s) => Ok(Json::Array(s.split(',').map(Json::from).collect())),
        Json::Number(_) | Json::Bool(_) => Ok(Json::Array(vec![Json::from(py_str(value))])),
        other => Err(format!(
            "{} cannot be converted to a list",
            class_name(other)
        )),
    }
}

fn to_dict(value: &Json) -> Result<Json, String> {
    let Json::String(s) = value else {
        return match value {
            Json::Object(_) => Ok(value.clone()),
            other => Err(format!(
                "{} cannot be converted to a dict",
                class_name(other)
            )),
        };
    };
    if s.starts_with('{') {
        // Ansible falls back to Python's literal syntax, which dr does not read.
        return match serde_json::from_str::<Json>(s) {
            Ok(v @ Json::Object(_)) => Ok(v),
            _ => Err("unable to evaluate string as dictionary".to_owned()),
        };
    }
    if !s.contains('=') {
        return Err("dictionary requested, could not parse JSON or key=value".to_owned());
    }
    let mut out = Map::new();
    for field in key_value_fields(s.trim()) {
        let Some((k, v)) = field.split_once('=') else {
            return Err(
                "unable to evaluate string in the \"key=value\" format as dictionary".to_owned(),
            );
        };
        out.insert(k.to_owned(), Json::from(v));
    }
    Ok(Json::Object(out))
}

/// `k1=v1, k2="v 2"` split into fields as Ansible's `check_type_dict` does.
fn key_value_fields(s: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quote: Option<char> = None;
    let mut escape = false;
    for c in s.chars() {
        if escape {
            field.push(c);
            escape = false;
        } else if c == '\\' {
            escape = true;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == ',' || c == ' ') {
            if !field.is_empty() {
                fields.push(std::mem::take(&mut field));
            }
        } else {
            field.push(c);
        }
    }
    if !field.is_empty() {
        fields.push(field);
    }
    fields
}

fn to_bool(value: &Json) -> Result<bool, String> {
    let normalized = match value {
        Json::Bool(b) => return Ok(*b),
        Json::String(s) => Json::from(s.trim().to_lowercase()),
        Json::Number(_) => value.clone(),
        other => {
            return Err(format!(
                "{} cannot be converted to a bool",
                class_name(other)
            ));
        }
    };
    let member = |set: &[Boolean]| set.iter().any(|b| python_eq(&b.to_json(), &normalized));
    if member(BOOLEANS_TRUE) {
        return Ok(true);
    }
    if member(BOOLEANS_FALSE) {
        return Ok(false);
    }
    let valid: Vec<String> = BOOLEANS_TRUE
        .iter()
        .chain(BOOLEANS_FALSE)
        .map(|b| repr_json(&b.to_json()))
        .collect();
    Err(format!(
        "The value '{}' is not a valid boolean. Valid booleans include: {}",
        py_str(value),
        valid.join(", ")
    ))
}

fn to_int(value: &Json) -> Result<Json, String> {
    let bad = || format!("\"{}\" cannot be converted to an int", repr_json(value));
    match value {
        Json::Bool(_) => Ok(value.clone()),
        Json::Number(n) if n.is_i64() || n.is_u64() => Ok(value.clone()),
        Json::Number(n) => whole(n.as_f64().ok_or_else(bad)?).ok_or_else(bad),
        Json::String(s) => {
            let t = s.trim().replace('_', "");
            if let Ok(i) = t.parse::<i64>() {
                return Ok(Json::from(i));
            }
            let is_number = t
                .trim_start_matches(['+', '-'])
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
            match t.parse::<f64>() {
                Ok(f) if is_number => whole(f).ok_or_else(bad),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// A float with no fractional part, as an int.
fn whole(f: f64) -> Option<Json> {
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18).then(|| Json::from(f as i64))
}

fn to_float(value: &Json) -> Result<Json, String> {
    let f = match value {
        Json::Number(n) if n.is_f64() => return Ok(value.clone()),
        Json::Number(n) => n.as_f64(),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        Json::String(s) => s.trim().replace('_', "").parse::<f64>().ok(),
        _ => None,
    };
    let f = f.ok_or_else(|| format!("{} cannot be converted to a float", class_name(value)))?;
    Ok(serde_json::Number::from_f64(f).map_or_else(|| value.clone(), Json::Number))
}

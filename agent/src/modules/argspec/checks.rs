//! The checks of an argument spec that are not type conversions: required options, the
//! relations between options (`mutually_exclusive`, `required_together`,
//! `required_one_of`, `required_if`, `required_by`), and Python's view of values that
//! Ansible's messages show (`str()`, `==`, truthiness, type names).

use serde_json::{Map, Value as Json};

use crate::template::pyrepr::repr_json;

/// A member of Ansible's `BOOLEANS_TRUE`/`BOOLEANS_FALSE`.
#[derive(Clone, Copy)]
pub(super) enum Boolean {
    Word(&'static str),
    Number(i64),
}

impl Boolean {
    pub(super) fn to_json(self) -> Json {
        match self {
            Boolean::Word(w) => Json::from(w),
            Boolean::Number(n) => Json::from(n),
        }
    }
}

/// What Ansible reads as true (`1.0` and `True` are the same set member as `1`).
pub(super) const BOOLEANS_TRUE: &[Boolean] = &[
    Boolean::Word("y"),
    Boolean::Word("yes"),
    Boolean::Word("on"),
    Boolean::Word("1"),
    Boolean::Word("true"),
    Boolean::Word("t"),
    Boolean::Number(1),
];

/// What Ansible reads as false.
pub(super) const BOOLEANS_FALSE: &[Boolean] = &[
    Boolean::Word("n"),
    Boolean::Word("no"),
    Boolean::Word("off"),
    Boolean::Word("0"),
    Boolean::Word("false"),
    Boolean::Word("f"),
    Boolean::Number(0),
];

/// Python's truthiness.
pub(crate) fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        // An empty bytes value is false too.
        Json::String(s) => !s.is_empty() && s != crate::pybytes::PREFIX,
        Json::Array(a) => !a.is_empty(),
        Json::Object(m) => !m.is_empty(),
    }
}

/// Python's `str()` (of bytes, their `repr()`).
pub(super) fn py_str(v: &Json) -> String {
    match v {
        Json::String(s) if !s.starts_with(crate::pybytes::PREFIX) => s.clone(),
        other => repr_json(other),
    }
}

/// Python's `==` (`1 == 1.0 == True`).
pub(super) fn python_eq(a: &Json, b: &Json) -> bool {
    let number = |v: &Json| match v {
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        Json::Number(n) => n.as_f64(),
        _ => None,
    };
    match (a, b) {
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| python_eq(x, y))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| python_eq(v, w)))
        }
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

/// The name of the value's type as Ansible's messages give it (`native_type_name`).
pub(crate) fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) if crate::pybytes::of_json(v).is_some() => "bytes",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// `type(value)` as Python prints it for a value read from YAML (Ansible tags it with
/// where it came from, so its class is the tagged one).
pub(super) fn class_name(v: &Json) -> String {
    let tagged =
        |t: &str| format!("<class 'ansible.module_utils._internal._datatag._AnsibleTagged{t}'>");
    match v {
        Json::Null => "<class 'NoneType'>".to_owned(),
        Json::Bool(_) => "<class 'bool'>".to_owned(),
        Json::Number(n) if n.is_f64() => tagged("Float"),
        Json::Number(_) => tagged("Int"),
        Json::String(_) if crate::pybytes::of_json(v).is_some() => tagged("Bytes"),
        Json::String(_) => tagged("Str"),
        Json::Array(_) => tagged("List"),
        Json::Object(_) => tagged("Dict"),
    }
}

/// The class name alone (`_AnsibleTaggedInt`, `bool`), as `value.__class__.__name__`.
pub(super) fn short_class_name(v: &Json) -> String {
    let full = class_name(v);
    let inner = full.trim_start_matches("<class '").trim_end_matches("'>");
    inner.rsplit('.').next().unwrap_or(inner).to_owned()
}

/// `msg`, and where in the sub-options it was found.
fn found_in(msg: String, context: &[String]) -> String {
    if context.is_empty() {
        msg
    } else {
        format!("{msg} found in {}", context.join(" -> "))
    }
}

/// Strings of a list-of-lists attribute (`[[a, b], [c, d]]`); a lone string is one term.
fn terms(v: &Json) -> Vec<Vec<String>> {
    let term = |t: &Json| match t {
        Json::Array(items) => items.iter().map(py_str).collect(),
        other => vec![py_str(other)],
    };
    v.as_array()
        .map(|groups| groups.iter().map(term).collect())
        .unwrap_or_default()
}

/// How many of `names` `params` has.
fn count(names: &[String], params: &Map<String, Json>) -> usize {
    let mut seen: Vec<&String> = names.iter().filter(|n| params.contains_key(*n)).collect();
    seen.sort();
    seen.dedup();
    seen.len()
}

/// `required: true` options that `params` lacks.
pub(super) fn required_arguments(
    spec: &Map<String, Json>,
    params: &Map<String, Json>,
    context: &[String],
) -> Option<String> {
    let mut missing: Vec<&str> = spec
        .iter()
        .filter(|(k, attrs)| {
            attrs.get("required").is_some_and(truthy) && !params.contains_key(k.as_str())
        })
        .map(|(k, _)| k.as_str())
        .collect();
    if missing.is_empty() {
        return None;
    }
    missing.sort_unstable();
    Some(found_in(
        format!("missing required arguments: {}", missing.join(", ")),
        context,
    ))
}

/// `mutually_exclusive:` of a sub-spec.
pub(super) fn mutually_exclusive(
    groups: Option<&Json>,
    params: &Map<String, Json>,
    context: &[String],
) -> Option<String> {
    let clashing: Vec<String> = terms(groups?)
        .iter()
        .filter(|t| count(t, params) > 1)
        .map(|t| t.join("|"))
        .collect();
    (!clashing.is_empty()).then(|| {
        found_in(
            format!("parameters are mutually exclusive: {}", clashing.join(", ")),
            context,
        )
    })
}

/// `required_together`, `required_one_of`, `required_if`, `required_by` of a sub-spec,
/// in Ansible's order; each stops at its first failure.
pub(super) fn additional(
    attrs: &Json,
    params: &Map<String, Json>,
    context: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(groups) = attrs.get("required_together") {
        let broken = terms(groups).into_iter().find(|t| {
            let counts: Vec<usize> = t
                .iter()
                .map(|f| count(std::slice::from_ref(f), params))
                .collect();
            counts.iter().any(|c| *c > 0) && counts.contains(&0)
        });
        if let Some(t) = broken {
            out.push(found_in(
                format!("parameters are required together: {}", t.join(", ")),
                context,
            ));
        }
    }
    if let Some(groups) = attrs.get("required_one_of")
        && let Some(t) = terms(groups).into_iter().find(|t| count(t, params) == 0)
    {
        out.push(found_in(
            format!("one of the following is required: {}", t.join(", ")),
            context,
        ));
    }
    if let Some(reqs) = attrs.get("required_if").and_then(Json::as_array)
        && let Some(msg) = reqs.iter().find_map(|r| required_if(r, params))
    {
        out.push(found_in(msg, context));
    }
    if let Some(reqs) = attrs.get("required_by").and_then(Json::as_object)
        && let Some(msg) = reqs.iter().find_map(|(key, wanted)| {
            if params.get(key).is_none_or(Json::is_null) {
                return None;
            }
            let wanted: Vec<String> = match wanted {
                Json::Array(items) => items.iter().map(py_str).collect(),
                other => vec![py_str(other)],
            };
            let missing: Vec<String> = wanted
                .into_iter()
                .filter(|w| params.get(w).is_none_or(Json::is_null))
                .collect();
            (!missing.is_empty()).then(|| {
                format!(
                    "missing parameter(s) required by '{key}': {}",
                    missing.join(", ")
                )
            })
        })
    {
        out.push(found_in(msg, context));
    }
    out
}

/// One `required_if` entry: `[key, value, [options], is_one_of?]`.
fn required_if(req: &Json, params: &Map<String, Json>) -> Option<String> {
    let req = req.as_array()?;
    let (key, val, needed) = (py_str(req.first()?), req.get(1)?, req.get(2)?);
    let one_of = req.get(3).is_some_and(truthy);
    let needed: Vec<String> = match needed {
        Json::Array(items) => items.iter().map(py_str).collect(),
        other => vec![py_str(other)],
    };
    if !params.get(&key).is_some_and(|v| python_eq(v, val)) {
        return None;
    }
    let missing: Vec<&String> = needed.iter().filter(|n| !params.contains_key(*n)).collect();
    let max_missing = if one_of { needed.len() } else { 0 };
    (!missing.is_empty() && missing.len() >= max_missing).then(|| {
        let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        format!(
            "{key} is {} but {} of the following are missing: {}",
            py_str(val),
            if one_of { "any" } else { "all" },
            missing.join(", ")
        )
    })
}

//! The task Ansible puts before a role's own tasks when the role declares its arguments
//! (`meta/argument_specs.yml`): `validate_argument_spec` with the entry point's options,
//! the role's parameters and where they come from, tagged `always`. dr adds the same task,
//! so a role's arguments are checked where Ansible checks them, with its words.

use std::path::Path;

use serde_json::{Map, Value};

use crate::diagnostic::Loc;
use crate::yaml::{Node, NodeValue};

/// The validation task (a one-task list) for entry point `entry` (`main`, or the
/// `tasks_from` name) of role `name` at `path`, if its spec declares that entry point.
pub fn task(
    specs: &Node,
    name: &str,
    path: &Path,
    entry: &str,
    provided: &Map<String, Value>,
) -> Option<Node> {
    let spec = specs
        .as_map()?
        .iter()
        .find(|(k, _)| k.scalar_text().as_deref() == Some(entry))
        .map(|(_, v)| v)?;
    // As Ansible's `if entrypoint_arg_spec:`, an empty entry point validates nothing.
    let fields = spec.as_map().filter(|m| !m.is_empty())?;
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    };
    let loc = spec.loc.clone();
    let mut title = format!("Validating arguments against arg spec '{entry}'");
    if let Some(about) = field("short_description") {
        title.push_str(" - ");
        title.push_str(
            &about
                .scalar_text()
                .unwrap_or_else(|| about.to_json().to_string()),
        );
    }
    let options = field("options")
        .cloned()
        .unwrap_or_else(|| node(NodeValue::Map(Vec::new()), &loc));
    // Ansible names the role by its directory (`foo.bar.blah` is `blah`).
    let role_name = path
        .file_name()
        .map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned());
    let context = serde_json::json!({
        "type": "role",
        "name": role_name,
        "argument_spec_name": entry,
        "path": std::fs::canonicalize(path)
            .or_else(|_| std::path::absolute(path))
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string(),
    });
    let args = mapping(
        vec![
            ("argument_spec", options),
            (
                "provided_arguments",
                json_node(&Value::Object(provided.clone()), &loc),
            ),
            ("validate_args_context", json_node(&context, &loc)),
        ],
        &loc,
    );
    let always = node(
        NodeValue::Seq(vec![node(NodeValue::Str("always".into()), &loc)]),
        &loc,
    );
    let task = mapping(
        vec![
            ("name", node(NodeValue::Str(title), &loc)),
            ("ansible.builtin.validate_argument_spec", args),
            ("tags", always),
        ],
        &loc,
    );
    Some(node(NodeValue::Seq(vec![task]), &loc))
}

fn node(value: NodeValue, loc: &Loc) -> Node {
    Node {
        value,
        loc: loc.clone(),
    }
}

fn mapping(entries: Vec<(&str, Node)>, loc: &Loc) -> Node {
    let entries = entries
        .into_iter()
        .map(|(k, v)| (node(NodeValue::Str(k.to_owned()), loc), v))
        .collect();
    node(NodeValue::Map(entries), loc)
}

/// `v` as a YAML node located at `loc`.
fn json_node(v: &Value, loc: &Loc) -> Node {
    let value = match v {
        Value::Null => NodeValue::Null,
        Value::Bool(b) => NodeValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => NodeValue::Int(i),
            None => NodeValue::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => NodeValue::Str(s.clone()),
        Value::Array(items) => NodeValue::Seq(items.iter().map(|i| json_node(i, loc)).collect()),
        Value::Object(m) => NodeValue::Map(
            m.iter()
                .map(|(k, v)| (node(NodeValue::Str(k.clone()), loc), json_node(v, loc)))
                .collect(),
        ),
    };
    node(value, loc)
}

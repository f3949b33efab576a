//! Variable files: `vars_files:`, `-e @file`, `group_vars/`, `host_vars/`.
//!
//! A vars file is a YAML (or JSON) mapping. Where it is a vault file, it is decrypted first
//! and every value in it becomes a secret.

use std::path::Path;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Loc};
use crate::secrets::Secrets;
use crate::yaml::{self, Node};

/// Reads a vars file into a mapping. An empty file is an empty mapping.
pub fn load(path: &Path, secrets: &Secrets) -> Result<Map<String, Value>, Diagnostic> {
    let node = read_node(path, secrets)?;
    mapping_of(&node, path)
}

/// Reads a play's `vars_files` entry: a mapping, or (as Ansible allows there) a list of
/// mappings merged in order.
pub fn load_play_vars(path: &Path, secrets: &Secrets) -> Result<Map<String, Value>, Diagnostic> {
    let node = read_node(path, secrets)?;
    let Some(items) = node.as_seq() else {
        return mapping_of(&node, path);
    };
    let mut merged = Map::new();
    for item in items {
        merged.extend(mapping_of(item, path)?);
    }
    Ok(merged)
}

/// Reads a YAML file, decrypting it first when it is a vault file (whose values are then
/// recorded as secrets).
pub fn read_node(path: &Path, secrets: &Secrets) -> Result<Node, Diagnostic> {
    let bytes = crate::input_file::read(path)?;
    if let Some(text) = secrets.decrypt_if_vault(path, &bytes)? {
        let node = yaml::parse_str(path, &text)?;
        secrets.add_leaves(&node.to_json());
        return Ok(node);
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Diagnostic::new(
            Loc::file_start(path),
            format!("`{}` is not UTF-8 text", path.display()),
        )
    })?;
    yaml::parse_str(path, &text)
}

fn mapping_of(node: &Node, path: &Path) -> Result<Map<String, Value>, Diagnostic> {
    if node.is_null() {
        return Ok(Map::new());
    }
    match node.to_json() {
        Value::Object(map) => Ok(map),
        _ => Err(Diagnostic::new(
            node.loc.clone(),
            format!(
                "`{}` must hold a mapping of variables, found {}",
                path.display(),
                node.kind()
            ),
        )),
    }
}

//! YAML `!!binary` scalars. Ansible reads one as Python `bytes`, UTF-8 or not; dr keeps it
//! as the string that stands for bytes in its data ([`dr_agent::pybytes`]).
//!
//! The reader is told to hand over a `!!binary` scalar's text as it is written (its
//! base64); the tags themselves are not in the tree it builds, so a first pass over the
//! parser's events finds where the `!!binary` scalars are (and the aliases to them), and
//! their nodes are decoded afterwards.

use std::collections::HashSet;
use std::sync::Arc;

use super::node::{Node, NodeValue};
use crate::diagnostic::{Diagnostic, Loc};

/// Where `!!binary` scalars start (line, column; both from 1), as node locations give
/// them; or the place and message of a binary tag Ansible refuses.
pub(super) fn find(text: &str) -> Result<HashSet<(u32, u32)>, (u32, u32, String)> {
    if !text.contains("binary") {
        return Ok(HashSet::new());
    }
    super::tag_scan::scalars(text, |t| {
        // PyYAML knows `!!binary` only; `!binary` is a local tag it refuses.
        if t.handle() == "!" && t.suffix() == "binary" {
            return Err("could not determine a constructor for the tag '!binary'".to_owned());
        }
        Ok(t.suffix_in_namespace("tag:yaml.org,2002:")
            .is_some_and(|name| name == "binary"))
    })
}

/// Turns the string nodes of `node` that start at `at` (their base64, as written) into the
/// bytes they hold; a `!!binary` mapping key, or base64 that does not decode, is refused.
/// A `!!binary` scalar whose node was not found is refused too, rather than left as its
/// base64 text.
pub(super) fn decode(
    node: &mut Node,
    at: &HashSet<(u32, u32)>,
    file: &Arc<str>,
) -> Result<(), Diagnostic> {
    if at.is_empty() {
        return Ok(());
    }
    let mut found = HashSet::new();
    walk(node, at, file, &mut found)?;
    match at.iter().filter(|p| !found.contains(*p)).min() {
        None => Ok(()),
        Some(&(line, col)) => Err(Diagnostic::new(
            Loc::new(file.clone(), line, col),
            "dr could not read this `!!binary` value (a bug in dr)",
        )),
    }
}

fn walk(
    node: &mut Node,
    at: &HashSet<(u32, u32)>,
    file: &Arc<str>,
    found: &mut HashSet<(u32, u32)>,
) -> Result<(), Diagnostic> {
    let pos = |n: &Node| (n.loc.line, n.loc.col);
    let located = |n: &Node, message: String| {
        Diagnostic::new(Loc::new(file.clone(), n.loc.line, n.loc.col), message)
    };
    if let NodeValue::Str(s) = &node.value
        && at.contains(&pos(node))
    {
        use base64::Engine as _;
        let base64: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(base64)
            .map_err(|e| located(node, format!("invalid `!!binary` data: {e}")))?;
        found.insert(pos(node));
        node.value = NodeValue::Str(dr_agent::pybytes::encode(&bytes));
        return Ok(());
    }
    match &mut node.value {
        NodeValue::Seq(items) => {
            for item in items {
                walk(item, at, file, found)?;
            }
        }
        NodeValue::Map(entries) => {
            for (k, v) in entries {
                if at.contains(&pos(k)) {
                    return Err(located(
                        k,
                        "a `!!binary` mapping key is not supported by dr: keys are text".to_owned(),
                    ));
                }
                walk(k, at, file, found)?;
                walk(v, at, file, found)?;
            }
        }
        _ => {}
    }
    Ok(())
}

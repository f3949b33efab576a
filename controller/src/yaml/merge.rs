//! YAML merge keys (`<<: *base`, `<<: [*a, *b]`) expanded as PyYAML (and so Ansible)
//! expands them: the merged entries first, in the order PyYAML gathers them (a list's
//! mappings last to first), then the mapping's own; a key keeps its first position and takes
//! its last value, so the mapping's own keys win, and among merged mappings the earlier.

use super::node::{Node, NodeValue};
use crate::diagnostic::Diagnostic;

/// Expands every merge key in `node`, innermost first.
pub fn expand(node: &mut Node) -> Result<(), Diagnostic> {
    match &mut node.value {
        NodeValue::Seq(items) => items.iter_mut().try_for_each(expand),
        NodeValue::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                expand(k)?;
                expand(v)?;
            }
            if !entries.iter().any(|(k, _)| is_merge_key(k)) {
                return Ok(());
            }
            let mut merged: Vec<(Node, Node)> = Vec::new();
            let mut own: Vec<(Node, Node)> = Vec::new();
            for (k, v) in std::mem::take(entries) {
                if !is_merge_key(&k) {
                    own.push((k, v));
                    continue;
                }
                let not_mappings = || {
                    Diagnostic::new(
                        v.loc.clone(),
                        "invalid YAML: a merge key (`<<`) takes a mapping or a list of mappings",
                    )
                };
                match &v.value {
                    NodeValue::Map(m) => merged.extend(m.iter().cloned()),
                    NodeValue::Seq(items) => {
                        for item in items.iter().rev() {
                            match &item.value {
                                NodeValue::Map(m) => merged.extend(m.iter().cloned()),
                                _ => return Err(not_mappings()),
                            }
                        }
                    }
                    _ => return Err(not_mappings()),
                }
            }
            for (k, v) in merged.into_iter().chain(own) {
                match entries.iter_mut().find(|(old, _)| old.value == k.value) {
                    Some(slot) => slot.1 = v,
                    None => entries.push((k, v)),
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn is_merge_key(k: &Node) -> bool {
    matches!(&k.value, NodeValue::Str(s) if s == "<<")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::load::parse_str;
    use super::super::node::{Node, NodeValue};

    fn keys(node: &Node, name: &str) -> Vec<String> {
        let NodeValue::Map(top) = &node.value else {
            panic!("not a mapping")
        };
        let (_, m) = top
            .iter()
            .find(|(k, _)| matches!(&k.value, NodeValue::Str(s) if s == name))
            .unwrap_or_else(|| panic!("no {name}"));
        let NodeValue::Map(m) = &m.value else {
            panic!("not a mapping")
        };
        m.iter()
            .map(|(k, v)| {
                let show = |n: &Node| match &n.value {
                    NodeValue::Str(s) => s.clone(),
                    NodeValue::Int(i) => i.to_string(),
                    other => format!("{other:?}"),
                };
                format!("{}={}", show(k), show(v))
            })
            .collect()
    }

    #[test]
    fn merged_keys_come_first_and_own_keys_win_as_in_pyyaml() {
        let text = "a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\none:\n  w: 0\n  <<: *a\n  y: 9\nlist:\n  <<: [*a, *b]\n";
        let node = parse_str(Path::new("t.yml"), text).unwrap_or_else(|e| panic!("{e:?}"));
        // PyYAML: {'x': 1, 'y': 9, 'w': 0} and {'x': 1, 'z': 2, 'y': 1}.
        assert_eq!(keys(&node, "one"), ["x=1", "y=9", "w=0"]);
        assert_eq!(keys(&node, "list"), ["x=1", "z=2", "y=1"]);
        let err = parse_str(Path::new("t.yml"), "m:\n  <<: 3\n").err();
        assert!(err.is_some_and(|e| e.to_string().contains("merge key")));
    }
}

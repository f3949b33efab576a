//! Reading YAML files into [`Node`] trees, with Ansible's YAML 1.1 conventions.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::node::{Node, NodeValue};
use crate::diagnostic::{Diagnostic, Loc};

/// Parses `text` (the contents of `file`) into a node tree. YAML 1.1 conventions that
/// Ansible files rely on are on: `yes`/`no` booleans and `0644` octal integers.
pub fn parse_str(file: &Path, text: &str) -> Result<Node, Diagnostic> {
    let name: Arc<str> = Arc::from(file.display().to_string());
    let text = match super::unsafe_tag::rewrite(text) {
        Ok(text) => text,
        Err((line, col)) => {
            return Err(Diagnostic::new(
                Loc::new(name, line, col),
                "`!unsafe` is supported on a scalar only",
            )
            .with_help("tag each scalar inside, or escape it: `{% raw %}...{% endraw %}`"));
        }
    };
    let text = text.as_ref();
    let binary = super::binary::find(text).map_err(|(line, col, message)| {
        Diagnostic::new(Loc::new(name.clone(), line, col), message)
    })?;
    // Merge keys are kept as written and expanded afterwards, in PyYAML's order.
    // The reader's default budget (250,000 nodes, 1,000,000 events) refuses a 100,000-host
    // inventory. Nodes and events are bounded by the file's size without aliases, and
    // alias expansion keeps its own caps (anchors, aliases, replayed events), so the
    // budget grows with the file instead.
    let options = serde_saphyr::options! {
        legacy_octal_numbers: true,
        // `!!binary` scalars come as their base64, decoded by `binary::decode`.
        ignore_binary_tag_for_string: true,
        merge_keys: serde_saphyr::options::MergeKeyPolicy::AsOrdinary,
        // Duplicate keys are refused by the tree's own reader (`node.rs`), which names the
        // first one; the parser's check would capture and replay every key of every mapping.
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::PassThrough,
        budget: serde_saphyr::budget! {
            max_nodes: text.len().max(250_000),
            max_events: text.len().saturating_mul(2).max(1_000_000),
        },
    };
    let (read, repeated) = super::node::reading(&name, || {
        serde_saphyr::from_str_with_options::<Node>(text, options)
    });
    if let (Ok(_), Some((key, first))) = (&read, repeated) {
        return Err(Diagnostic::new(
            key.loc.clone(),
            format!(
                "invalid YAML: duplicate mapping key `{}` (first at line {}, column {})",
                key.scalar_text().unwrap_or_default(),
                first.line,
                first.col
            ),
        )
        .with_help("give each key once: the later value would silently replace the earlier"));
    }
    match read {
        Ok(mut node) => {
            super::binary::decode(&mut node, &binary, &name)?;
            super::vault_tag::record_plain(text, &node);
            let lines: Vec<&str> = text.lines().collect();
            // An alias is written `*name` and a merge key `<<`: a file without either
            // (most inventories, every generated one) skips the walks that look for them.
            let aliases = text.contains('*');
            pyyaml_booleans(&mut node, &lines, aliases);
            if aliases {
                super::aliases::resolve(&mut node, &lines);
            }
            if text.contains("<<") {
                super::merge::expand(&mut node)?;
            }
            Ok(node)
        }
        Err(err) => {
            let (line, col) = err.location().map_or((1, 1), |l| {
                (l.line().max(1) as u32, l.column().max(1) as u32)
            });
            let message = strip_position(&err.without_snippet().to_string());
            Err(Diagnostic::new(
                Loc::new(name, line, col),
                format!("invalid YAML: {message}"),
            ))
        }
    }
}

/// Reads and parses a YAML file.
pub fn load_file(file: &Path) -> Result<Node, Diagnostic> {
    let text = crate::input_file::read_to_string(file)?;
    parse_str(file, &text)
}

/// Words that PyYAML (and so Ansible) reads as booleans. The parser's YAML 1.1 mode also
/// takes `y`, `n` and any capitalisation (`yEs`); those stay strings, as in Ansible.
const PYYAML_BOOLEANS: &[&str] = &[
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on",
    "On", "ON", "off", "Off", "OFF",
];

/// Turns booleans whose source spelling PyYAML would keep as a string back into strings.
fn pyyaml_booleans(node: &mut Node, lines: &[&str], aliases: bool) {
    // An alias copy starts at the alias: its anchored node is fixed where it stands.
    if aliases && super::aliases::is_alias(node, lines) {
        return;
    }
    match &mut node.value {
        NodeValue::Bool(_) => {
            let token = super::aliases::token_at(lines, node.loc.line, node.loc.col);
            let token = token.trim_end_matches(':');
            if !token.is_empty() && !PYYAML_BOOLEANS.contains(&token) && !token.starts_with('!') {
                node.value = NodeValue::Str(token.to_owned());
            }
        }
        NodeValue::Seq(items) => items
            .iter_mut()
            .for_each(|n| pyyaml_booleans(n, lines, aliases)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            pyyaml_booleans(k, lines, aliases);
            pyyaml_booleans(v, lines, aliases);
        }),
        _ => {}
    }
}

/// The parser appends " at line N, column M"; the diagnostic shows the location itself.
fn strip_position(message: &str) -> String {
    static POSITION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\s*at line \d+, column \d+$").expect("static regex is valid")
    });
    POSITION.replace(message.trim(), "").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_as_pyyaml_reads_them() {
        let node = parse_str(
            Path::new("p.yml"),
            "a: [x, y, n, Y]\nb: yEs\nc: On\nd: {k: no, y: 1}\ne: 'yes'\n",
        )
        .unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": ["x", "y", "n", "Y"], "b": "yEs", "c": true,
                               "d": {"k": false, "y": 1}, "e": "yes"})
        );
    }

    #[test]
    fn yaml_1_1_booleans_and_octal() {
        let node = parse_str(Path::new("p.yml"), "a: yes\nb: 0644\nc: no\n").unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": true, "b": 420, "c": false})
        );
    }

    #[test]
    fn a_file_of_many_nodes_is_read_and_an_alias_bomb_is_not() {
        // 300,000 nodes: over the reader's default budget, as a 100,000-host inventory is.
        let mut text = String::from("hosts:\n");
        for i in 0..100_000 {
            text.push_str(&format!("  h{i}: {{a: {i}}}\n"));
        }
        let node = parse_str(Path::new("inv.yml"), &text).unwrap();
        assert_eq!(node.to_json()["hosts"]["h99999"]["a"], 99_999);
        // Billion laughs: each level doubles ten times over; refused, not expanded.
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let refs = vec![format!("*{prev}"); 10].join(", ");
            bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        assert!(parse_str(Path::new("bomb.yml"), &bomb).is_err());
    }

    #[test]
    fn syntax_error_has_location_and_plain_message() {
        let err = parse_str(Path::new("p.yml"), "- name: x\n  hosts: [all\n").unwrap_err();
        assert_eq!(err.loc.to_string(), "p.yml:2:10");
        assert_eq!(err.message, "invalid YAML: unclosed bracket '['");
    }

    #[test]
    fn binary_data_is_bytes_as_in_ansible() {
        let bytes = dr_agent::pybytes::encode;
        let text = "a: !!binary aGVsbG8=\nb: !!binary //79\nc: [!!binary aGVs//9sbw==]\n\
                    d: !!binary |\n  R0lG\n  ODlh\ne: &x !!binary //79\nf: *x\ng: binary\n";
        let node = parse_str(Path::new("p.yml"), text).unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({
                "a": bytes(b"hello"), "b": bytes(b"\xff\xfe\xfd"),
                "c": [bytes(b"hel\xff\xfflo")], "d": bytes(b"GIF89a"),
                "e": bytes(b"\xff\xfe\xfd"), "f": bytes(b"\xff\xfe\xfd"), "g": "binary"
            })
        );
        // Quoted, on the next line, empty, with the long tag, through aliases.
        let text = "a: !!binary \"aGVs\n  bG8=\"\nb: !!binary\n  aGVsbG8=\nc: !!binary\n\
                    d: !<tag:yaml.org,2002:binary> aGVsbG8=\ne: &s !!binary aGVsbG8=\n\
                    f: [*s, {g: *s}]\n";
        let node = parse_str(Path::new("p.yml"), text).unwrap();
        let hello = bytes(b"hello");
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": hello, "b": hello, "c": bytes(b""), "d": hello,
                               "e": hello, "f": [hello, {"g": hello}]})
        );
        let err = parse_str(Path::new("p.yml"), "a: 1\nb: !!binary '//7'\n").unwrap_err();
        assert_eq!(err.loc.to_string(), "p.yml:2:13");
        assert!(
            err.message.starts_with("invalid `!!binary` data"),
            "{}",
            err.message
        );
        let err = parse_str(Path::new("p.yml"), "a: !binary //79\n").unwrap_err();
        assert_eq!(err.loc.to_string(), "p.yml:1:12");
        let err = parse_str(Path::new("p.yml"), "? !!binary //79\n: 1\n").unwrap_err();
        assert!(err.message.contains("mapping key"), "{}", err.message);
    }

    #[test]
    fn a_repeated_key_is_refused_where_it_repeats() {
        let err = parse_str(Path::new("p.yml"), "a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            err.message,
            "invalid YAML: duplicate mapping key `a` (first at line 1, column 1)"
        );
        assert_eq!(err.loc.to_string(), "p.yml:3:1");
        // Past the size where keys are indexed instead of scanned, and nested.
        let mut text = String::from("all:\n  hosts:\n");
        for i in 0..40 {
            text.push_str(&format!("    h{i}:\n"));
        }
        text.push_str("    h7: {x: 1}\n");
        let err = parse_str(Path::new("inv.yml"), &text).unwrap_err();
        assert_eq!(
            err.message,
            "invalid YAML: duplicate mapping key `h7` (first at line 10, column 5)"
        );
        assert_eq!(err.loc.to_string(), "inv.yml:43:5");
        // Keys equal as values are the same key; merge keys may repeat.
        assert!(parse_str(Path::new("p.yml"), "11: a\n0xB: b\n").is_err());
        let node = parse_str(
            Path::new("p.yml"),
            "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n  '1': s\n  1: i\n",
        )
        .unwrap();
        assert_eq!(
            node.to_json()["c"],
            serde_json::json!({"x": 1, "y": 2, "1": "i"})
        );
    }

    #[test]
    fn locations_name_the_file() {
        let node = parse_str(Path::new("dir/p.yml"), "a:\n  - b\n").unwrap();
        let (_, v) = &node.as_map().unwrap()[0];
        assert_eq!(v.as_seq().unwrap()[0].loc.to_string(), "dir/p.yml:2:5");
    }
}

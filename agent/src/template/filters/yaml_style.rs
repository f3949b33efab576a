//! `to_yaml`'s PyYAML options `default_style='|'` and `canonical=True`, for a document that
//! is one scalar (`'thing' | to_yaml(default_style='|')`), laid out as PyYAML's emitter lays
//! it out. What dr cannot lay out exactly as PyYAML would (a collection, a float, a string
//! PyYAML would double-quote or fold) is `None`, and the filter refuses it.

use serde_json::Value as Json;

/// Whether PyYAML (with `allow_unicode`) writes `c` as it is.
fn printable(c: char) -> bool {
    matches!(c, '\n' | '\x20'..='\x7e' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

/// A string document in literal block style (`|-`), `indent` spaces deep; `None` when
/// PyYAML would not allow the block style (empty, a tab or other special character, a
/// trailing space, a space before a line break) or dr does not lay it out (Unicode line
/// breaks).
pub(super) fn literal_document(s: &str, indent: usize, explicit_start: bool) -> Option<String> {
    if s.is_empty() || s.ends_with(' ') || s.contains(" \n") || !s.chars().all(printable) {
        return None;
    }
    // PyYAML's `determine_block_hints`: an indentation indicator for a leading space or
    // break, then the chomping indicator.
    let mut hints = String::new();
    if s.starts_with([' ', '\n']) {
        hints.push_str(&indent.to_string());
    }
    let keep = if !s.ends_with('\n') {
        hints.push('-');
        false
    } else if s.len() == 1 || s[..s.len() - 1].ends_with('\n') {
        hints.push('+');
        true
    } else {
        false
    };
    let mut out = String::from(if explicit_start { "--- |" } else { "|" });
    out.push_str(&hints);
    out.push('\n');
    let pad = " ".repeat(indent);
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    if keep {
        // An open-ended document (kept trailing breaks) is closed explicitly.
        out.push_str("...\n");
    }
    Some(out)
}

/// A scalar document in canonical form (`---\n!!str "thing"\n`); `None` for a collection,
/// a float, or a string PyYAML would escape in ways dr does not write or fold at its
/// 80-column width.
pub(super) fn canonical_document(v: &Json) -> Option<String> {
    let (tag, text) = match v {
        Json::Null => ("null", "null".to_owned()),
        Json::Bool(b) => ("bool", b.to_string()),
        Json::Number(n) if n.is_i64() || n.is_u64() => ("int", n.to_string()),
        Json::String(s) => ("str", double_quoted(s)?),
        _ => return None,
    };
    // `!!str "` and the closing quote: PyYAML folds a longer line at a space.
    if 8 + text.chars().count() > 80 {
        return None;
    }
    Some(format!("---\n!!{tag} \"{text}\"\n"))
}

/// `s` inside PyYAML's double quotes: its escapes for the characters it cannot print.
fn double_quoted(s: &str) -> Option<String> {
    let mut out = String::new();
    for c in s.chars() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\0' => "\\0",
            '\x07' => "\\a",
            '\x08' => "\\b",
            '\t' => "\\t",
            '\n' => "\\n",
            '\x0b' => "\\v",
            '\x0c' => "\\f",
            '\r' => "\\r",
            '\x1b' => "\\e",
            c if printable(c) => {
                out.push(c);
                continue;
            }
            _ => return None,
        };
        out.push_str(escape);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Expected outputs from PyYAML 6 under ansible-core 2.19 (`AnsibleDumper`,
    /// `allow_unicode=True`).
    #[test]
    fn literal_documents_are_pyyamls() {
        for (s, indent, start, want) in [
            ("thing", 2, false, Some("|-\n  thing\n")),
            ("thing", 2, true, Some("--- |-\n  thing\n")),
            ("a\n\nb", 2, false, Some("|-\n  a\n\n  b\n")),
            ("a\n b", 4, false, Some("|-\n    a\n     b\n")),
            ("a\n", 2, false, Some("|\n  a\n")),
            ("a\n\n", 2, false, Some("|+\n  a\n\n...\n")),
            (" lead", 2, false, Some("|2-\n   lead\n")),
            ("\nb", 2, false, Some("|2-\n\n  b\n")),
            ("\n", 2, false, Some("|2+\n\n...\n")),
            ("caf\u{e9}", 2, false, Some("|-\n  caf\u{e9}\n")),
            ("trail ", 2, false, None),
            ("a \nb", 2, false, None),
            ("tab\there", 2, false, None),
            ("", 2, false, None),
        ] {
            assert_eq!(literal_document(s, indent, start).as_deref(), want, "{s:?}");
        }
    }

    #[test]
    fn canonical_documents_are_pyyamls() {
        for (v, want) in [
            (json!("thing"), Some("---\n!!str \"thing\"\n")),
            (json!("a\n\"b\\"), Some("---\n!!str \"a\\n\\\"b\\\\\"\n")),
            (
                json!("\u{e9}\u{a0}x"),
                Some("---\n!!str \"\u{e9}\u{a0}x\"\n"),
            ),
            (json!(-3), Some("---\n!!int \"-3\"\n")),
            (json!(true), Some("---\n!!bool \"true\"\n")),
            (json!(null), Some("---\n!!null \"null\"\n")),
            (json!(1.5), None),
            (json!(["x"]), None),
            (json!("a ".repeat(50)), None),
        ] {
            assert_eq!(canonical_document(&v).as_deref(), want, "{v}");
        }
    }

    /// The filter's options, as ansible-core's `filter_core` target checks them; what dr
    /// cannot lay out is refused, not written another way.
    #[test]
    fn to_yaml_takes_the_options() {
        let scope = crate::template::Templater::new().scope(serde_json::Map::new());
        let render = |t: &str| scope.render_string(t).map_err(|e| e.to_string());
        assert_eq!(
            render("{{ 'thing' | to_yaml(default_style='|') }}").unwrap(),
            "|-\n  thing\n"
        );
        assert_eq!(
            render("{{ 'thing' | to_yaml(canonical=True) }}").unwrap(),
            "---\n!!str \"thing\"\n"
        );
        for t in [
            "{{ ['x'] | to_yaml(canonical=True) }}",
            "{{ 'a\tb' | to_yaml(default_style='|') }}",
            "{{ 'x' | to_yaml(default_style='>') }}",
        ] {
            assert!(render(t).unwrap_err().contains("to_yaml: dr "), "{t}");
        }
    }
}

//! Editing a dotenv file while keeping every untouched byte.
//!
//! Understood per line: `[export ]KEY=VALUE[ # comment]` with the value unquoted,
//! `'single quoted'` (literal) or `"double quoted"` (`\n`, `\\`, `\"`, `\$` escapes).
//! Everything else (comments, blank lines, lines dr does not understand) is kept as is.
//! Multi-line quoted values are not understood: such lines are kept but not matched.

/// How a value is (or will be) written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// `KEY=value`
    None,
    /// `KEY='value'`
    Single,
    /// `KEY="value"`
    Double,
}

/// One `KEY=VALUE` line, as byte offsets into the line (without its ending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment<'a> {
    /// The variable name.
    pub key: &'a str,
    /// The value, unquoted and unescaped.
    pub value: String,
    /// Its quoting.
    pub quote: Quote,
    /// Where the written value starts (after `=`).
    pub value_start: usize,
    /// Where it ends (the rest, e.g. an inline comment, is kept).
    pub value_end: usize,
}

/// Parses one line (without its ending); `None` for anything that is not an assignment.
pub fn parse_line(body: &str) -> Option<Assignment<'_>> {
    let bytes = body.as_bytes();
    let mut i = 0;
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        i
    };
    i = skip_ws(i);
    if body[i..].starts_with("export") && matches!(bytes.get(i + 6), Some(b' ' | b'\t')) {
        i = skip_ws(i + 6);
    }
    let key_start = i;
    if !matches!(bytes.get(i), Some(c) if c.is_ascii_alphabetic() || *c == b'_') {
        return None;
    }
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'-'))
    {
        i += 1;
    }
    let key = &body[key_start..i];
    if bytes.get(i) != Some(&b'=') {
        return None;
    }
    let value_start = i + 1;
    let rest = &body[value_start..];
    match rest.as_bytes().first() {
        Some(b'\'') => {
            let close = rest[1..].find('\'')?;
            Some(Assignment {
                key,
                value: rest[1..1 + close].to_owned(),
                quote: Quote::Single,
                value_start,
                value_end: value_start + close + 2,
            })
        }
        Some(b'"') => {
            let mut value = String::new();
            let mut chars = rest.char_indices().skip(1);
            while let Some((at, c)) = chars.next() {
                match c {
                    '"' => {
                        return Some(Assignment {
                            key,
                            value,
                            quote: Quote::Double,
                            value_start,
                            value_end: value_start + at + 1,
                        });
                    }
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, e @ ('\\' | '"' | '$'))) => value.push(e),
                        Some((_, other)) => {
                            value.push('\\');
                            value.push(other);
                        }
                        None => return None,
                    },
                    other => value.push(other),
                }
            }
            None
        }
        _ => {
            // An unquoted value ends at a `#` preceded by whitespace (a comment).
            let mut end = rest.len();
            let rb = rest.as_bytes();
            for (j, b) in rb.iter().enumerate() {
                if *b == b'#' && j > 0 && matches!(rb[j - 1], b' ' | b'\t') {
                    end = j;
                    break;
                }
            }
            let value = rest[..end].trim_end_matches([' ', '\t']);
            Some(Assignment {
                key,
                value: value.to_owned(),
                quote: Quote::None,
                value_start,
                value_end: value_start + value.len(),
            })
        }
    }
}

/// Whether `v` can be written without quotes.
fn plain_ok(v: &str) -> bool {
    !v.chars()
        .any(|c| c.is_whitespace() || matches!(c, '#' | '"' | '\'' | '\\' | '$' | '`'))
}

/// Writes `v` in the style `prefer`, falling back to the automatic style when `prefer`
/// cannot hold it: plain when safe, single quotes when the value has a `$` (no
/// interpolation) and no `'` or newline, double quotes with escapes otherwise.
pub fn encode(v: &str, prefer: Quote) -> String {
    let single_ok = !v.contains('\'') && !v.contains('\n');
    match prefer {
        Quote::None if plain_ok(v) => v.to_owned(),
        Quote::Single if single_ok => format!("'{v}'"),
        Quote::Double => double(v),
        _ if v.contains('$') && single_ok => format!("'{v}'"),
        _ => double(v),
    }
}

fn double(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '$' => out.push_str("\\$"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// The result of an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The new text.
    pub text: String,
    /// Keys whose value was set or changed, in `set` order.
    pub set: Vec<String>,
    /// Keys that were removed.
    pub unset: Vec<String>,
}

/// Sets and unsets keys in `text`, touching nothing else. Every occurrence of a key is
/// updated (or removed); missing keys are appended in the order given.
pub fn edit(text: &str, set: &[(String, String)], unset: &[String]) -> Edited {
    let mut out = String::with_capacity(text.len() + 64);
    let mut seen: Vec<&str> = Vec::new();
    let mut changed_keys: Vec<String> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    let mut last_ending = "\n";
    for raw in text.split_inclusive('\n') {
        let (body, ending) = if let Some(b) = raw.strip_suffix("\r\n") {
            (b, "\r\n")
        } else if let Some(b) = raw.strip_suffix('\n') {
            (b, "\n")
        } else {
            (raw, "")
        };
        if !ending.is_empty() {
            last_ending = ending;
        }
        let Some(a) = parse_line(body) else {
            out.push_str(raw);
            continue;
        };
        if unset.iter().any(|k| k == a.key) {
            if !removed.iter().any(|k| k == a.key) {
                removed.push(a.key.to_owned());
            }
            continue;
        }
        match set.iter().find(|(k, _)| k == a.key) {
            Some((key, wanted)) => {
                if !seen.contains(&key.as_str()) {
                    seen.push(key);
                }
                if a.value == *wanted {
                    out.push_str(raw);
                } else {
                    out.push_str(&body[..a.value_start]);
                    out.push_str(&encode(wanted, a.quote));
                    out.push_str(&body[a.value_end..]);
                    out.push_str(ending);
                    if !changed_keys.contains(key) {
                        changed_keys.push(key.clone());
                    }
                }
            }
            None => out.push_str(raw),
        }
    }
    let missing: Vec<&(String, String)> = set
        .iter()
        .filter(|(k, _)| !seen.contains(&k.as_str()))
        .collect();
    if !missing.is_empty() && !out.is_empty() && !out.ends_with('\n') {
        out.push_str(last_ending);
    }
    for (k, v) in missing {
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v, Quote::None));
        out.push_str(last_ending);
        changed_keys.push(k.clone());
    }
    Edited {
        text: out,
        set: changed_keys,
        unset: removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_the_usual_forms() {
        let a = parse_line("export A='x y' # c").unwrap_or_else(|| panic!("no parse"));
        assert_eq!(
            (a.key, a.value.as_str(), a.quote),
            ("A", "x y", Quote::Single)
        );
        let b = parse_line(r#"B="a\"b\n$c""#).unwrap_or_else(|| panic!("no parse"));
        assert_eq!(b.value, "a\"b\n$c");
        let c = parse_line("C=plain#not-comment # comment").unwrap_or_else(|| panic!("no parse"));
        assert_eq!(c.value, "plain#not-comment");
        assert_eq!(parse_line("# A=1"), None);
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("not an assignment"), None);
    }

    #[test]
    fn untouched_bytes_are_kept_exactly() {
        let text = "# header\r\n\nexport A=1\r\nB='two' # keep me\nC=\"3\"\n  D = spaced\nE=last";
        let e = edit(text, &set(&[("B", "2"), ("E", "last")]), &[]);
        assert_eq!(
            e.text,
            "# header\r\n\nexport A=1\r\nB='2' # keep me\nC=\"3\"\n  D = spaced\nE=last"
        );
        assert_eq!(e.set, vec!["B"]);
    }

    #[test]
    fn quoting_style_is_kept_and_upgraded_when_needed() {
        let text = "A=\"x\"\nB='y'\nC=z\n";
        let e = edit(
            text,
            &set(&[("A", "new"), ("B", "it's"), ("C", "has space")]),
            &[],
        );
        assert_eq!(e.text, "A=\"new\"\nB=\"it's\"\nC=\"has space\"\n");
        let e = edit("P=x\n", &set(&[("P", "pa$$word")]), &[]);
        assert_eq!(e.text, "P='pa$$word'\n");
    }

    #[test]
    fn new_keys_are_appended_after_adding_a_missing_newline() {
        let e = edit("A=1", &set(&[("B", "2"), ("C", "a#b")]), &[]);
        assert_eq!(e.text, "A=1\nB=2\nC=\"a#b\"\n");
        let e = edit("A=1\r\n", &set(&[("B", "2")]), &[]);
        assert_eq!(e.text, "A=1\r\nB=2\r\n");
        let e = edit("", &set(&[("B", "2")]), &[]);
        assert_eq!(e.text, "B=2\n");
    }

    #[test]
    fn unset_removes_every_occurrence() {
        let e = edit("A=1\n# c\nB=2\nA=3\n", &[], &["A".to_string()]);
        assert_eq!(e.text, "# c\nB=2\n");
        assert_eq!(e.unset, vec!["A"]);
    }

    #[test]
    fn same_value_is_no_change() {
        let text = "URL=\"postgres://app:pw@db01:5432/akira\"\n";
        let e = edit(
            text,
            &set(&[("URL", "postgres://app:pw@db01:5432/akira")]),
            &[],
        );
        assert_eq!(e.text, text);
        assert!(e.set.is_empty());
    }
}

//! Ansible's `!unsafe` tag: a value that is never templated.
//!
//! The YAML parser drops tags it does not know, and dr must not template a value Ansible
//! keeps literal. Before parsing, a `!unsafe` scalar (plain, single- or double-quoted on
//! one line, or a `|`/`>` block scalar) is rewritten to the same text inside
//! `{% raw %}...{% endraw %}`, which renders to exactly that text, once; the tag on a list
//! or a mapping is refused with its location.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

const OPEN: &str = "{% raw %}";
const CLOSE: &str = "{% endraw %}";

/// `text` with its `!unsafe` scalars rewritten, or the (line, column) of one that cannot be.
pub fn rewrite(text: &str) -> Result<Cow<'_, str>, (u32, u32)> {
    static TAG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(^\s*-\s+|:\s+|[\[{,]\s*)!unsafe(\s+|$)").expect("static regex is valid")
    });
    if !text.contains("!unsafe") {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len() + 64);
    // The lines of a `!unsafe` block scalar being read, and the indentation its content
    // must exceed.
    let mut block: Option<(usize, Vec<&str>)> = None;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if let Some((parent, body)) = &mut block {
            if line.trim().is_empty() || indentation(line) > *parent {
                body.push(line);
                continue;
            }
            out.push_str(&raw_block(body));
            block = None;
        }
        let mut rest: &str = line;
        let mut done = String::new();
        while let Some(m) = TAG.captures(rest) {
            let (Some(whole), Some(lead)) = (m.get(0), m.get(1)) else {
                break;
            };
            // Inside a quoted scalar, `!unsafe` is just text.
            if inside_quotes(&done, &rest[..lead.end()]) {
                done.push_str(&rest[..whole.end()]);
                rest = &rest[whole.end()..];
                continue;
            }
            let col = done.chars().count() + rest[..lead.end()].chars().count() + 1;
            let in_flow = lead.as_str().trim_start().starts_with(['[', '{', ',']);
            let after = &rest[whole.end()..];
            if !in_flow && is_block_header(after) {
                // The header stays (without the tag); the content lines follow.
                let parent = if lead.as_str().trim_start().starts_with('-') {
                    indentation(line)
                } else {
                    key_column(line)
                };
                done.push_str(&rest[..lead.end()]);
                done.push_str(after);
                rest = "";
                block = Some((parent, Vec::new()));
                break;
            }
            let (scalar, tail) = scalar(after, in_flow).ok_or((i as u32 + 1, col as u32))?;
            done.push_str(&rest[..lead.end()]);
            done.push_str(&scalar);
            rest = tail;
        }
        out.push_str(&done);
        out.push_str(rest);
    }
    if let Some((_, body)) = &block {
        out.push_str(&raw_block(body));
    }
    Ok(Cow::Owned(out))
}

/// Leading spaces of `line`.
fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The column of the key on `line` (`  - key: ...` → 4): block content must be indented
/// more than that.
fn key_column(line: &str) -> usize {
    let mut col = indentation(line);
    let mut rest = &line[col..];
    while let Some(after) = rest.strip_prefix('-').filter(|a| a.starts_with(' ')) {
        let spaces = after.len() - after.trim_start_matches(' ').len();
        col += 1 + spaces;
        rest = &after[spaces..];
    }
    col
}

/// Whether `s` (what follows the tag) is a block scalar's header: `|` or `>`, an optional
/// chomping and indentation indicator, then nothing but a comment.
fn is_block_header(s: &str) -> bool {
    static HEADER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^[|>](?:[-+]?[1-9]?|[1-9][-+])[ \t]*(?:#.*)?\r?\n?$")
            .expect("static regex is valid")
    });
    HEADER.is_match(s)
}

/// A block scalar's content lines with its text between `{% raw %}` (at the start of the
/// first non-blank line, after its indentation) and `{% endraw %}` (at the end of the
/// last one): the value renders to exactly what was written.
fn raw_block(body: &[&str]) -> String {
    let first = body.iter().position(|l| !l.trim().is_empty());
    let last = body.iter().rposition(|l| !l.trim().is_empty());
    let mut out = String::new();
    for (i, line) in body.iter().enumerate() {
        let mut line = (*line).to_owned();
        if Some(i) == last {
            let end = line.trim_end_matches(['\n', '\r']).len();
            line.insert_str(end, CLOSE);
        }
        if Some(i) == first {
            line.insert_str(indentation(&line), OPEN);
        }
        out.push_str(&line);
    }
    out
}

/// Whether the end of `before` + `prefix` (one line, from its start) is inside a quoted
/// scalar.
fn inside_quotes(before: &str, prefix: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut chars = before.chars().chain(prefix.chars()).peekable();
    let mut previous = ' ';
    while let Some(c) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => {
                if q == '\'' && chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            // A quote opens a scalar only where one may start (not inside a plain word).
            None if (c == '\'' || c == '"') && " [{,:-".contains(previous) => quote = Some(c),
            None if c == '#' && previous == ' ' => return false,
            None => {}
        }
        previous = c;
    }
    quote.is_some()
}

/// The scalar at the start of `s` rewritten as a raw block, and what follows it.
fn scalar(s: &str, in_flow: bool) -> Option<(String, &str)> {
    let quote = s.chars().next()?;
    if quote == '\'' || quote == '"' {
        let end = closing_quote(s, quote)?;
        let body = &s[1..end];
        return Some((format!("{quote}{OPEN}{body}{CLOSE}{quote}"), &s[end + 1..]));
    }
    if matches!(quote, '|' | '>' | '[' | '{' | '\n' | '\r' | '&' | '*' | '!') {
        return None;
    }
    let stops: &[char] = if in_flow {
        &[',', ']', '}', '\n']
    } else {
        &['\n']
    };
    let mut end = s.find(stops).unwrap_or(s.len());
    if let Some(comment) = s[..end].find(" #") {
        end = comment;
    }
    let body = s[..end].trim_end();
    if body.is_empty() {
        return None;
    }
    let escaped = body.replace('\'', "''");
    Some((format!("'{OPEN}{escaped}{CLOSE}'"), &s[body.len()..]))
}

/// Where the quoted scalar starting at `s[0]` ends (the closing quote's byte offset).
fn closing_quote(s: &str, quote: char) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if quote == '"' && c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            // `''` inside a single-quoted scalar is an escaped quote.
            if quote == '\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        if c == '\n' {
            return None;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn one_line_scalars_become_raw_blocks() {
        let text = "a: !unsafe '{{ x }}'\nb: !unsafe \"{{ y }}\" # c\nc:\n  - !unsafe plain {{ z }} # c\nd: [!unsafe foo, bar]\ne: 'not !unsafe here'\n";
        assert_eq!(
            rewrite(text).unwrap(),
            "a: '{% raw %}{{ x }}{% endraw %}'\nb: \"{% raw %}{{ y }}{% endraw %}\" # c\nc:\n  - '{% raw %}plain {{ z }}{% endraw %}' # c\nd: ['{% raw %}foo{% endraw %}', bar]\ne: 'not !unsafe here'\n"
        );
    }

    #[test]
    fn the_word_inside_a_quoted_scalar_is_text() {
        let text = "a: \"x [!unsafe '{{ y }}']\"\nb: 'it''s !unsafe x'\n";
        assert_eq!(rewrite(text).unwrap(), text);
    }

    #[test]
    fn collections_are_refused_where_they_are() {
        assert_eq!(rewrite("a: 1\nb: !unsafe [a]\n").unwrap_err(), (2, 4));
        assert_eq!(rewrite("- !unsafe {a: 1}\n").unwrap_err(), (1, 3));
    }

    #[test]
    fn block_scalars_become_raw_blocks() {
        let text = "vars:\n  a: !unsafe |\n    ---\n    b: {{ x }}\n\n  c: 1\n";
        assert_eq!(
            rewrite(text).unwrap(),
            "vars:\n  a: |\n    {% raw %}---\n    b: {{ x }}{% endraw %}\n\n  c: 1\n"
        );
        // In a list item, up to the next key of the same mapping; at the end of the file.
        let text = "- k: !unsafe >-\n    {{ y }}\n  z: 2\n- !unsafe |\n  {{ w }}";
        assert_eq!(
            rewrite(text).unwrap(),
            "- k: >-\n    {% raw %}{{ y }}{% endraw %}\n  z: 2\n- |\n  {% raw %}{{ w }}{% endraw %}"
        );
    }

    #[test]
    fn a_block_scalar_reads_back_as_written() {
        let text =
            "a: !unsafe |\n  line {{ one }}\n\n  line two\nb: !unsafe >\n  folded\n  {% x %}\n";
        let rewritten = rewrite(text).unwrap();
        let raw: serde_json::Value = serde_saphyr::from_str(&rewritten).unwrap();
        assert_eq!(
            raw["a"],
            "{% raw %}line {{ one }}\n\nline two{% endraw %}\n"
        );
        assert_eq!(raw["b"], "{% raw %}folded {% x %}{% endraw %}\n");
    }
}

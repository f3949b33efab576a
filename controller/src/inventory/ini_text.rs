//! Lines of an INI inventory as Python sees them: `str.splitlines()` boundaries,
//! `str.strip()` whitespace, and the two patterns ansible-core's INI plugin matches lines
//! against (section headers and group names).

/// One line: its text, and whether it held bytes that are not UTF-8.
pub(super) struct Line<'a> {
    pub text: &'a str,
    pub not_utf8: bool,
}

/// Decoded text with U+FFFD where the bytes were not UTF-8, and where those are.
pub(super) struct Decoded {
    text: String,
    bad: Vec<usize>,
}

impl Decoded {
    /// Decodes `bytes`, marking invalid sequences (Python keeps them as surrogate escapes).
    pub(super) fn new(bytes: &[u8]) -> Self {
        let mut text = String::with_capacity(bytes.len());
        let mut bad = Vec::new();
        for chunk in bytes.utf8_chunks() {
            text.push_str(chunk.valid());
            if !chunk.invalid().is_empty() {
                bad.push(text.len());
                text.push('\u{fffd}');
            }
        }
        Decoded { text, bad }
    }

    /// The lines, split as `str.splitlines()` splits them.
    pub(super) fn lines(&self) -> Vec<Line<'_>> {
        let text = self.text.as_str();
        let mut out = Vec::new();
        let mut start = 0;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if !is_line_break(c) {
                continue;
            }
            if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
                chars.next();
            }
            out.push(self.line(start, i));
            start = chars.peek().map_or(text.len(), |&(j, _)| j);
        }
        if start < text.len() {
            out.push(self.line(start, text.len()));
        }
        out
    }

    fn line(&self, start: usize, end: usize) -> Line<'_> {
        Line {
            text: &self.text[start..end],
            not_utf8: self.bad.iter().any(|&b| b >= start && b < end),
        }
    }
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'
            | '\x1d'
            | '\x1e'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Python's `str.isspace()` (and so `\s` and `strip()`).
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `str.strip()`, and how many characters it took off the front.
pub(super) fn strip(line: &str) -> (&str, usize) {
    let trimmed = line.trim_start_matches(is_space);
    let lead = line[..line.len() - trimmed.len()].chars().count();
    (trimmed.trim_end_matches(is_space), lead)
}

/// A section header `[name]` or `[name:tag]`, optionally followed by a `#` comment: the
/// pattern `^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:\#.*)?$`.
pub(super) fn section(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let name_len = rest
        .find(|c: char| c == ':' || c == ']' || is_space(c))
        .unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let (name, mut rest) = rest.split_at(name_len);
    let mut tag = None;
    if let Some(after) = rest.strip_prefix(':') {
        let tag_len = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if tag_len == 0 {
            return None;
        }
        tag = Some(&after[..tag_len]);
        rest = &after[tag_len..];
    }
    let rest = rest.strip_prefix(']')?.trim_start_matches(is_space);
    (rest.is_empty() || rest.starts_with('#')).then_some((name, tag))
}

/// A group name line in a `:children` section: the pattern
/// `^([^:\]\s]+)\s*(?:\#.*)?$`. The name may hold `#` (`a#b`), unless what follows would
/// then not match: the regex backtracks to the last `#` (`a#b c` is `a`).
pub(super) fn group_name(line: &str) -> Option<&str> {
    let run_len = line
        .find(|c: char| c == ':' || c == ']' || is_space(c))
        .unwrap_or(line.len());
    let (run, rest) = line.split_at(run_len);
    let rest = rest.trim_start_matches(is_space);
    if !run.is_empty() && (rest.is_empty() || rest.starts_with('#')) {
        return Some(run);
    }
    run.rfind('#').filter(|&i| i > 0).map(|i| &run[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(bytes: &[u8]) -> Vec<String> {
        Decoded::new(bytes)
            .lines()
            .iter()
            .map(|l| l.text.to_owned())
            .collect()
    }

    #[test]
    fn lines_split_like_python_splitlines() {
        assert_eq!(texts(b"a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(texts(b"a\n\nb\n"), ["a", "", "b"]);
        assert_eq!(texts("a\u{2028}b\x0bc".as_bytes()), ["a", "b", "c"]);
        assert!(texts(b"").is_empty());
    }

    #[test]
    fn invalid_utf8_is_marked_per_line() {
        let decoded = Decoded::new(b"ok\n# caf\xe9\nbad\xff");
        let flags: Vec<bool> = decoded.lines().iter().map(|l| l.not_utf8).collect();
        assert_eq!(flags, [false, true, true]);
    }

    #[test]
    fn strip_counts_what_it_removed() {
        assert_eq!(strip("  \tweb1 \u{a0}"), ("web1", 3));
        assert_eq!(strip("\x1fx"), ("x", 1));
    }

    #[test]
    fn sections_match_ansibles_pattern() {
        assert_eq!(section("[web]"), Some(("web", None)));
        assert_eq!(section("[web:vars]  # note"), Some(("web", Some("vars"))));
        assert_eq!(section("[web:children]#x"), Some(("web", Some("children"))));
        assert_eq!(section("[web:bogus]"), Some(("web", Some("bogus"))));
        for bad in [
            "[a b]",
            "[web:]",
            "[:vars]",
            "[web] ; c",
            "[web]x",
            "[web:vars]]",
            "[]",
        ] {
            assert_eq!(section(bad), None, "{bad}");
        }
    }

    #[test]
    fn group_names_backtrack_to_a_comment() {
        assert_eq!(group_name("web"), Some("web"));
        assert_eq!(group_name("web   # note"), Some("web"));
        assert_eq!(group_name("a#b"), Some("a#b"));
        assert_eq!(group_name("a#b c"), Some("a"));
        assert_eq!(group_name("a b"), None);
        assert_eq!(group_name("a:b"), None);
    }
}

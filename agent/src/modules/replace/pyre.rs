//! Python `re` patterns and `re.sub` templates on the `regex` crate.
//!
//! Playbooks are written for Python's `re`; most patterns mean the same to the `regex`
//! crate once a few spellings are translated (`\Z`, literal braces, `[` inside a class,
//! `{,n}`). Constructs only a backtracking engine has (lookarounds, backreferences,
//! conditionals, atomic groups) are refused with their name instead of misbehaving.

use regex::Captures;

/// Translates a Python pattern. `dollar_ok` is false where Python's `$` would match
/// before a final newline without MULTILINE, which the `regex` crate's `$` does not.
pub fn translate(pattern: &str, dollar_ok: bool) -> Result<String, String> {
    let unsupported = |what: &str| {
        Err(format!(
            "the regular expression `{pattern}` uses {what}, which only Python's `re` supports"
        ))
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return Err(format!(
                        "invalid regular expression `{pattern}`: bad escape (end of pattern)"
                    ));
                };
                match n {
                    '1'..='9' if !in_class => return unsupported("a backreference"),
                    'Z' if !in_class => out.push_str("\\z"),
                    'b' if in_class => out.push_str("\\x08"),
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
                i += 2;
                continue;
            }
            '[' if in_class => out.push_str("\\["),
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '[' => {
                in_class = true;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` first in a class is literal in both dialects.
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '(' if !in_class && chars.get(i + 1) == Some(&'?') => {
                let rest: String = chars[i + 2..].iter().take(3).collect();
                if rest.starts_with('=') || rest.starts_with('!') {
                    return unsupported("a lookahead");
                }
                if rest.starts_with("<=") || rest.starts_with("<!") {
                    return unsupported("a lookbehind");
                }
                if rest.starts_with("P=") {
                    return unsupported("a named backreference");
                }
                if rest.starts_with('(') {
                    return unsupported("a conditional group");
                }
                if rest.starts_with('>') {
                    return unsupported("an atomic group");
                }
                if rest.starts_with('#') {
                    // A comment group: dropped.
                    while i < chars.len() && chars[i] != ')' {
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                out.push('(');
            }
            '{' if !in_class => match quantifier(&chars[i..]) {
                Some((len, text)) => {
                    out.push_str(&text);
                    i += len;
                    if matches!(chars.get(i), Some('+')) {
                        return unsupported("a possessive quantifier");
                    }
                    continue;
                }
                None => out.push_str("\\{"),
            },
            '}' if !in_class => out.push_str("\\}"),
            '$' if !in_class && !dollar_ok => {
                return unsupported(
                    "`$` outside MULTILINE mode (it matches before a final newline)",
                );
            }
            '*' | '+' | '?' if !in_class && matches!(chars.get(i + 1), Some('+')) => {
                return unsupported("a possessive quantifier");
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// A `{m}`, `{m,}`, `{,n}`, `{m,n}` or `{,}` quantifier at the start of `chars`: its
/// length and its `regex` crate spelling. Anything else is a literal brace to Python.
fn quantifier(chars: &[char]) -> Option<(usize, String)> {
    let mut i = 1;
    let lo: String = chars[i..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    i += lo.len();
    let mut hi: Option<String> = None;
    if chars.get(i) == Some(&',') {
        i += 1;
        let h: String = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        i += h.len();
        hi = Some(h);
    }
    if chars.get(i) != Some(&'}') {
        return None;
    }
    if lo.is_empty() && hi.is_none() {
        return None;
    }
    let lo = if lo.is_empty() { "0".to_owned() } else { lo };
    let text = match hi {
        None => format!("{{{lo}}}"),
        Some(h) => format!("{{{lo},{h}}}"),
    };
    Some((i + 1, text))
}

/// One piece of a parsed `re.sub` template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Group(usize),
}

/// A parsed Python replacement template (`\1`, `\g<name>`, `\n`, ...).
#[derive(Debug, Clone)]
pub struct Template(Vec<Piece>);

impl Template {
    /// Parses `repl` as Python's `re` does for `re`, naming errors like Python
    /// (`invalid group reference 2 at position 1`).
    pub fn parse(repl: &str, re: &regex::Regex) -> Result<Template, String> {
        let groups = re.captures_len();
        let group = |n: usize, at: usize| {
            if n < groups {
                Ok(Piece::Group(n))
            } else {
                Err(format!("invalid group reference {n} at position {at}"))
            }
        };
        let chars: Vec<char> = repl.chars().collect();
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c != '\\' {
                text.push(c);
                i += 1;
                continue;
            }
            let at = i;
            let Some(&n) = chars.get(i + 1) else {
                return Err(format!("bad escape (end of pattern) at position {at}"));
            };
            i += 2;
            let piece = match n {
                'g' => {
                    if chars.get(i) != Some(&'<') {
                        return Err(format!("missing < at position {i}"));
                    }
                    let start = i + 1;
                    let Some(len) = chars[start..].iter().position(|&c| c == '>') else {
                        return Err(format!("missing >, unterminated name at position {start}"));
                    };
                    let name: String = chars[start..start + len].iter().collect();
                    i = start + len + 1;
                    if name.is_empty() {
                        return Err(format!("missing group name at position {start}"));
                    }
                    if let Ok(num) = name.parse::<usize>() {
                        group(num, start)?
                    } else {
                        let idx = re
                            .capture_names()
                            .position(|n| n == Some(name.as_str()))
                            .ok_or_else(|| format!("unknown group name '{name}'"))?;
                        Piece::Group(idx)
                    }
                }
                '0' => {
                    let mut v = 0u32;
                    let mut k = 0;
                    while k < 2 && chars.get(i).is_some_and(|c| c.is_digit(8)) {
                        v = v * 8 + chars[i].to_digit(8).unwrap_or(0);
                        i += 1;
                        k += 1;
                    }
                    Piece::Text(char::from_u32(v).unwrap_or('\0').to_string())
                }
                '1'..='9' => {
                    let d1 = n;
                    let d2 = chars.get(i).copied().filter(char::is_ascii_digit);
                    let d3 = chars.get(i + 1).copied().filter(|c| c.is_digit(8));
                    match (d2, d3) {
                        (Some(d2), Some(d3)) if d1.is_digit(8) && d2.is_digit(8) => {
                            let v: u32 = [d1, d2, d3]
                                .iter()
                                .fold(0, |a, d| a * 8 + d.to_digit(8).unwrap_or(0));
                            if v > 0o377 {
                                return Err(format!(
                                    "octal escape value \\{d1}{d2}{d3} outside of range 0-0o377 at position {at}"
                                ));
                            }
                            i += 2;
                            Piece::Text(char::from_u32(v).unwrap_or('\0').to_string())
                        }
                        (Some(d2), _) => {
                            i += 1;
                            let num =
                                (d1 as usize - '0' as usize) * 10 + (d2 as usize - '0' as usize);
                            group(num, at + 1)?
                        }
                        (None, _) => group(d1 as usize - '0' as usize, at + 1)?,
                    }
                }
                'n' => Piece::Text("\n".into()),
                't' => Piece::Text("\t".into()),
                'r' => Piece::Text("\r".into()),
                'a' => Piece::Text("\x07".into()),
                'b' => Piece::Text("\x08".into()),
                'f' => Piece::Text("\x0c".into()),
                'v' => Piece::Text("\x0b".into()),
                '\\' => Piece::Text("\\".into()),
                c if c.is_ascii_alphabetic() => {
                    return Err(format!("bad escape \\{c} at position {at}"));
                }
                c => Piece::Text(format!("\\{c}")),
            };
            match piece {
                Piece::Text(t) => text.push_str(&t),
                g => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(g);
                }
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template(pieces))
    }

    /// The replacement for one match; a group that did not take part is empty, as in
    /// Python 3.5+.
    fn expand(&self, caps: &Captures<'_>, out: &mut String) {
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
            }
        }
    }
}

/// Python's `re.subn`: every match replaced, with Python's rule for empty matches (one
/// right after a non-empty match counts; one where an empty match just was does not).
pub fn subn(re: &regex::Regex, template: &Template, hay: &str) -> (String, usize) {
    let mut out = String::with_capacity(hay.len());
    let mut last = 0;
    let mut pos = 0;
    let mut count = 0;
    let mut must_advance = false;
    while pos <= hay.len() {
        let Some(caps) = re.captures_at(hay, pos) else {
            break;
        };
        let Some(m) = caps.get(0) else { break };
        if must_advance && m.is_empty() && m.start() == pos {
            match hay[pos..].chars().next() {
                Some(c) => pos += c.len_utf8(),
                None => break,
            }
            must_advance = false;
            continue;
        }
        out.push_str(&hay[last..m.start()]);
        template.expand(&caps, &mut out);
        last = m.end();
        count += 1;
        must_advance = m.is_empty();
        pos = m.end();
    }
    out.push_str(&hay[last..]);
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(p: &str, r: &str, h: &str) -> (String, usize) {
        let re = regex::Regex::new(&format!("(?m){}", translate(p, true).unwrap())).unwrap();
        let t = Template::parse(r, &re).unwrap();
        subn(&re, &t, h)
    }

    #[test]
    fn empty_matches_follow_python() {
        // Python 3.7+: re.sub('x*', '-', 'abxd') == '-a-b--d-'
        assert_eq!(sub("x*", "-", "abxd"), ("-a-b--d-".into(), 5));
        // re.sub('^', '# ', 'a\nb\n', flags=re.M) == '# a\n# b\n'
        assert_eq!(sub("^", "# ", "a\nb\n").0, "# a\n# b\n# ");
        assert_eq!(sub("$", ";", "a\nb").0, "a;\nb;");
    }

    #[test]
    fn templates_follow_python() {
        assert_eq!(sub("(a)(b)?", r"[\1|\2]", "ac").0, "[a|]c");
        assert_eq!(sub("(?P<k>\\w+)=", r"\g<k>: \g<1>\n", "x=").0, "x: x\n");
        assert_eq!(sub("a", r"\101\\\.", "a").0, "A\\\\.");
        let re = regex::Regex::new("(a)").unwrap();
        assert_eq!(
            Template::parse(r"\2", &re).unwrap_err(),
            "invalid group reference 2 at position 1"
        );
        assert_eq!(
            Template::parse(r"\q", &re).unwrap_err(),
            "bad escape \\q at position 0"
        );
    }

    #[test]
    fn patterns_translate_or_are_refused() {
        assert_eq!(translate(r"${HOME}\Z", true).unwrap(), r"$\{HOME\}\z");
        assert_eq!(translate(r"a{,3}[[x]", true).unwrap(), r"a{0,3}[\[x]");
        assert_eq!(translate(r"[]a]", true).unwrap(), r"[\]a]");
        for (p, what) in [
            ("a(?=b)", "lookahead"),
            ("(?<!a)b", "lookbehind"),
            (r"(a)\1", "backreference"),
            ("(?P<x>a)(?P=x)", "named backreference"),
            ("a$", "`$` outside MULTILINE"),
        ] {
            let e = translate(p, p != "a$").unwrap_err();
            assert!(e.contains(what), "{p}: {e}");
        }
    }
}

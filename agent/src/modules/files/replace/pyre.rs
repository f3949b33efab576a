//! Python `re` patterns and `re.sub` templates on the `regex` crate and on fancy-regex.
//!
//! Playbooks are written for Python's `re`; most patterns mean the same to the `regex`
//! crate once a few spellings are translated (`\Z`, literal braces, `[` inside a class,
//! `{,n}`). Constructs only a backtracking engine has (lookarounds, backreferences,
//! conditionals, atomic groups) are refused with their name by [`translate`], and spelled
//! for fancy-regex by [`translate_backtracking`].

use std::ops::Range;

/// Translates a Python pattern. `dollar_ok` is false where Python's `$` would match
/// before a final newline without MULTILINE, which the `regex` crate's `$` does not.
pub fn translate(pattern: &str, dollar_ok: bool) -> Result<String, String> {
    convert(pattern, dollar_ok, false).map(|(source, _)| source)
}

/// A Python pattern spelled for fancy-regex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backtracking {
    /// The pattern in fancy-regex's syntax.
    pub source: String,
    /// The first construct only a backtracking engine has, as [`translate`] names it
    /// ("a backreference").
    pub uses: &'static str,
}

/// Translates a Python pattern for fancy-regex, as [`translate`] does for the `regex`
/// crate but keeping lookarounds, backreferences, conditionals, atomic groups and
/// possessive quantifiers. `None` when the pattern uses none of them: it needs no
/// backtracking engine.
pub fn translate_backtracking(
    pattern: &str,
    dollar_ok: bool,
) -> Result<Option<Backtracking>, String> {
    let (source, uses) = convert(pattern, dollar_ok, true)?;
    Ok(uses.map(|uses| Backtracking { source, uses }))
}

/// [`translate`] (`backtracking` false: constructs only a backtracking engine has are
/// refused) or [`translate_backtracking`] (they are kept, the first one named).
fn convert(
    pattern: &str,
    dollar_ok: bool,
    backtracking: bool,
) -> Result<(String, Option<&'static str>), String> {
    let refuse = |what: &str| {
        format!("the regular expression `{pattern}` uses {what}, which only Python's `re` supports")
    };
    let mut uses: Option<&'static str> = None;
    // A construct only a backtracking engine has: refused, or noted and kept.
    let mut needs = |what: &'static str| {
        if backtracking {
            uses.get_or_insert(what);
            Ok(())
        } else {
            Err(refuse(what))
        }
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
                    '1'..='9' if !in_class && backtracking => {
                        let (len, text, is_group) =
                            numeric_escape(&chars[i + 1..]).ok_or_else(|| {
                                format!(
                                    "invalid regular expression `{pattern}`: octal escape value outside of range 0-0o377"
                                )
                            })?;
                        if is_group {
                            needs("a backreference")?;
                        }
                        out.push_str(&text);
                        i += 1 + len;
                        continue;
                    }
                    '1'..='9' if !in_class => return Err(refuse("a backreference")),
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
                    needs("a lookahead")?;
                } else if rest.starts_with("<=") || rest.starts_with("<!") {
                    needs("a lookbehind")?;
                } else if rest.starts_with("P=") {
                    needs("a named backreference")?;
                } else if rest.starts_with('(') {
                    needs("a conditional group")?;
                } else if rest.starts_with('>') {
                    needs("an atomic group")?;
                } else if rest.starts_with('#') {
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
                        needs("a possessive quantifier")?;
                        out.push('+');
                        i += 1;
                    }
                    continue;
                }
                None => out.push_str("\\{"),
            },
            '}' if !in_class => out.push_str("\\}"),
            '$' if !in_class && !dollar_ok => {
                return Err(refuse(
                    "`$` outside MULTILINE mode (it matches before a final newline)",
                ));
            }
            '*' | '+' | '?' if !in_class && matches!(chars.get(i + 1), Some('+')) => {
                needs("a possessive quantifier")?;
                out.push(c);
                out.push('+');
                i += 2;
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Ok((out, uses))
}

/// Python's reading of the digits after a `\` outside a class (`chars` starts at the
/// first digit, 1-9): three octal digits are a character, else one or two digits are a
/// group. Returns how many characters were read, the fancy-regex spelling, and whether it
/// is a backreference; `None` for an octal value Python refuses (over 0o377).
fn numeric_escape(chars: &[char]) -> Option<(usize, String, bool)> {
    let octal = |k: usize| chars.get(k).is_some_and(|c| c.is_digit(8));
    if octal(0) && octal(1) && octal(2) {
        let v = chars[..3]
            .iter()
            .fold(0, |a, d| a * 8 + d.to_digit(8).unwrap_or(0));
        return (v <= 0o377).then(|| (3, format!("\\x{{{v:x}}}"), false));
    }
    let len = if chars.get(1).is_some_and(char::is_ascii_digit) {
        2
    } else {
        1
    };
    let group: String = chars[..len].iter().collect();
    // Delimited, so a digit after it stays a literal digit, as in Python.
    Some((len, format!("\\k<{group}>"), true))
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

/// Where one match's groups are, whichever engine found it: group `n`'s byte range in the
/// text searched, `None` when it took no part (group 0 is the whole match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups(pub Vec<Option<Range<usize>>>);

impl Groups {
    /// Group `n`'s range.
    pub fn get(&self, n: usize) -> Option<Range<usize>> {
        self.0.get(n).cloned().flatten()
    }
}

impl From<&regex::Captures<'_>> for Groups {
    fn from(caps: &regex::Captures<'_>) -> Self {
        Groups(caps.iter().map(|m| m.map(|m| m.range())).collect())
    }
}

/// A parsed Python replacement template (`\1`, `\g<name>`, `\n`, ...).
#[derive(Debug, Clone)]
pub struct Template(Vec<Piece>);

impl Template {
    /// Parses `repl` as Python's `re` does for a pattern with `groups` groups (the whole
    /// match counted) whose named ones `index_of` finds, naming errors like Python
    /// (`invalid group reference 2 at position 1`).
    pub fn parse(
        repl: &str,
        groups: usize,
        index_of: impl Fn(&str) -> Option<usize>,
    ) -> Result<Template, String> {
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
                        let idx = index_of(&name)
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

    /// The replacement for one match of `groups` in `hay`; a group that did not take part
    /// is empty, as in Python 3.5+.
    fn expand(&self, groups: &Groups, hay: &str, out: &mut String) {
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(n) => out.push_str(groups.get(*n).map_or("", |r| &hay[r])),
            }
        }
    }

    /// [`Template::expand`] on bytes: Python's `match.expand` for a bytes pattern.
    pub fn expand_bytes(&self, groups: &Groups, hay: &[u8], out: &mut Vec<u8>) {
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
                Piece::Group(n) => {
                    out.extend_from_slice(groups.get(*n).map_or(&[][..], |r| &hay[r]))
                }
            }
        }
    }
}

/// Python's `re.subn`: every match replaced, with Python's rule for empty matches (one
/// right after a non-empty match counts; one where an empty match just was does not).
/// `find(pos)` is the first match in `hay` at or after `pos` (seeing all of `hay`, for
/// anchors and lookbehinds).
pub fn subn<E>(
    mut find: impl FnMut(usize) -> Result<Option<Groups>, E>,
    template: &Template,
    hay: &str,
) -> Result<(String, usize), E> {
    let mut out = String::with_capacity(hay.len());
    let mut last = 0;
    let mut pos = 0;
    let mut count = 0;
    let mut must_advance = false;
    while pos <= hay.len() {
        let Some(groups) = find(pos)? else {
            break;
        };
        let Some(m) = groups.get(0) else { break };
        if must_advance && m.is_empty() && m.start == pos {
            match hay[pos..].chars().next() {
                Some(c) => pos += c.len_utf8(),
                None => break,
            }
            must_advance = false;
            continue;
        }
        out.push_str(&hay[last..m.start]);
        template.expand(&groups, hay, &mut out);
        last = m.end;
        count += 1;
        must_advance = m.is_empty();
        pos = m.end;
    }
    out.push_str(&hay[last..]);
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Template::parse` for the `regex` crate's `re`.
    fn parse(r: &str, re: &regex::Regex) -> Result<Template, String> {
        Template::parse(r, re.captures_len(), |name| {
            re.capture_names().position(|n| n == Some(name))
        })
    }

    fn sub(p: &str, r: &str, h: &str) -> (String, usize) {
        let re = regex::Regex::new(&format!("(?m){}", translate(p, true).unwrap())).unwrap();
        let t = parse(r, &re).unwrap();
        let found = |pos| Ok::<_, ()>(re.captures_at(h, pos).map(|c| Groups::from(&c)));
        subn(found, &t, h).unwrap()
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
            parse(r"\2", &re).unwrap_err(),
            "invalid group reference 2 at position 1"
        );
        assert_eq!(
            parse(r"\q", &re).unwrap_err(),
            "bad escape \\q at position 0"
        );
    }

    #[test]
    fn backtracking_constructs_are_spelled_for_fancy_regex() {
        let spell = |p: &str| {
            translate_backtracking(p, true)
                .unwrap()
                .map(|b| (b.source, b.uses))
        };
        assert_eq!(
            spell(r"^(REF) .* \1\Z"),
            Some((r"^(REF) .* \k<1>\z".into(), "a backreference"))
        );
        // Two digits are one group; three octal digits are a character, as in Python.
        assert_eq!(
            spell(r"(a)\12(?=b)\101{2}"),
            Some((r"(a)\k<12>(?=b)\x{41}{2}".into(), "a backreference"))
        );
        assert_eq!(
            spell(r"(?P<q>')x(?P=q)"),
            Some((r"(?P<q>')x(?P=q)".into(), "a named backreference"))
        );
        assert_eq!(
            spell("a{,2}+"),
            Some(("a{0,2}+".into(), "a possessive quantifier"))
        );
        // Nothing that needs backtracking: no spelling, the `regex` crate's refusal stands.
        assert_eq!(spell(r"[\1](a)\101"), None);
        assert!(translate_backtracking(r"(?=a)$", false).is_err());
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

//! Each expectation is what Python 3's `re` gives for the same call.

use super::{Flags, LineRegex, PyRegexError, TextRegex};

/// Python's `re.subn(pattern, repl, hay, flags=re.M)`.
fn subn(pattern: &str, repl: &str, hay: &str) -> (String, usize) {
    let re = TextRegex::text(pattern, Flags::Multiline).unwrap_or_else(|e| panic!("{e}"));
    let template = re.template(repl).unwrap_or_else(|e| panic!("{e}"));
    re.subn(&template, hay).unwrap_or_else(|e| panic!("{e}"))
}

/// Python's `re.search(pattern, line).expand(template)` on bytes; `None` without a match.
fn expand(pattern: &str, line: &[u8], template: &str) -> Option<Vec<u8>> {
    let re = LineRegex::line(pattern).unwrap_or_else(|e| panic!("{e}"));
    let hit = re.search(line).unwrap_or_else(|e| panic!("{e}"))?;
    Some(hit.expand(template).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn the_regex_crate_runs_what_it_accepts() {
    for p in [r"^port=(\d+)$", r"(?P<k>\w+)=", r"a{,3}\Z"] {
        let re = TextRegex::text(p, Flags::Multiline).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(re.backtracking(), None, "{p}");
    }
    let re = LineRegex::line(r"^(host)=(.*)$").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(re.backtracking(), None);
}

#[test]
fn fancy_regex_runs_what_needs_backtracking_and_names_why() {
    for (p, uses) in [
        (r"^(REF) .* \1$", "a backreference"),
        (r"(?P<q>')(?P=q)", "a named backreference"),
        (r"a(?=b)", "a lookahead"),
        (r"(?<!#)port", "a lookbehind"),
        (r"(?>a+)b", "an atomic group"),
        (r"a*+b", "a possessive quantifier"),
    ] {
        // The `regex` crate takes `a*+` (as `(a*)+`), as `lineinfile` always let it.
        if !p.contains("*+") {
            let line = LineRegex::line(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(line.backtracking(), Some(uses), "{p}");
        }
        let text = TextRegex::text(p, Flags::Multiline).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(text.backtracking(), Some(uses), "{p}");
    }
}

#[test]
fn lines_match_backreferences_as_python_does() {
    let re = LineRegex::line(r"^(REF) .* \1$").unwrap_or_else(|e| panic!("{e}"));
    let found = |l: &[u8]| re.search(l).unwrap_or_else(|e| panic!("{e}")).is_some();
    assert!(found(b"REF a b REF"));
    assert!(!found(b"REF a b REX"));
    assert!(!found(b"XREF a REF"));
    // Utf-8 is searched; other bytes are refused, naming the pattern and why.
    assert!(found("REF café REF".as_bytes()));
    assert!(re.check_utf8("café\nREF a REF\n".as_bytes()).is_ok());
    let e = re
        .check_utf8(b"caf\xe9\nREF a REF\n")
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            r"the regular expression `^(REF) .* \1$` uses a backreference, which dr matches in utf-8 text only (Python's `re` matches bytes)"
        )
    );
    let e = re.search(b"REF \xe9 REF").err().map(|e| e.to_string());
    assert!(e.is_some_and(|e| e.contains("utf-8 text only")));
    // The `regex` crate searches any bytes, as before.
    let fast = LineRegex::line(r"^REF").unwrap_or_else(|e| panic!("{e}"));
    assert!(fast.check_utf8(b"\xe9").is_ok());
    let unanchored = LineRegex::line(r"(REF) .* \1$").unwrap_or_else(|e| panic!("{e}"));
    let hit = unanchored.search("café REF a REF".as_bytes());
    assert!(hit.unwrap_or_else(|e| panic!("{e}")).is_some());
    // Two digits are one group, in the pattern and in the template.
    assert_eq!(
        expand(
            r"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\10",
            b"abcdefghijj",
            r"\10-\1"
        ),
        Some(b"j-a".to_vec())
    );
}

#[test]
fn backrefs_expand_as_pythons_match_expand() {
    // m = re.search(rb'^(?P<k>\w+)=(.*)(?<!\\)$', b'key=val'); m.expand(rb'\g<k>: \2 \0')
    assert_eq!(
        expand(r"^(?P<k>\w+)=(.*)(?<!\\)$", b"key=val", r"\g<k>: \2 \0"),
        Some(b"key: val \0".to_vec())
    );
    assert_eq!(
        expand(r"^(\w+) \1$", b"go go", r"\1\t[\g<1>]"),
        Some(b"go\t[go]".to_vec())
    );
    assert_eq!(expand(r"^(\w+) \1$", b"go no", r"\1"), None);
    // A group that took no part is empty.
    assert_eq!(
        expand(r"^(a)?(b)\2$", b"bb", r"[\1|\2]"),
        Some(b"[|b]".to_vec())
    );
}

#[test]
fn a_template_python_refuses_is_refused_naming_it() {
    let re = LineRegex::line(r"^(a)\1$").unwrap_or_else(|e| panic!("{e}"));
    let hit = re.search(b"aa").unwrap_or_else(|e| panic!("{e}"));
    let Some(hit) = hit else {
        panic!("`^(a)\\1$` matches `aa`")
    };
    let e = hit.expand(r"\2").err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            r"cannot expand `\2` with the groups of `^(a)\1$`: invalid group reference 2 at position 1"
        )
    );
}

#[test]
fn text_is_replaced_as_pythons_subn_replaces_it() {
    // re.subn(r'^(\w+)(?=\s*=)', r'\1_x', 'a = 1\nb: 2\nc=3', flags=re.M)
    assert_eq!(
        subn(r"^(\w+)(?=\s*=)", r"\1_x", "a = 1\nb: 2\nc=3"),
        ("a_x = 1\nb: 2\nc_x=3".into(), 2)
    );
    assert_eq!(
        subn(r"(?<=port=)(\d+)", r"<\g<1>>", "port=1 xport=22\nport=3"),
        ("port=<1> xport=<22>\nport=<3>".into(), 3)
    );
    assert_eq!(
        subn(
            r#"(?P<q>['"])(.*?)(?P=q)"#,
            r"\g<q>[\2]\g<q>",
            r#"a="x" b='y' c="z'"#
        ),
        (r#"a="[x]" b='[y]' c="z'"#.into(), 2)
    );
    assert_eq!(
        subn(r"\b(\w+) \1\b", r"\1", "the the cat sat sat\nno no"),
        ("the cat sat\nno".into(), 3)
    );
    // Empty matches next to a lookahead follow Python's rule.
    assert_eq!(subn(r"x*(?!a)", "-", "xxa b"), ("--xa- -b-".into(), 5));
}

#[test]
fn what_neither_engine_accepts_keeps_its_message() {
    // A backreference to a group that does not exist: fancy-regex refuses it too.
    let e = LineRegex::line(r"(a)\2").err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            "invalid regular expression `(a)\\2`: regex parse error:\n    (a)\\2\n       ^^\nerror: backreferences are not supported"
        )
    );
    let e = TextRegex::text(r"(a)\2", Flags::Multiline).err();
    assert!(
        matches!(&e, Some(PyRegexError::Invalid(m)) if m == "the regular expression `(a)\\2` uses a backreference, which only Python's `re` supports"),
        "{e:?}"
    );
    // `$` without MULTILINE is refused as before, lookaround or not.
    let e = TextRegex::text(r"(?<=a)b$", Flags::DotAll)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            "the regular expression `(?<=a)b$` uses a lookbehind, which only Python's `re` supports"
        )
    );
}

#[test]
fn the_section_pattern_runs_dotall_with_lookarounds() {
    // re.search(r'(?<=\[s\])\n(?P<subsection>.*?)(?=\[t\])', '[s]\nx\ny\n[t]', re.DOTALL)
    let re = TextRegex::text(r"(?<=\[s\])\n(?P<subsection>.*?)(?=\[t\])", Flags::DotAll)
        .unwrap_or_else(|e| panic!("{e}"));
    let hay = "[s]\nx\ny\n[t]";
    let groups = re.captures_at(hay, 0).unwrap_or_else(|e| panic!("{e}"));
    let sub = groups.and_then(|g| re.group_index("subsection").and_then(|i| g.get(i)));
    assert_eq!(sub.map(|r| &hay[r]), Some("x\ny\n"));
}

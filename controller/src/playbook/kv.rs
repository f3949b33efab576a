//! Ansible's short argument form: `path=/etc/x state=directory msg="two words"`, split
//! and unquoted as Ansible's `parse_kv` does: words split on spaces but kept whole inside
//! quotes and Jinja blocks, escape sequences decoded, outer quotes removed from a value.

use serde_json::{Map, Value};

/// Parses `key=value` pairs separated by spaces; values may be quoted with ' or ".
pub fn parse(text: &str) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for word in split_args(text)? {
        let decoded = decode_escapes(&word);
        let Some((k, v)) = key_value(&decoded) else {
            return Err(format!(
                "expected `key=value` arguments, found `{word}`; write the arguments as a mapping instead"
            ));
        };
        map.insert(
            k.trim().to_owned(),
            Value::String(unquote(v.trim()).to_owned()),
        );
    }
    Ok(map)
}

/// [`parse`] for the modules that take free words besides `key=value` pairs (`add_host`):
/// the words without `=` become `_raw_params`, joined with spaces, as Ansible's `parse_kv`.
pub fn parse_with_raw(text: &str) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    let mut raw = Vec::new();
    for word in split_args(text)? {
        let decoded = decode_escapes(&word);
        match key_value(&decoded) {
            Some((k, v)) => {
                map.insert(
                    k.trim().to_owned(),
                    Value::String(unquote(v.trim()).to_owned()),
                );
            }
            None if decoded.contains('=') => raw.push(decoded.replace("\\=", "=")),
            None => raw.push(word),
        }
    }
    if !raw.is_empty() {
        map.insert("_raw_params".into(), Value::String(raw.join(" ")));
    }
    Ok(map)
}

/// The word split at its first `=` that is not escaped and not its first character.
fn key_value(word: &str) -> Option<(&str, &str)> {
    let bytes = word.as_bytes();
    let pos = (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\')?;
    Some((&word[..pos], &word[pos + 1..]))
}

/// The `key=value` words Ansible's `parse_kv` takes out of a free-form command.
const FREE_FORM_KEYS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// A free-form command (`shell`, `command`, `raw`, `script`) as Ansible's `parse_kv` reads
/// it: the words for [`FREE_FORM_KEYS`] become options, the others the command, split and
/// joined again (so a `\` ending a line outside quotes joins the next line).
pub fn free_form(text: &str) -> Result<(String, Map<String, Value>), String> {
    let mut options = Map::new();
    let mut out = String::new();
    for word in split_args(text)? {
        let decoded = decode_escapes(&word);
        if let Some((k, v)) = key_value(&decoded)
            && FREE_FORM_KEYS.contains(&k.trim())
        {
            options.insert(
                k.trim().to_owned(),
                Value::String(unquote(v.trim()).to_owned()),
            );
            continue;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(&word);
    }
    Ok((out, options))
}

/// Ansible's `split_args`: split on spaces (and lines), then put back together what a
/// quote or a Jinja block (`{{ }}`, `{% %}`, `{# #}`) spans; quotes stay in the words.
pub fn split_args(args: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    if args.is_empty() {
        return Ok(params);
    }
    let mut quote: Option<char> = None;
    let (mut print, mut block, mut comment) = (0i64, 0i64, 0i64);
    let lines: Vec<&str> = args.split('\n').collect();
    for (line_at, line) in lines.iter().enumerate() {
        let mut continuation = false;
        for (at, token) in line.split(' ').enumerate() {
            if token.is_empty() && at != 0 {
                match params.last_mut() {
                    Some(last) => last.push(' '),
                    None => params.push(" ".into()),
                }
                continue;
            }
            let inside_before = quote.is_some();
            if token == "\\" && !inside_before {
                continuation = true;
                continue;
            }
            quote = quote_state(token, quote);
            let inside = quote.is_some();
            let in_jinja = print != 0 || block != 0 || comment != 0;
            let mut appended = false;
            if inside && !inside_before && !in_jinja {
                params.push(token.to_owned());
                appended = true;
            } else if in_jinja || inside || inside_before {
                let last = params.last_mut();
                match last {
                    Some(last) => {
                        if !(at == 0 && inside_before) && at > 0 {
                            last.push(' ');
                        }
                        last.push_str(token);
                    }
                    None => params.push(token.to_owned()),
                }
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print, "{{", "}}"),
                (&mut block, "{%", "%}"),
                (&mut comment, "{#", "#}"),
            ] {
                let before = *depth;
                let (opened, closed) = (token.matches(open).count(), token.matches(close).count());
                if opened != closed {
                    *depth = (*depth + opened as i64 - closed as i64).max(0);
                }
                if *depth != before && !appended {
                    params.push(token.to_owned());
                    appended = true;
                }
            }
            let in_jinja = print != 0 || block != 0 || comment != 0;
            if !in_jinja && !inside && !appended && !token.is_empty() {
                params.push(token.to_owned());
            }
        }
        if lines.len() > 1 && line_at != lines.len() - 1 && !continuation {
            match params.last_mut() {
                Some(last) => last.push('\n'),
                None => params.push("\n".into()),
            }
        }
    }
    if print != 0 || block != 0 || comment != 0 || quote.is_some() {
        return Err(format!(
            "failed at splitting arguments, either an unbalanced jinja2 block or quotes: {args}"
        ));
    }
    Ok(params)
}

/// The quote still open after `token` (a quote preceded by `\\` does not count).
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

/// `'x'` or `"x"` without its quotes (unless the closing one is escaped).
fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    let quoted = b.len() > 1
        && b[0] == b[b.len() - 1]
        && (b[0] == b'"' || b[0] == b'\'')
        && b[b.len() - 2] != b'\\';
    if quoted { &s[1..s.len() - 1] } else { s }
}

/// Python's escape sequences in `s`, decoded as Ansible's `_decode_escapes` does (a
/// doubled backslash, `\n`, `\t`, `\"`, `\'`, `\xNN`, `\uNNNN`, `\UNNNNNNNN`); any other
/// backslash stays (`\d` in a regex, and `\1`: ansible-core 2.19 decodes no octal escapes,
/// so a `replace='\1'` backreference survives).
fn decode_escapes(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' || i + 1 == chars.len() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        let hex = |len: usize| -> Option<char> {
            let digits: String = chars.get(i + 2..i + 2 + len)?.iter().collect();
            u32::from_str_radix(&digits, 16)
                .ok()
                .and_then(char::from_u32)
        };
        let (decoded, used) = match next {
            '\\' => (Some('\\'), 2),
            '\'' => (Some('\''), 2),
            '"' => (Some('"'), 2),
            'a' => (Some('\u{7}'), 2),
            'b' => (Some('\u{8}'), 2),
            'f' => (Some('\u{c}'), 2),
            'n' => (Some('\n'), 2),
            'r' => (Some('\r'), 2),
            't' => (Some('\t'), 2),
            'v' => (Some('\u{b}'), 2),
            'x' => (hex(2), 4),
            'u' => (hex(4), 6),
            'U' => (hex(8), 10),
            _ => (None, 0),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                i += used;
            }
            None => {
                out.push('\\');
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{free_form, parse};
    use serde_json::json;

    #[test]
    fn a_free_form_command_as_ansible_records_it() {
        let cmd = |s: &str| free_form(s).unwrap().0;
        // ansible-playbook 2.19's registered `cmd` for the same `shell: |` block.
        let block = "echo this is a \\\n\"multiline echo\" \\\n\"with a new line\nin quotes\" \\\n| cat\necho \"this is a second line\"\n";
        assert_eq!(
            cmd(block),
            "echo this is a \"multiline echo\" \"with a new line\nin quotes\" | cat\necho \"this is a second line\"\n"
        );
        for same in ["ls -l  /tmp", "echo {{ a }}  b", "a\nb\n", "x y=1"] {
            assert_eq!(cmd(same), same);
        }
        let (line, options) =
            free_form("executable=\"/bin/bash\"\ncreates=/tmp/ab\necho \"test\"\n").unwrap();
        assert_eq!(line, "echo \"test\"\n");
        assert_eq!(
            serde_json::Value::Object(options),
            json!({"executable": "/bin/bash", "creates": "/tmp/ab"})
        );
        assert!(free_form("echo \"open").is_err());
    }

    #[test]
    fn octal_escapes_stay_as_in_ansible_2_19() {
        // ansible-core's `_decode_escapes` has no octal escapes: `\1` is a backreference.
        let map = parse(r#"regexp='\\b(.+)\\b' replace='"\1"'"#).unwrap();
        assert_eq!(map["regexp"], json!(r"\b(.+)\b"));
        assert_eq!(map["replace"], json!(r#""\1""#));
    }

    #[test]
    fn pairs_and_quotes() {
        let map = parse(r#"path=/etc/x msg="two words" mode='0644'"#).unwrap();
        assert_eq!(
            serde_json::Value::Object(map),
            json!({"path": "/etc/x", "msg": "two words", "mode": "0644"})
        );
    }

    #[test]
    fn jinja_blocks_stay_whole() {
        let map = parse("a={{ x | default('y z') }} b=2").unwrap();
        assert_eq!(
            serde_json::Value::Object(map),
            json!({"a": "{{ x | default('y z') }}", "b": "2"})
        );
    }

    #[test]
    fn quotes_inside_a_quoted_jinja_value_stay_as_ansible_keeps_them() {
        let map = parse(r#"msg="{{ 'a\\b' }} {{ "c:\\temp" }}" x=a"b c"d"#).unwrap();
        assert_eq!(
            serde_json::Value::Object(map),
            json!({"msg": r#"{{ 'a\b' }} {{ "c:\temp" }}"#, "x": "a\"b c\"d"})
        );
        let map = parse(r"line=a\tb regexp=^\d+$").unwrap();
        assert_eq!(
            serde_json::Value::Object(map),
            json!({"line": "a\tb", "regexp": "^\\d+$"})
        );
    }

    #[test]
    fn errors() {
        assert!(parse("just words").is_err());
        assert!(parse("msg=\"open").is_err());
    }
}

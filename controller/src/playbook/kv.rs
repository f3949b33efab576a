//! Ansible's short argument form: `path=/etc/x state=directory msg="two words"`.

use serde_json::{Map, Value};

/// Parses `key=value` pairs separated by spaces; values may be quoted with ' or ".
pub fn parse(text: &str) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for word in split_words(text)? {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "expected `key=value` arguments, found `{word}`; write the arguments as a mapping instead"
            ));
        };
        map.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    Ok(map)
}

/// [`parse`] for the modules that take free words besides `key=value` pairs (`add_host`):
/// the words without `=` become `_raw_params`, joined with spaces, as Ansible's `parse_kv`.
pub fn parse_with_raw(text: &str) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    let mut raw = Vec::new();
    for word in split_words(text)? {
        match word.split_once('=') {
            Some((k, v)) => {
                map.insert(k.to_owned(), Value::String(v.to_owned()));
            }
            None => raw.push(word),
        }
    }
    if !raw.is_empty() {
        map.insert("_raw_params".into(), Value::String(raw.join(" ")));
    }
    Ok(map)
}

fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    // Inside `{{ ... }}` spaces do not split (Ansible's split_args keeps Jinja blocks whole).
    let mut jinja = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quote.is_none() && (c == '{' || c == '}') && chars.peek() == Some(&c) {
            if c == '{' {
                jinja += 1;
            } else {
                jinja = jinja.saturating_sub(1);
            }
            current.push(c);
            current.push(c);
            chars.next();
            in_word = true;
            continue;
        }
        if jinja > 0 && quote.is_none() {
            current.push(c);
            continue;
        }
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() && jinja == 0 => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unclosed quote in `{text}`"));
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde_json::json;

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
    fn errors() {
        assert!(parse("just words").is_err());
        assert!(parse("msg=\"open").is_err());
    }
}

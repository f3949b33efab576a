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

fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
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
            (None, c) if c.is_whitespace() => {
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
    fn errors() {
        assert!(parse("just words").is_err());
        assert!(parse("msg=\"open").is_err());
    }
}

//! A template file's first line `#jinja2: key: value, ...`: settings for that template,
//! over the task's (Ansible's `TemplateOverrides._extract_template_overrides`). The values
//! are Python literals (`True`, `'[%'`).

use super::overrides::Overrides;

/// The marker a template's first line starts with.
const MARKER: &str = "#jinja2:";

impl Overrides {
    /// `source`'s header settings over these, and the text after the header line; these and
    /// `source` as they are when it has none.
    pub fn with_header<'a>(&self, source: &'a str) -> Result<(Overrides, &'a str), String> {
        let Some(rest) = source.strip_prefix(MARKER) else {
            return Ok((self.clone(), source));
        };
        let Some(eol) = rest.find('\n') else {
            return Err(format!("Missing newline after '{MARKER}' override."));
        };
        let (line, body) = (&rest[..eol], &rest[eol + 1..]);
        let mut o = self.clone();
        for pair in line.split(',') {
            if pair.trim().is_empty() {
                return Err(format!("Empty '{MARKER}' override pair not allowed."));
            }
            let Some((key, value)) = pair.split_once(':') else {
                return Err(format!(
                    "Missing key-value separator `:` in '{MARKER}' override pair '{pair}'."
                ));
            };
            let key = key.trim();
            let value = literal(value.trim())
                .ok_or_else(|| format!("malformed '{MARKER}' override value `{}`", value.trim()))?;
            o.set(key, value)?;
        }
        Ok((o, body))
    }

    fn set(&mut self, key: &str, value: Literal) -> Result<(), String> {
        let text = |v: Literal| match v {
            Literal::Text(s) => Ok(Some(s)),
            Literal::None => Ok(None),
            Literal::Bool(_) => Err(format!("'{MARKER}' override `{key}` must be a string")),
        };
        let flag = |v: Literal| match v {
            Literal::Bool(b) => Ok(Some(b)),
            _ => Err(format!("'{MARKER}' override `{key}` must be True or False")),
        };
        match key {
            "block_start_string" => self.block_start_string = text(value)?,
            "block_end_string" => self.block_end_string = text(value)?,
            "variable_start_string" => self.variable_start_string = text(value)?,
            "variable_end_string" => self.variable_end_string = text(value)?,
            "comment_start_string" => self.comment_start_string = text(value)?,
            "comment_end_string" => self.comment_end_string = text(value)?,
            "line_statement_prefix" => self.line_statement_prefix = text(value)?,
            "line_comment_prefix" => self.line_comment_prefix = text(value)?,
            "trim_blocks" => self.trim_blocks = flag(value)?,
            "lstrip_blocks" => self.lstrip_blocks = flag(value)?,
            "newline_sequence" => {
                let seq = text(value)?;
                if !matches!(seq.as_deref(), Some("\n" | "\r\n" | "\r")) {
                    return Err(format!(
                        "'{MARKER}' newline_sequence must be one of \\n, \\r\\n or \\r"
                    ));
                }
                self.newline_sequence = seq;
            }
            "keep_trailing_newline" => {
                return Err(format!(
                    "'{MARKER}' override `keep_trailing_newline` is not supported by dr"
                ));
            }
            other => return Err(format!("Invalid '{MARKER}' override key '{other}'.")),
        }
        Ok(())
    }
}

/// A Python literal of the kinds a header holds.
enum Literal {
    Text(String),
    Bool(bool),
    None,
}

/// `ast.literal_eval` of a quoted string, `True`, `False` or `None`.
fn literal(s: &str) -> Option<Literal> {
    match s {
        "True" => return Some(Literal::Bool(true)),
        "False" => return Some(Literal::Bool(false)),
        "None" => return Some(Literal::None),
        _ => {}
    }
    let quote = s.chars().next().filter(|q| *q == '\'' || *q == '"')?;
    let inner = s.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                '0' => '\0',
                other @ ('\\' | '\'' | '"') => other,
                _ => return None,
            }),
            c if c == quote => return None,
            c => out.push(c),
        }
    }
    Some(Literal::Text(out))
}

#[cfg(test)]
mod tests {
    use super::Overrides;

    #[test]
    fn a_header_line_sets_the_templates_syntax() {
        let (o, body) = Overrides::default()
            .with_header("#jinja2: variable_start_string:'[%', variable_end_string:'%]', trim_blocks: False\nx [% y %]\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body, "x [% y %]\n");
        assert_eq!(o.variable_start_string.as_deref(), Some("[%"));
        assert_eq!(o.trim_blocks, Some(false));
        let (o, _) = Overrides::default()
            .with_header("#jinja2: line_statement_prefix:\":\"\n: if true\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.line_statement_prefix.as_deref(), Some(":"));
    }

    #[test]
    fn malformed_headers_fail_with_ansibles_words() {
        let err = |s: &str| {
            Overrides::default()
                .with_header(s)
                .err()
                .unwrap_or_default()
        };
        assert!(err("#jinja2: lstrip_blocks=True\nx").contains("Missing key-value separator"));
        assert!(err("#jinja2: nope: True\nx").contains("Invalid '#jinja2:' override key 'nope'"));
        assert!(err("#jinja2: trim_blocks: True").contains("Missing newline"));
        assert!(err("#jinja2: trim_blocks: yes\nx").contains("malformed"));
    }
}

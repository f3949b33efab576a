//! Query arguments merged into the SQL text as psycopg2 does it (`cursor.execute(query,
//! args)` quotes each value into the text client-side; the collection's `query` return
//! value is that merged text, `cursor.query`): `%s` takes the next positional argument,
//! `%(name)s` a named one, `%%` is a literal `%`; without arguments the text is left as it
//! is. A list argument is first turned into the string `{1, 2, 3}` as the collection's
//! `convert_elements_to_pg_arrays` does (Python's `str(list)` with its brackets replaced).
//! Strings are quoted for `standard_conforming_strings = on` (PostgreSQL's default since
//! 9.1): quotes doubled, backslashes kept.

use serde_json::{Map, Value as Json};

use super::error::ClientError;
use crate::template::pyrepr::{float_repr, repr_json};

/// The arguments of a query.
#[derive(Debug, Clone)]
pub(crate) enum Arg<'a> {
    /// `positional_args`.
    Positional(&'a [Json]),
    /// `named_args`.
    Named(&'a Map<String, Json>),
}

/// `query` with `args` merged in.
pub(crate) fn interpolate(query: &str, args: &Arg<'_>) -> Result<String, ClientError> {
    let mut out = String::with_capacity(query.len());
    let mut next = 0;
    let mut chars = query.char_indices().peekable();
    let (mut positional_used, mut named_used) = (false, false);
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '%')) => out.push('%'),
            Some((_, 's')) => {
                positional_used = true;
                let Arg::Positional(values) = args else {
                    return Err(ClientError::Args(
                        "`%s` in the query needs `positional_args` (it was given `named_args`)"
                            .into(),
                    ));
                };
                let v = values.get(next).ok_or_else(|| {
                    ClientError::Args(format!(
                        "the query has more `%s` placeholders than the {} `positional_args`",
                        values.len()
                    ))
                })?;
                next += 1;
                out.push_str(&literal(v)?);
            }
            Some((start, '(')) => {
                named_used = true;
                let rest = &query[start + 1..];
                let Some(end) = rest.find(')') else {
                    return Err(ClientError::Args(
                        "incomplete placeholder: `%(` without `)`".into(),
                    ));
                };
                let name = &rest[..end];
                for _ in 0..=name.chars().count() {
                    chars.next();
                }
                if chars.next().map(|(_, c)| c) != Some('s') {
                    return Err(ClientError::Args(format!(
                        "placeholder `%({name})` must end in `s`: `%({name})s`"
                    )));
                }
                let Arg::Named(values) = args else {
                    return Err(ClientError::Args(format!(
                        "`%({name})s` in the query needs `named_args` (it was given `positional_args`)"
                    )));
                };
                let v = values.get(name).ok_or_else(|| {
                    ClientError::Args(format!(
                        "`named_args` has no `{name}` (used by `%({name})s`)"
                    ))
                })?;
                out.push_str(&literal(v)?);
            }
            Some((_, other)) => {
                return Err(ClientError::Args(format!(
                    "unsupported format character `{other}` after `%` (write `%%` for a literal `%`)"
                )));
            }
            None => {
                return Err(ClientError::Args(
                    "incomplete placeholder: the query ends in `%`".into(),
                ));
            }
        }
    }
    if positional_used && named_used {
        return Err(ClientError::Args("argument formats can't be mixed".into()));
    }
    if let Arg::Positional(values) = args
        && next < values.len()
    {
        return Err(ClientError::Args(format!(
            "not all arguments converted: {} `positional_args` for {next} `%s`",
            values.len()
        )));
    }
    Ok(out)
}

/// A value as an SQL literal.
fn literal(v: &Json) -> Result<String, ClientError> {
    Ok(match v {
        Json::Null => "NULL".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => match n.as_f64() {
            Some(f) if !(n.is_i64() || n.is_u64()) => float_repr(f),
            _ => n.to_string(),
        },
        Json::String(s) => quote(s),
        Json::Array(_) => {
            let repr = repr_json(v);
            quote(&format!("{{{}}}", &repr[1..repr.len() - 1]))
        }
        Json::Object(_) => return Err(ClientError::Args("can't adapt type 'dict'".into())),
    })
}

/// `s` as an SQL string literal (quotes doubled), as psycopg2 quotes a `str`.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pos(q: &str, args: Json) -> Result<String, String> {
        let a = args.as_array().cloned().unwrap_or_default();
        interpolate(q, &Arg::Positional(&a)).map_err(|e| e.to_string())
    }

    #[test]
    fn positional_values_are_quoted_as_psycopg2_does() {
        assert_eq!(
            pos(
                "SELECT %s, %s, %s, %s, %s, %s",
                json!([1, "it's", null, true, 1.5, 2.0])
            ),
            Ok("SELECT 1, 'it''s', NULL, true, 1.5, 2.0".into())
        );
        assert_eq!(
            pos("SELECT %s WHERE x LIKE 'a%%'", json!([[1, 2, 3]])),
            Ok("SELECT '{1, 2, 3}' WHERE x LIKE 'a%'".into())
        );
        assert_eq!(
            pos("SELECT %s", json!([["a", "b"]])),
            Ok("SELECT '{''a'', ''b''}'".into())
        );
        assert!(pos("SELECT %s, %s", json!([1])).is_err());
        assert!(pos("SELECT %s", json!([1, 2])).is_err());
        assert!(pos("SELECT %d", json!([1])).is_err());
    }

    #[test]
    fn named_values() {
        let m = json!({"id": 7, "story": "x"});
        let m = m.as_object().cloned().unwrap_or_default();
        assert_eq!(
            interpolate("SELECT %(id)s, %(story)s, %(id)s", &Arg::Named(&m)).ok(),
            Some("SELECT 7, 'x', 7".into())
        );
        assert!(interpolate("SELECT %(nope)s", &Arg::Named(&m)).is_err());
        assert!(interpolate("SELECT %s", &Arg::Named(&m)).is_err());
    }
}

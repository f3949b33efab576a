//! Python `bytes` values inside dr's data.
//!
//! Ansible reads a YAML `!!binary` scalar as `bytes` (UTF-8 or not). dr's values are JSON,
//! which has no bytes type, so a bytes value is the string [`PREFIX`] followed by the
//! standard base64 of the bytes. The YAML loader is the only producer; these read it:
//!
//! - templates see Python bytes (`crate::template::bytes`): `type_debug` is `bytes`,
//!   `length` and `b[0]` count and index bytes, `str()` is `b'...'`, `b64encode` and the
//!   hashes take the bytes themselves, Ansible's text filters (`regex_replace`, ...) their
//!   UTF-8 text, other filters refuse them; a rendered bytes value turns back into this
//!   string, so it survives `set_fact` and `register`;
//! - argument specs name its type `bytes` and give Ansible's messages for it
//!   (`modules::argspec`);
//! - module arguments get its text when it is UTF-8, as Ansible's `str` options convert
//!   bytes; otherwise the task fails naming the argument ([`args_as_text`]);
//! - `debug`, `fail` and printed results show it as Ansible's display does: its text, with
//!   each run of bytes that are not UTF-8 shown as `?` ([`for_display`]).
//!
//! Text printed around it (`"x{{ b }}"`) is its text when it is UTF-8; otherwise the
//! template fails: Ansible makes a string of escaped bytes there, which dr's UTF-8 strings
//! cannot hold.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value as Json;

/// The start of a string that stands for a bytes value; the rest is its base64.
pub const PREFIX: &str = "__dr_bytes__:";

/// The string that stands for `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// The bytes `s` stands for, when it is a bytes value.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s.strip_prefix(PREFIX)?).ok()
}

/// The bytes `v` stands for, when it is a bytes value.
pub fn of_json(v: &Json) -> Option<Vec<u8>> {
    v.as_str().and_then(decode)
}

/// Whether a bytes value is anywhere inside `v`.
pub fn holds(v: &Json) -> bool {
    match v {
        Json::String(s) => s.starts_with(PREFIX) && decode(s).is_some(),
        Json::Array(items) => items.iter().any(holds),
        Json::Object(map) => map.values().any(holds),
        _ => false,
    }
}

/// `bytes` as Ansible's display prints them: the text, each run of bytes that are not
/// UTF-8 replaced by one `?` (Python's stdout error handler gets the whole run at once).
pub fn display(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut in_run = false;
    for chunk in bytes.utf8_chunks() {
        if !chunk.valid().is_empty() {
            out.push_str(chunk.valid());
            in_run = false;
        }
        if !chunk.invalid().is_empty() && !in_run {
            out.push('?');
            in_run = true;
        }
    }
    out
}

/// Python's `repr()` of `bytes` (`b'hel\xff'`), which is also its `str()`.
pub fn repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = format!("b{quote}");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
    out
}

/// `v` with every bytes value inside as Ansible's display prints it; the flag says whether
/// any was not UTF-8 (Ansible then warns that it replaced data with `?`).
pub fn for_display(v: &Json) -> (Cow<'_, Json>, bool) {
    if !holds(v) {
        return (Cow::Borrowed(v), false);
    }
    let mut replaced = false;
    let out = map_bytes(v, &mut |bytes| {
        let text = display(&bytes);
        replaced |= std::str::from_utf8(&bytes).is_err();
        Ok::<_, ()>(Json::String(text))
    });
    (Cow::Owned(out.unwrap_or_else(|()| v.clone())), replaced)
}

/// A bytes value inside module arguments that is not UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "argument `{path}` is bytes that are not UTF-8 text (a `!!binary` value), which dr cannot \
     pass to a module"
)]
pub struct NotText {
    /// Where in the arguments (`content`, `lines[2]`).
    pub path: String,
}

/// Module arguments `args` with every bytes value as its text, as Ansible's `str`
/// options convert bytes; refused when one is not UTF-8.
pub fn args_as_text(args: &Json) -> Result<Cow<'_, Json>, NotText> {
    if !holds(args) {
        return Ok(Cow::Borrowed(args));
    }
    fn walk(v: &Json, path: &str) -> Result<Json, NotText> {
        Ok(match v {
            Json::String(s) => match decode(s) {
                Some(bytes) => Json::String(String::from_utf8(bytes).map_err(|_| NotText {
                    path: path.to_owned(),
                })?),
                None => v.clone(),
            },
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| walk(item, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, item)| {
                        let at = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        Ok((k.clone(), walk(item, &at)?))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => other.clone(),
        })
    }
    // A free-form argument (`command: "{{ b }}"`) is `_raw_params`, as Ansible names it.
    match args {
        Json::String(_) => walk(args, "_raw_params"),
        _ => walk(args, ""),
    }
    .map(Cow::Owned)
}

/// `v` with `f` applied to every bytes value inside.
fn map_bytes<E>(v: &Json, f: &mut impl FnMut(Vec<u8>) -> Result<Json, E>) -> Result<Json, E> {
    Ok(match v {
        Json::String(s) => match decode(s) {
            Some(bytes) => f(bytes)?,
            None => v.clone(),
        },
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|item| map_bytes(item, f))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, item)| Ok((k.clone(), map_bytes(item, f)?)))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bytes_round_trip_through_their_string() {
        let s = encode(b"hel\xff\xfflo");
        assert_eq!(s, "__dr_bytes__:aGVs//9sbw==");
        assert_eq!(decode(&s).as_deref(), Some(&b"hel\xff\xfflo"[..]));
        assert_eq!(decode("hello"), None);
        assert_eq!(decode("__dr_bytes__:not base64!"), None);
        assert!(holds(&json!({"a": [1, s]})));
        assert!(!holds(&json!({"a": [1, "x"]})));
    }

    #[test]
    fn display_replaces_each_run_that_is_not_utf8_as_ansible() {
        // Checked against ansible-playbook 2.19: `debug: var=b` prints these.
        assert_eq!(display(b"\xff\xfe\xfd"), "?");
        assert_eq!(display(b"hel\xff\xfflo"), "hel?lo");
        assert_eq!(display("h\u{e9}".as_bytes()), "h\u{e9}");
        let data = json!({"b": encode(b"a\xffb"), "n": 1});
        let (shown, replaced) = for_display(&data);
        assert_eq!(*shown, json!({"b": "a?b", "n": 1}));
        assert!(replaced);
    }

    #[test]
    fn repr_is_pythons() {
        assert_eq!(repr(b"\xff\xfe\xfd"), r"b'\xff\xfe\xfd'");
        assert_eq!(repr(b"hello"), "b'hello'");
        assert_eq!(repr(b"it's\n"), r#"b"it's\n""#);
        assert_eq!(repr(b"'\""), r#"b'\'"'"#);
    }

    #[test]
    fn module_arguments_get_text_or_a_refusal_naming_the_argument() {
        let args = json!({"content": encode(b"hello"), "n": 1});
        assert_eq!(
            *args_as_text(&args).unwrap(),
            json!({"content": "hello", "n": 1})
        );
        let args = json!({"lines": ["a", encode(b"\xff")]});
        assert_eq!(args_as_text(&args).unwrap_err().path, "lines[1]");
        let free_form = Json::String(encode(b"\xff"));
        assert_eq!(args_as_text(&free_form).unwrap_err().path, "_raw_params");
    }
}

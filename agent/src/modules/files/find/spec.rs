//! What a `find` task says, and its values read as Ansible's module reads them.

use serde::{Deserialize, Deserializer, de};
use serde_json::Value as Json;

use super::super::args::{bool_ish, opt_text};
use super::super::digest::Algorithm;

/// The task's arguments, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FindSpec {
    #[serde(alias = "name", alias = "path", deserialize_with = "str_list")]
    pub paths: Vec<String>,
    #[serde(default, alias = "pattern", deserialize_with = "str_list")]
    pub patterns: Vec<String>,
    #[serde(default, alias = "exclude", deserialize_with = "str_list")]
    pub excludes: Vec<String>,
    /// A Python regular expression a file's lines (or whole text) must match.
    #[serde(default, deserialize_with = "opt_text")]
    pub contains: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    pub read_whole_file: bool,
    #[serde(default)]
    pub file_type: FileType,
    #[serde(default, deserialize_with = "opt_text")]
    pub age: Option<String>,
    #[serde(default)]
    pub age_stamp: AgeStamp,
    #[serde(default, deserialize_with = "opt_text")]
    pub size: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    pub recurse: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    pub hidden: bool,
    /// Walk into symlinked directories.
    #[serde(default, deserialize_with = "bool_ish")]
    pub follow: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    pub get_checksum: bool,
    #[serde(default, alias = "checksum", alias = "checksum_algo")]
    pub checksum_algorithm: Algorithm,
    #[serde(default, deserialize_with = "bool_ish")]
    pub use_regex: bool,
    #[serde(default, deserialize_with = "super::super::args::opt_int")]
    pub depth: Option<i64>,
    /// Kept raw: Ansible refuses anything but a string at run time.
    #[serde(default)]
    pub mode: Option<Json>,
    #[serde(default = "super::super::args::yes", deserialize_with = "bool_ish")]
    pub exact_mode: bool,
    #[serde(default, deserialize_with = "opt_text")]
    pub encoding: Option<String>,
    #[serde(default, deserialize_with = "super::super::args::opt_int")]
    pub limit: Option<i64>,
}

/// `file_type`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum FileType {
    Any,
    Directory,
    #[default]
    File,
    Link,
}

/// `age_stamp`: which of a path's times `age` compares.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum AgeStamp {
    Atime,
    Ctime,
    #[default]
    Mtime,
}

/// Ansible's `type='list', elements='str'`: a list, or a comma-separated string.
fn str_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let scalar = |v: &Json| -> Result<String, D::Error> {
        match v {
            Json::String(s) => Ok(s.clone()),
            Json::Number(n) => Ok(n.to_string()),
            Json::Bool(b) => Ok(if *b { "True" } else { "False" }.to_owned()),
            other => Err(de::Error::custom(format!(
                "expected a string in the list, found `{other}`"
            ))),
        }
    };
    match Json::deserialize(d)? {
        Json::Null => Ok(Vec::new()),
        Json::String(s) => Ok(s.split(',').map(str::to_owned).collect()),
        Json::Array(items) => items.iter().map(scalar).collect(),
        other => Ok(vec![scalar(&other)?]),
    }
}

/// A number with an optional one-letter unit, as `age` and `size` take it
/// (`^(-?\d+)(unit)?$`, case-insensitive); `None` when it does not parse.
pub(super) fn with_unit(text: &str, units: &[(char, i64)]) -> Option<i64> {
    let lower = text.to_lowercase();
    let (digits, factor) = match lower.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let factor = units.iter().find(|(u, _)| *u == c)?.1;
            (&lower[..lower.len() - 1], factor)
        }
        _ => (lower.as_str(), 1),
    };
    let body = digits.strip_prefix('-').unwrap_or(digits);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok()?.checked_mul(factor)
}

/// `age` units: seconds per unit.
pub(super) const AGE_UNITS: &[(char, i64)] = &[
    ('s', 1),
    ('m', 60),
    ('h', 3600),
    ('d', 86400),
    ('w', 604800),
];

/// `size` units: bytes per unit.
pub(super) const SIZE_UNITS: &[(char, i64)] = &[
    ('b', 1),
    ('k', 1 << 10),
    ('m', 1 << 20),
    ('g', 1 << 30),
    ('t', 1 << 40),
];

/// `mode` as Python's `int(mode, 8)` reads it; `None` for a symbolic mode.
pub(super) fn octal(mode: &str) -> Option<u32> {
    let t = mode.trim();
    let t = t
        .strip_prefix("0o")
        .or_else(|| t.strip_prefix("0O"))
        .unwrap_or(t);
    let t = t.replace('_', "");
    if t.is_empty() {
        return None;
    }
    u32::from_str_radix(&t, 8).ok()
}

/// The text encodings `contains` can read files in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Utf8,
    Latin1,
    Ascii,
}

impl Encoding {
    /// The encoding Python's codec registry would find under `name`, among those supported.
    pub(super) fn named(name: Option<&str>) -> Option<Encoding> {
        let Some(name) = name else {
            return Some(Encoding::Utf8);
        };
        let n = name.trim().to_lowercase().replace(['_', ' '], "-");
        Some(match n.as_str() {
            "utf-8" | "utf8" | "u8" | "utf" => Encoding::Utf8,
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "8859" | "l1" => Encoding::Latin1,
            "ascii" | "us-ascii" | "646" => Encoding::Ascii,
            _ => return None,
        })
    }

    /// `bytes` decoded strictly; `None` where Python would raise `UnicodeDecodeError`.
    pub(super) fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            Encoding::Utf8 => String::from_utf8(bytes.to_vec()).ok(),
            Encoding::Latin1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            Encoding::Ascii => bytes
                .is_ascii()
                .then(|| String::from_utf8_lossy(bytes).into_owned()),
        }
    }
}

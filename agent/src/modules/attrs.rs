//! `mode`, `owner` and `group`: how file modules read, compare and describe them.

use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value as Json;

use super::{ArgsError, ModuleError};
use crate::diff;
use crate::fsutil::{self, Attrs, Current, Db};
use crate::wire::Diff;

/// A `mode:` as written: a number (`0644` in YAML is octal), an octal string (`"0644"`),
/// or a symbolic mode (`u=rw,g=r,o=`, `g+w`, `a-x`), resolved against the current mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileMode {
    /// Absolute permission bits.
    Bits(u32),
    /// Symbolic clauses.
    Symbolic(String),
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Json::deserialize(d)?;
        match &v {
            Json::Number(n) => n
                .as_u64()
                .filter(|n| *n <= 0o7777)
                .map(|n| FileMode::Bits(n as u32))
                .ok_or_else(|| de::Error::custom(format!("invalid mode `{v}`"))),
            Json::String(s) => parse_mode(s).map_err(de::Error::custom),
            _ => Err(de::Error::custom(format!("invalid mode `{v}`"))),
        }
    }
}

/// `mode: preserve` (`copy`, `template`): `args` with `mode` replaced by the source file's
/// own permission bits, as Ansible's actions read them; `args` as they are otherwise.
pub fn preserve_mode<'a>(
    module: &'static str,
    args: &'a Json,
    source_mode: impl FnOnce() -> Option<u32>,
) -> Result<std::borrow::Cow<'a, Json>, ModuleError> {
    if args.get("mode").and_then(Json::as_str) != Some("preserve") {
        return Ok(std::borrow::Cow::Borrowed(args));
    }
    let bits = source_mode().ok_or_else(|| {
        ArgsError::new(
            module,
            "`mode: preserve` needs a source file whose mode can be read",
        )
    })?;
    let mut args = args.clone();
    args["mode"] = Json::from(format!("{bits:04o}"));
    Ok(std::borrow::Cow::Owned(args))
}

fn parse_mode(s: &str) -> Result<FileMode, String> {
    let t = s.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_digit(8)) {
        return u32::from_str_radix(t, 8)
            .ok()
            .filter(|n| *n <= 0o7777)
            .map(FileMode::Bits)
            .ok_or_else(|| format!("invalid mode `{s}`"));
    }
    // Validate now so a typo fails before anything runs.
    symbolic(t, 0, false)?;
    Ok(FileMode::Symbolic(t.to_owned()))
}

impl FileMode {
    /// The permission bits for a path whose current mode is `current` (0 when absent).
    pub fn resolve(&self, current: u32, is_dir: bool) -> Result<u32, String> {
        match self {
            FileMode::Bits(b) => Ok(*b),
            FileMode::Symbolic(s) => symbolic(s, current, is_dir),
        }
    }
}

/// Applies symbolic clauses (`who op perms`, comma separated) to `mode`.
fn symbolic(s: &str, mut mode: u32, is_dir: bool) -> Result<u32, String> {
    let bad = || format!("invalid mode `{s}`");
    for clause in s.split(',') {
        let op_at = clause.find(['=', '+', '-']).ok_or_else(bad)?;
        let (who, rest) = clause.split_at(op_at);
        let mut who_mask = 0u32;
        for c in who.chars() {
            who_mask |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return Err(bad()),
            };
        }
        if who.is_empty() {
            who_mask = 0o7777;
        }
        let mut chars = rest.chars();
        let op = chars.next().ok_or_else(bad)?;
        let mut perms = 0u32;
        for c in chars {
            perms |= match c {
                'r' => 0o444,
                'w' => 0o222,
                'x' => 0o111,
                'X' if is_dir || mode & 0o111 != 0 => 0o111,
                'X' => 0,
                's' => 0o6000,
                't' => 0o1000,
                _ => return Err(bad()),
            };
        }
        let bits = perms & who_mask;
        mode = match op {
            '=' => (mode & !who_mask) | bits,
            '+' => mode | bits,
            _ => mode & !bits,
        };
    }
    Ok(mode & 0o7777)
}

/// The `mode`/`owner`/`group` keys shared by the file modules.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AttrSpec {
    /// Wanted mode.
    pub mode: Option<FileMode>,
    /// Wanted owner (name or uid).
    pub owner: Option<Json>,
    /// Wanted group (name or gid).
    pub group: Option<Json>,
}

impl AttrSpec {
    /// Resolves names to ids and the mode against `current` (the file's current mode).
    pub fn resolve(
        &self,
        module: &'static str,
        current: Option<u32>,
        is_dir: bool,
    ) -> Result<Attrs, ModuleError> {
        let id = |db: Db, v: &Option<Json>| -> Result<Option<u32>, ModuleError> {
            match v {
                None | Some(Json::Null) => Ok(None),
                Some(Json::Number(n)) => n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| ArgsError::new(module, format!("invalid id `{n}`")).into()),
                Some(Json::String(s)) => fsutil::resolve_id(db, s)
                    .map(Some)
                    .map_err(ModuleError::Failed),
                Some(other) => {
                    Err(ArgsError::new(module, format!("invalid owner `{other}`")).into())
                }
            }
        };
        let mode = match &self.mode {
            None => None,
            Some(m) => Some(
                m.resolve(current.unwrap_or(0), is_dir)
                    .map_err(|e| ModuleError::from(ArgsError::new(module, e)))?,
            ),
        };
        Ok(Attrs {
            mode,
            uid: id(Db::User, &self.owner)?,
            gid: id(Db::Group, &self.group)?,
        })
    }
}

/// The attributes that differ between `current` and `wanted`, as a minimal [`Attrs`]
/// (only differing fields set) and one-line diffs.
pub fn changes(path: &Path, current: &Current, wanted: Attrs) -> (Attrs, Vec<Diff>) {
    let target = path.display().to_string();
    let mut out = Attrs::default();
    let mut diffs = Vec::new();
    if let Some(m) = wanted.mode.filter(|m| *m != current.mode) {
        out.mode = Some(m);
        diffs.push(diff::line(
            &target,
            "mode",
            &fsutil::mode_string(current.mode),
            &fsutil::mode_string(m),
        ));
    }
    if let Some(u) = wanted.uid.filter(|u| *u != current.uid) {
        out.uid = Some(u);
        diffs.push(diff::line(
            &target,
            "owner",
            &fsutil::id_name(Db::User, current.uid),
            &fsutil::id_name(Db::User, u),
        ));
    }
    if let Some(g) = wanted.gid.filter(|g| *g != current.gid) {
        out.gid = Some(g);
        diffs.push(diff::line(
            &target,
            "group",
            &fsutil::id_name(Db::Group, current.gid),
            &fsutil::id_name(Db::Group, g),
        ));
    }
    (out, diffs)
}

/// Whether any attribute is set.
pub fn any(a: &Attrs) -> bool {
    a.mode.is_some() || a.uid.is_some() || a.gid.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_like_ansible() {
        assert_eq!(parse_mode("0644"), Ok(FileMode::Bits(0o644)));
        assert_eq!(parse_mode("755"), Ok(FileMode::Bits(0o755)));
        assert!(parse_mode("0999").is_err());
        assert!(parse_mode("u=rwz").is_err());
        let m: FileMode =
            serde_json::from_value(serde_json::json!(420)).unwrap_or(FileMode::Bits(0));
        assert_eq!(m, FileMode::Bits(0o644));
    }

    #[test]
    fn symbolic_modes() {
        let s = |m: &str, cur: u32| symbolic(m, cur, false);
        assert_eq!(s("u=rw,g=r,o=", 0o777), Ok(0o640));
        assert_eq!(s("g+w", 0o644), Ok(0o664));
        assert_eq!(s("a-x", 0o755), Ok(0o644));
        assert_eq!(s("a+X", 0o644), Ok(0o644));
        assert_eq!(symbolic("a+X", 0o644, true), Ok(0o755));
    }
}

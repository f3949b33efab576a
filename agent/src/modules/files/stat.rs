//! `stat`: facts about a path, under Ansible's `stat` keys. Reads only; never a change.
//!
//! Everything Ansible's module reports comes from the same sources: `lstat`/`stat`,
//! `access(2)` for the running user, the passwd and group files for names, a digest of the
//! file's bytes, and, as in Ansible, best effort from the host's `file` program (`mimetype`,
//! `charset`: `unknown` without it) and `lsattr` (`attributes`: empty without it).

use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::bool_ish;
use super::digest::{self, Algorithm};
use super::hostcmd;
use super::{Context, Module, ModuleError, Outcome, Plan, accounts, parse_args, path_arg};

/// The `stat` module.
pub struct Stat;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatSpec {
    #[serde(alias = "dest", alias = "name")]
    path: String,
    /// Stat the link's target instead of the link.
    #[serde(default, deserialize_with = "bool_ish")]
    follow: bool,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    get_checksum: bool,
    #[serde(
        default = "super::args::yes",
        deserialize_with = "bool_ish",
        alias = "mime",
        alias = "mime_type",
        alias = "mime-type"
    )]
    get_mime: bool,
    #[serde(
        default = "super::args::yes",
        deserialize_with = "bool_ish",
        alias = "attr",
        alias = "attributes"
    )]
    get_attributes: bool,
    #[serde(default, alias = "checksum", alias = "checksum_algo")]
    checksum_algorithm: Algorithm,
}

impl Module for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "path",
            "dest",
            "name",
            "follow",
            "get_checksum",
            "get_mime",
            "mime",
            "mime_type",
            "mime-type",
            "get_attributes",
            "attr",
            "attributes",
            "checksum_algorithm",
            "checksum",
            "checksum_algo",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: StatSpec = parse_args("stat", args)?;
        let path = path_arg::expand(&spec.path, ctx.environment);
        let found = if spec.follow {
            fs::metadata(&path)
        } else {
            fs::symlink_metadata(&path)
        };
        let meta = match found {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut absent = Map::new();
                absent.insert("exists".into(), Json::Bool(false));
                return Ok(Plan::done(result(absent)));
            }
            Err(e) => {
                return Ok(Plan::done(Outcome::failed(format!(
                    "cannot stat `{path}`: {}",
                    strerror(&e)
                ))));
            }
        };
        let mut out = format(&path, &meta);
        for (key, mode) in [
            ("readable", rustix::fs::Access::READ_OK),
            ("writeable", rustix::fs::Access::WRITE_OK),
            ("executable", rustix::fs::Access::EXEC_OK),
        ] {
            let ok = rustix::fs::access(path.as_str(), mode).is_ok();
            out.insert(key.into(), Json::Bool(ok));
        }
        if meta.file_type().is_symlink() {
            out.insert(
                "lnk_source".into(),
                Json::from(realpath(Path::new(&path)).display().to_string()),
            );
            let target =
                fs::read_link(&path).map_err(|e| ModuleError::io("cannot read link", &path, e))?;
            out.insert(
                "lnk_target".into(),
                Json::from(target.display().to_string()),
            );
        }
        if let Some(user) = accounts::user_by_uid(meta.uid()) {
            out.insert("pw_name".into(), Json::from(user.name));
        }
        if let Some(group) = accounts::group_by_gid(meta.gid()) {
            out.insert("gr_name".into(), Json::from(group.name));
        }
        if spec.get_checksum && meta.is_file() && out["readable"] == Json::Bool(true) {
            let sum = checksum(Path::new(&path), spec.checksum_algorithm)
                .map_err(|e| ModuleError::io("cannot read", &path, e))?;
            out.insert("checksum".into(), Json::from(sum));
        }
        if spec.get_mime {
            let (mimetype, charset) = mime(&path, ctx.environment)
                .unwrap_or_else(|| ("unknown".into(), "unknown".into()));
            out.insert("mimetype".into(), Json::from(mimetype));
            out.insert("charset".into(), Json::from(charset));
        }
        if spec.get_attributes {
            let (version, flags) = match lsattr(&path, ctx.environment) {
                Some((version, flags)) => (Json::from(version), flags),
                None => (Json::Null, String::new()),
            };
            let names: Vec<Json> = flags
                .chars()
                .filter_map(attribute_name)
                .map(Json::from)
                .collect();
            out.insert("version".into(), version);
            out.insert("attributes".into(), Json::Array(names));
            out.insert("attr_flags".into(), Json::from(flags));
        }
        Ok(Plan::done(result(out)))
    }
}

/// The module's result: `stat`, never a change.
fn result(stat: Map<String, Json>) -> Outcome {
    let mut o = Outcome::default();
    o.data.insert("stat".into(), Json::Object(stat));
    o
}

/// The keys Ansible's `format_output` builds from the stat structure.
fn format(path: &str, m: &Metadata) -> Map<String, Json> {
    let mut out = Map::new();
    out.insert("exists".into(), Json::Bool(true));
    out.insert("path".into(), Json::from(path));
    stat_keys(&mut out, m, false);
    // Python's stat result on Linux carries these three of Ansible's platform keys.
    out.insert("blocks".into(), Json::from(m.blocks()));
    out.insert("block_size".into(), Json::from(m.blksize()));
    out.insert("device_type".into(), Json::from(m.rdev()));
    out
}

/// The keys `stat` and `find` (its `statinfo`) both build from a stat structure, in their
/// order: type and mode, ids, size, inode, times, with `names` the owner's and group's names
/// (where `find` has them), then the permission bits.
pub(in crate::modules) fn stat_keys(out: &mut Map<String, Json>, m: &Metadata, names: bool) {
    let mode = m.mode();
    let ft = m.file_type();
    let time = |sec: i64, nsec: i64| Json::from(sec as f64 + nsec as f64 * 1e-9);
    out.insert("mode".into(), Json::from(format!("{:04o}", mode & 0o7777)));
    out.insert("isdir".into(), Json::Bool(ft.is_dir()));
    out.insert("ischr".into(), Json::Bool(ft.is_char_device()));
    out.insert("isblk".into(), Json::Bool(ft.is_block_device()));
    out.insert("isreg".into(), Json::Bool(ft.is_file()));
    out.insert("isfifo".into(), Json::Bool(ft.is_fifo()));
    out.insert("islnk".into(), Json::Bool(ft.is_symlink()));
    out.insert("issock".into(), Json::Bool(ft.is_socket()));
    out.insert("uid".into(), Json::from(m.uid()));
    out.insert("gid".into(), Json::from(m.gid()));
    out.insert("size".into(), Json::from(m.size()));
    out.insert("inode".into(), Json::from(m.ino()));
    out.insert("dev".into(), Json::from(m.dev()));
    out.insert("nlink".into(), Json::from(m.nlink()));
    out.insert("atime".into(), time(m.atime(), m.atime_nsec()));
    out.insert("mtime".into(), time(m.mtime(), m.mtime_nsec()));
    out.insert("ctime".into(), time(m.ctime(), m.ctime_nsec()));
    if names {
        let group = accounts::group_by_gid(m.gid()).map(|g| g.name);
        let user = accounts::user_by_uid(m.uid()).map(|u| u.name);
        out.insert("gr_name".into(), Json::from(group.unwrap_or_default()));
        out.insert("pw_name".into(), Json::from(user.unwrap_or_default()));
    }
    for (key, bit) in [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        out.insert(key.into(), Json::Bool(mode & bit != 0));
    }
}

/// The message of an OS error without Rust's `(os error N)` suffix, as Python's `strerror`.
pub(in crate::modules) fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Python's `os.path.realpath` (not strict): symlinks resolved as far as they exist, the
/// rest of the path kept as written.
fn realpath(path: &Path) -> PathBuf {
    let start = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut resolved = PathBuf::from("/");
    let mut pending: Vec<std::ffi::OsString> = Vec::new();
    push_components(&start, &mut pending);
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        match part.to_str() {
            Some(".") => continue,
            Some("..") => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = resolved.join(&part);
        let link = fs::symlink_metadata(&candidate)
            .ok()
            .filter(|m| m.file_type().is_symlink())
            .and_then(|_| fs::read_link(&candidate).ok());
        match link {
            // Past 40 hops it is a loop; Python gives up resolving there too.
            Some(target) if hops < 40 => {
                hops += 1;
                if target.is_absolute() {
                    resolved = PathBuf::from("/");
                }
                push_components(&target, &mut pending);
            }
            _ => resolved = candidate,
        }
    }
    resolved
}

/// Pushes `path`'s components onto `stack` so the first pops first.
fn push_components(path: &Path, stack: &mut Vec<std::ffi::OsString>) {
    let parts: Vec<std::ffi::OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some("..".into()),
            Component::CurDir => Some(".".into()),
            Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    stack.extend(parts.into_iter().rev());
}

/// The hex digest of the file's bytes.
fn checksum(path: &Path, algorithm: Algorithm) -> io::Result<String> {
    digest::of_file(path, algorithm)
}

/// A host program run as Ansible's `run_command` runs it: C locale, the task's environment;
/// `None` when it is missing or fails.
fn probe(program: &str, args: &[&str], environment: &[(String, String)]) -> Option<String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(environment.iter().map(|(k, v)| (k, v)))
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env("LC_MESSAGES", "C");
    let ran = hostcmd::run(&mut cmd, program).ok()?;
    ran.ok().then_some(ran.stdout)
}

/// `file --mime-type --mime-encoding`, parsed as Ansible parses it.
fn mime(path: &str, environment: &[(String, String)]) -> Option<(String, String)> {
    let out = probe(
        "file",
        &["--mime-type", "--mime-encoding", path],
        environment,
    )?;
    let (_, tail) = out.rsplit_once(':')?;
    let mut parts = tail.split(';');
    let (mimetype, charset) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let charset = charset.split('=').nth(1)?;
    Some((mimetype.trim().to_owned(), charset.trim().to_owned()))
}

/// `lsattr -vd`: the file's version and its attribute flags without the dashes.
fn lsattr(path: &str, environment: &[(String, String)]) -> Option<(String, String)> {
    let out = probe("lsattr", &["-vd", path], environment)?;
    let mut words = out.split_whitespace();
    let version = words.next()?.to_owned();
    let flags = words.next()?.replace('-', "");
    Some((version, flags))
}

/// The name Ansible gives an `lsattr` flag.
fn attribute_name(flag: char) -> Option<&'static str> {
    Some(match flag {
        'A' => "noatime",
        'a' => "append",
        'c' => "compressed",
        'C' => "nocow",
        'd' => "nodump",
        'D' => "dirsync",
        'e' => "extents",
        'E' => "encrypted",
        'h' => "blocksize",
        'i' => "immutable",
        'I' => "indexed",
        'j' => "journalled",
        'N' => "inline",
        's' => "zero",
        'S' => "synchronous",
        't' => "notail",
        'T' => "blockroot",
        'u' => "undelete",
        'X' => "compressedraw",
        'Z' => "compresseddirty",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;

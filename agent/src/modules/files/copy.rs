//! `copy`: put a controller file (or inline `content`) on the host, or copy a file or
//! directory already there (`remote_src`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish};
use super::attrs::{AttrSpec, FileMode};
use super::content::{FileWrite, compare_current};
use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::wire::FileContent;

/// The `copy` module.
pub struct Copy;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CopySpec {
    content: Option<Json>,
    src: Option<String>,
    dest: String,
    mode: Option<FileMode>,
    owner: Option<Json>,
    group: Option<Json>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    force: Option<bool>,
    #[serde(default, deserialize_with = "bool_ish")]
    backup: bool,
    /// Write through a symlink at `dest` instead of replacing it.
    #[serde(default, deserialize_with = "bool_ish")]
    follow: bool,
    validate: Option<String>,
    /// `src` is a path on the host, not a controller file.
    #[serde(default, deserialize_with = "bool_ish")]
    remote_src: bool,
    /// Mode of the directories a recursive copy creates.
    directory_mode: Option<FileMode>,
    /// Follow symlinks in a source directory: the controller's directory copy does by
    /// default; a host directory copy (`remote_src`) treats an unset one apart.
    #[serde(default, deserialize_with = "opt_bool_ish")]
    local_follow: Option<bool>,
    /// Whether a vault-encrypted source is decrypted: the controller does it when it
    /// ships the file (`run/files.rs`), as Ansible's action plugin does.
    #[serde(default, rename = "decrypt")]
    decrypt: Option<Json>,
}

impl Module for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "unsafe_writes",
            "content",
            "src",
            "dest",
            "mode",
            "owner",
            "group",
            "force",
            "backup",
            "follow",
            "validate",
            "remote_src",
            "directory_mode",
            "local_follow",
            "decrypt",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let args = &expand_paths(ctx, args);
        if let Some(msg) = missing_or_clashing(args) {
            return Err(ModuleError::Failed(msg.to_owned()));
        }
        if let Some((listing, files)) = controller_directory(ctx, args)? {
            return copy_tree(ctx, args, listing, files);
        }
        let args = super::attrs::preserve_mode("copy", args, || source_mode(ctx, args))?;
        let spec: CopySpec = parse_args("copy", &args)?;
        let (bytes, src_name) = match (&spec.content, &spec.src) {
            (Some(_), Some(_)) => {
                return Err(
                    ArgsError::new("copy", "give either `content` or `src`, not both").into(),
                );
            }
            (None, None) => {
                return Err(ArgsError::new("copy", "one of `content` or `src` is required").into());
            }
            (Some(Json::String(s)), None) => (Arc::from(s.as_bytes()), None),
            (Some(other), None) => (Arc::from(content_text(other).into_bytes()), None),
            (None, Some(src)) if spec.remote_src && Path::new(src).is_dir() => {
                return host_tree::HostTree {
                    src: src.clone(),
                    dest: spec.dest.clone(),
                    mode: spec.mode.clone(),
                    directory_mode: spec.directory_mode.clone(),
                    owner: spec.owner.clone(),
                    group: spec.group.clone(),
                    force: spec.force.unwrap_or(true),
                    follow: spec.follow,
                    local_follow: spec.local_follow,
                }
                .plan(ctx);
            }
            (None, Some(src)) if spec.remote_src => match host_file(src) {
                Ok(bytes) => (Arc::from(bytes), Some(src.as_str())),
                Err(failed) => return Ok(Plan::done(Outcome::failed(failed))),
            },
            // The request's buffer itself: no copy per host. `decrypt: false` takes the
            // source as written (a vault file still encrypted).
            (None, Some(src)) => {
                let as_written = (spec.decrypt.as_ref().and_then(super::json_bool) == Some(false))
                    .then(|| ctx.files.get(&crate::wire::as_written_key(src)))
                    .flatten();
                let bytes = match as_written {
                    Some(file) => file.shared(),
                    None => shipped("copy", ctx, src)?.shared(),
                };
                (bytes, Some(src.as_str()))
            }
        };
        let dest = destination("copy", &spec.dest, src_name)?;
        // Compared in chunks, never read whole: a converged copy costs no memory per host.
        let before = compare_current("copy", &dest, &bytes)?;
        // In check mode Ansible's action reports the copy without running the module, so
        // a directory an earlier task would make is no failure there.
        if !ctx.check_mode
            && let Some(failed) = missing_directory(&spec.dest, &dest, before.is_none(), &bytes)
        {
            return Ok(Plan::done(failed));
        }
        if before.is_some() && spec.force == Some(false) {
            let mut outcome =
                Outcome::ok(format!("`{}` exists and `force` is false", dest.display()));
            outcome
                .data
                .insert("dest".into(), Json::from(dest.display().to_string()));
            return Ok(Plan::done(outcome));
        }
        let mut data = Map::new();
        if let Some(src) = src_name {
            data.insert("src".into(), Json::from(src));
        }
        data.insert("size".into(), Json::from(bytes.len()));
        data.insert(
            "checksum".into(),
            Json::from(super::content::checksum(&bytes)),
        );
        data.insert("md5sum".into(), Json::from(super::content::md5sum(&bytes)));
        // Ansible's action adds it for a controller file or `content` that changes; the
        // module run for `remote_src` has none.
        let differs = match &before {
            None => true,
            Some(super::content::Before::Bytes(b)) => **b != *bytes,
            Some(super::content::Before::Compared { same, .. }) => !same,
        };
        if ctx.diff_mode && differs && !spec.remote_src {
            let header = match src_name {
                Some(src) => ctx
                    .files
                    .get(src)
                    .map_or_else(|| src.to_owned(), |f| f.origin.clone()),
                None => dest.display().to_string(),
            };
            let entry = ansible_diff::entry(&dest, &bytes, &header);
            data.insert("diff".into(), Json::Array(vec![entry]));
        } else if ctx.diff_mode && !spec.remote_src {
            let spec = AttrSpec {
                mode: spec.mode.clone(),
                owner: spec.owner.clone(),
                group: spec.group.clone(),
            };
            data.insert("diff".into(), ansible_diff::unchanged(&dest, &spec)?);
        }
        FileWrite {
            module: "copy",
            path: dest,
            before,
            after: bytes,
            attrs: AttrSpec {
                mode: spec.mode,
                owner: spec.owner,
                group: spec.group,
            },
            default_mode: 0o644,
            backup: spec.backup,
            data,
            // As Ansible's copy module: a `dest` ending in `/` is a directory, made when
            // missing.
            create_parents: spec.dest.ends_with('/'),
            msg: None,
            validate: spec.validate,
            follow: spec.follow,
        }
        .plan()
    }
}

/// The content of a `remote_src` file, or Ansible's module failure message when `src` is
/// missing or is no regular file (`/dev/null`, a pipe).
fn host_file(src: &str) -> Result<Vec<u8>, String> {
    match std::fs::metadata(src) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("Source {src} not found"));
        }
        Ok(m) if !m.is_file() => {
            return Err(format!("Cannot copy invalid source '{src}': not a file"));
        }
        _ => {}
    }
    std::fs::read(src).map_err(|_| format!("Source {src} not readable"))
}

/// Ansible's action checks of `src`, `content` and `dest`, in its order and words.
fn missing_or_clashing(args: &Json) -> Option<&'static str> {
    let given = |key: &str| match args.get(key) {
        None | Some(Json::Null) => None,
        Some(v) => Some(v),
    };
    let truthy = |v: Option<&Json>| match v {
        None => false,
        Some(Json::String(s)) => !s.is_empty(),
        Some(Json::Bool(b)) => *b,
        Some(_) => true,
    };
    let (src, content, dest) = (given("src"), given("content"), given("dest"));
    if !truthy(src) && content.is_none() {
        Some("src (or content) is required")
    } else if !truthy(dest) {
        Some("dest is required")
    } else if truthy(src) && content.is_some() {
        Some("src and content are mutually exclusive")
    } else if content.is_some()
        && dest
            .and_then(Json::as_str)
            .is_some_and(|d| d.ends_with('/'))
    {
        Some("can not use content with a dir as dest")
    } else {
        None
    }
}

/// `args` with `dest` (and a `remote_src` source) as Ansible's module gets them
/// (`type='path'`: `~` and `$VAR` expanded); the controller's `src` stays as written.
fn expand_paths(ctx: &Context<'_>, args: &Json) -> Json {
    let mut args = args.clone();
    let remote = args
        .get("remote_src")
        .and_then(super::json_bool)
        .unwrap_or(false);
    if let Json::Object(map) = &mut args {
        for key in ["dest", "src"] {
            if key == "src" && !remote {
                continue;
            }
            if let Some(Json::String(path)) = map.get_mut(key) {
                *path = super::path_arg::expand(path, ctx.environment);
            }
        }
    }
    args
}

/// Ansible's failure when `dest` (as written: `given`) is missing and so is its directory;
/// a `dest` ending in `/` is a directory the copy makes instead.
fn missing_directory(given: &str, dest: &Path, missing: bool, bytes: &[u8]) -> Option<Outcome> {
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty())?;
    if !missing || given.ends_with('/') {
        return None;
    }
    let why = match std::fs::metadata(parent) {
        Ok(_) => return None,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => "is not accessible",
        Err(_) => "does not exist",
    };
    let mut failed = Outcome::failed(format!("Destination directory {} {why}", parent.display()));
    failed.data.insert(
        "checksum".into(),
        Json::from(super::content::checksum(bytes)),
    );
    Some(failed)
}

/// A controller file shipped with the request, or, for one the controller could not know
/// before the run (written by an earlier task), read by the controller now.
pub(in crate::modules) fn shipped<'a>(
    module: &'static str,
    ctx: &Context<'a>,
    src: &str,
) -> Result<std::borrow::Cow<'a, FileContent>, ModuleError> {
    if let Some(file) = ctx.files.get(src) {
        return Ok(std::borrow::Cow::Borrowed(file));
    }
    let kind = if module == "template" {
        "templates"
    } else {
        "files"
    };
    let missing =
        |why: &str| ModuleError::Failed(format!("{module}: could not find or access `{src}`{why}"));
    let Some(table) = ctx.controller else {
        return Err(missing(""));
    };
    use crate::template::lookup::NoFile;
    match table.controller_file(kind, src) {
        Ok(values) => match values.into_iter().next() {
            Some(v) => serde_json::from_value::<FileContent>(v)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| missing(&format!(": {e}"))),
            None => Err(missing("")),
        },
        Err(NoFile::Pending(msg) | NoFile::Failed(msg)) => Err(missing(&format!(": {msg}"))),
    }
}

/// What a controller directory holds, and its files by the key they are known by.
type Tree = (crate::wire::TreeListing, BTreeMap<String, FileContent>);

/// The listing and files of `src` when it is a controller directory (copied recursively),
/// read by the controller when the task runs, as Ansible's copy action reads it. A file
/// `src` is shipped with the request, so only a source the request lacks is asked for.
fn controller_directory(ctx: &Context<'_>, args: &Json) -> Result<Option<Tree>, ModuleError> {
    let remote = args.get("remote_src").and_then(super::args::json_bool) == Some(true);
    if remote || args.get("content").is_some_and(|c| !c.is_null()) {
        return Ok(None);
    }
    let Some(src) = args.get("src").and_then(Json::as_str) else {
        return Ok(None);
    };
    let (Some(table), None) = (ctx.controller, ctx.files.get(src)) else {
        return Ok(None);
    };
    use crate::template::lookup::NoFile;
    let values = table.controller_file("tree", src).map_err(|e| match e {
        NoFile::Pending(msg) | NoFile::Failed(msg) => {
            ModuleError::Failed(format!("copy: could not find or access `{src}`: {msg}"))
        }
    })?;
    let mut values = values.into_iter();
    let Some(listing) = values.next() else {
        return Ok(None);
    };
    let bad = |e: serde_json::Error| ModuleError::Failed(format!("copy: `{src}`: {e}"));
    let listing = serde_json::from_value::<FileContent>(listing).map_err(bad)?;
    let Some(listing) = listing.listing() else {
        return Ok(None);
    };
    let mut files = BTreeMap::new();
    for value in values {
        let key = value
            .get("key")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        files.insert(
            key,
            serde_json::from_value::<FileContent>(value).map_err(bad)?,
        );
    }
    Ok(Some((listing, files)))
}

/// `copy` of a controller directory (see [`tree`]).
fn copy_tree(
    ctx: &Context<'_>,
    args: &Json,
    listing: crate::wire::TreeListing,
    files: BTreeMap<String, FileContent>,
) -> Result<Plan, ModuleError> {
    let mut args = args.clone();
    let preserve = args.get("mode").and_then(Json::as_str) == Some("preserve");
    if preserve && let Some(map) = args.as_object_mut() {
        map.remove("mode");
    }
    let spec: CopySpec = parse_args("copy", &args)?;
    // Without `local_follow` every symlink of the source is recreated as a link.
    let listing = match (spec.local_follow, listing) {
        (
            Some(false),
            crate::wire::TreeListing {
                no_follow: Some(own),
                ..
            },
        ) => *own,
        (_, listing) => listing,
    };
    tree::TreeCopy {
        src: spec.src.as_deref().unwrap_or_default(),
        dest: &spec.dest,
        listing,
        files,
        mode: spec.mode.as_ref(),
        preserve,
        directory_mode: spec.directory_mode.clone(),
        owner: spec.owner.clone(),
        group: spec.group.clone(),
        backup: spec.backup,
        validate: spec.validate.clone(),
    }
    .plan(ctx)
}

/// The permission bits of `src`: on the host with `remote_src`, else the controller file's.
fn source_mode(ctx: &Context<'_>, args: &Json) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    // Ansible's action writes `content` to a temporary file (`mkstemp`: 0600) and copies
    // that: its mode is what `preserve` keeps.
    if args.get("content").is_some_and(|c| !c.is_null()) {
        return Some(0o600);
    }
    let src = args.get("src")?.as_str()?;
    if args.get("remote_src").and_then(super::args::json_bool) == Some(true) {
        return std::fs::metadata(src)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777);
    }
    shipped("copy", ctx, src).ok()?.meta.as_ref()?.mode
}

/// `dest`, or `dest/<basename of src>` when `dest` is a directory (or ends in `/`).
pub(in crate::modules) fn destination(
    module: &'static str,
    dest: &str,
    src: Option<&str>,
) -> Result<PathBuf, ModuleError> {
    if dest.is_empty() {
        return Err(ArgsError::new(module, "`dest` is empty").into());
    }
    let into_dir = dest.ends_with('/') || Path::new(dest).is_dir();
    if !into_dir {
        return Ok(PathBuf::from(dest));
    }
    // Ansible's words (its action finds the directory on the host).
    let name = src
        .and_then(|s| Path::new(s).file_name())
        .ok_or_else(|| ModuleError::Failed("can not use content with a dir as dest".into()))?;
    Ok(Path::new(dest).join(name))
}

/// `content` that is not text, as Ansible's copy action writes it: a mapping or list as
/// `json.dumps` gives it, a boolean or number as Python's `str()` (`True`, `3.0`).
fn content_text(content: &Json) -> String {
    use crate::template::pyjson::{Style, dumps};
    match content {
        Json::Object(_) | Json::Array(_) => dumps(
            content,
            Style {
                indent: None,
                sort_keys: false,
            },
        ),
        Json::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Json::Number(n) if n.is_f64() => {
            crate::template::pyrepr::float_repr(n.as_f64().unwrap_or_default())
        }
        other => other.to_string(),
    }
}

mod ansible_diff;
mod dircmp;
mod host_fs;
mod host_tree;
#[cfg(test)]
mod tests;
mod tree;

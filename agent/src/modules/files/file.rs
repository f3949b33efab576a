//! `file`: state of a path — file, directory, absent, touch or link — and its attributes.
//!
//! Removal is guarded: `/`, an empty path and system directories are never removed
//! ([`guard`]), and a non-empty directory is removed only with the operator's consent
//! (the request's `consent`); without it the task fails naming the path and what it holds.

mod chattr;
mod guard;
mod hard;
mod result;
mod times;
mod tree;

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish};
use super::attrs::{self, AttrSpec, FileMode};
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::diff;
use crate::fsutil::{self, Attrs, Current};
use crate::wire::Diff;
use times::Stamp;

/// The `file` module.
pub struct File;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(alias = "dest", alias = "name", deserialize_with = "super::args::text")]
    path: String,
    state: Option<State>,
    src: Option<String>,
    mode: Option<FileMode>,
    owner: Option<Json>,
    group: Option<Json>,
    #[serde(default, deserialize_with = "bool_ish")]
    recurse: bool,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    force: Option<bool>,
    modification_time: Option<String>,
    #[serde(default = "default_time_format")]
    modification_time_format: String,
    access_time: Option<String>,
    #[serde(default = "default_time_format")]
    access_time_format: String,
    /// Ansible's default: a symlink's attributes are its target's.
    #[serde(default, deserialize_with = "opt_bool_ish")]
    follow: Option<bool>,
    /// `chattr` flags: `A`, `+A`, `-A`.
    #[serde(default, alias = "attr", deserialize_with = "super::args::opt_text")]
    attributes: Option<String>,
    /// Ansible's internal "is this file binary?" question (`appears_binary`).
    #[serde(default, rename = "_diff_peek", deserialize_with = "opt_bool_ish")]
    diff_peek: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    File,
    Directory,
    Absent,
    Touch,
    Link,
    Hard,
}

/// What is at a path now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Absent,
    File,
    Directory,
    Link,
}

impl Kind {
    fn of(path: &Path) -> Result<Kind, ModuleError> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => Ok(Kind::Link),
            Ok(m) if m.is_dir() => Ok(Kind::Directory),
            Ok(_) => Ok(Kind::File),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Kind::Absent),
            Err(e) => Err(ModuleError::io("cannot stat", path.display(), e)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Absent => "absent",
            Kind::File => "file",
            Kind::Directory => "directory",
            Kind::Link => "link",
        }
    }
}

/// One planned change, performed in order by [`Apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    /// `mkdir -p`, then the attributes of the last component.
    CreateDir(PathBuf),
    /// Create an empty file.
    CreateFile(PathBuf),
    /// Set the modification and access times.
    Times(PathBuf, Stamp, Stamp),
    /// `chattr ARG` (`+A`, `-A`, `=A`).
    Chattr(PathBuf, String),
    /// Remove a file, link or whole directory tree.
    Remove(PathBuf, Kind),
    /// Point a symlink at `target`, replacing what is there.
    Link(PathBuf, PathBuf),
    /// Make `path` another name of the file `src` (a hard link), replacing what is there.
    HardLink(PathBuf, PathBuf),
    /// Set mode/owner/group.
    Attrs(PathBuf, Attrs),
    /// Set a symlink's own owner/group (`lchown`).
    LinkOwner(PathBuf, Attrs),
}

impl Module for File {
    fn name(&self) -> &'static str {
        "file"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "unsafe_writes",
            "path",
            "dest",
            "name",
            "state",
            "src",
            "mode",
            "owner",
            "group",
            "recurse",
            "force",
            "modification_time",
            "modification_time_format",
            "access_time",
            "access_time_format",
            "follow",
            "_diff_peek",
            "attributes",
            "attr",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: FileSpec = parse_args("file", args)?;
        let warnings = if ctx.check_mode && spec.state != Some(State::Absent) {
            result::unknown_owner_warnings(spec.owner.as_ref(), spec.group.as_ref())
        } else {
            Vec::new()
        };
        match plan(ctx, spec, &warnings) {
            // A failure in check mode keeps the module's warnings (an unknown owner).
            Err(e) if !warnings.is_empty() => Ok(result::failed(e.to_string(), &[], &warnings)),
            other => other,
        }
    }
}

/// What a `file` task would change; `warnings` go into its result.
fn plan(ctx: &Context<'_>, spec: FileSpec, warnings: &[String]) -> Result<Plan, ModuleError> {
    // Before anything looks at the path: no state of the disk makes these removable.
    if spec.state == Some(State::Absent)
        && let Some(why) = guard::refusal(&spec.path)
    {
        return Err(ModuleError::Failed(why));
    }
    let mut path = PathBuf::from(&spec.path);
    let shown = spec.path.clone();
    if spec.diff_peek.is_some() {
        return Ok(Plan::done(diff_peek(&shown)));
    }
    let mut kind = Kind::of(&path)?;
    let given_state = result::prev_state(&path);
    let follow = spec.follow.unwrap_or(true);
    if kind == Kind::Link
        && matches!(
            spec.state,
            None | Some(State::File | State::Directory | State::Touch)
        )
    {
        // As Ansible: with `follow` (the default) a link stands for its target; without
        // it, the link's own attributes would change, which dr does not do yet.
        if follow {
            if let Ok(target) = fs::canonicalize(&path) {
                kind = Kind::of(&target)?;
                path = target;
            }
        } else if spec.mode.is_some() || spec.owner.is_some() || spec.group.is_some() {
            return Err(ModuleError::Failed(format!(
                "`{shown}` is a symlink and `follow: false` asks to change the link itself, which dr does not do yet"
            )));
        }
    }
    let state = spec.state.unwrap_or(if kind == Kind::Directory {
        State::Directory
    } else {
        State::File
    });
    let attr_spec = AttrSpec {
        mode: spec.mode.clone(),
        owner: spec.owner.clone(),
        group: spec.group.clone(),
    };
    if spec.src.is_some() && !matches!(state, State::Link | State::Hard) {
        return Err(
            ArgsError::new("file", "src option requires state to be 'link' or 'hard'").into(),
        );
    }
    if spec.recurse && state != State::Directory {
        return Err(
            ArgsError::new("file", "recurse option requires state to be 'directory'").into(),
        );
    }
    // As Ansible: `touch` sets both times to now unless told otherwise; the other
    // states keep them unless told.
    let default = if state == State::Touch {
        Stamp::Now
    } else {
        Stamp::Preserve
    };
    let mtime = Stamp::parse(
        spec.modification_time.as_deref(),
        &spec.modification_time_format,
        default,
    )?;
    let atime = Stamp::parse(
        spec.access_time.as_deref(),
        &spec.access_time_format,
        default,
    )?;
    if matches!(state, State::Link | State::Hard)
        && (mtime != Stamp::Preserve || atime != Stamp::Preserve)
    {
        return Err(ArgsError::new(
            "file",
            "`modification_time`/`access_time` on a link are not supported by dr",
        )
        .into());
    }
    let attributes = spec.attributes.as_deref();
    if attributes.is_some_and(|a| !a.trim_start_matches(['+', '-']).is_empty())
        && matches!(state, State::Link | State::Hard)
    {
        return Err(
            ArgsError::new("file", "`attributes` on a link are not supported by dr").into(),
        );
    }
    let mut changes = Vec::new();
    let mut diffs = Vec::new();
    let mut facts = result::DiffFacts::default();
    // Where `mode`/`owner`/`group` apply (a link's target for `state: link`).
    let mut attrs_target = path.clone();
    let mut dangerous = false;
    let mut note = None;
    let fail = |m: String| Err(ModuleError::Failed(m));
    match state {
        State::File => match kind {
            Kind::Absent | Kind::Directory => {
                let found = kind.name();
                let at = path.display().to_string();
                return Ok(result::failed(
                    format!("file ({at}) is {found}, cannot continue"),
                    &[("path", at.as_str()), ("state", found)],
                    warnings,
                ));
            }
            Kind::File | Kind::Link => {
                attr_changes(&path, &attr_spec, &mut changes, &mut diffs)?;
                times::plan(&path, true, mtime, atime, &mut changes, &mut diffs)?;
                chattr::plan(&path, true, attributes, &mut changes, &mut diffs)?;
            }
        },
        State::Directory => match kind {
            Kind::Absent => {
                diffs.push(diff::line(&shown, "state", "absent", "directory"));
                let wanted = match attr_spec.resolve("file", Some(0o755), true) {
                    Ok(wanted) => Some(wanted),
                    // As Ansible's check mode: an owner or group an earlier task of the
                    // play would create is a warning (above), and the directory a change.
                    Err(_) if ctx.check_mode && !warnings.is_empty() => None,
                    Err(e) => return Err(e),
                };
                // As Ansible: every directory this creates, parents included, gets the
                // requested mode and owner, top down.
                for dir in missing_ancestors(&path).into_iter().chain([path.clone()]) {
                    changes.push(Change::CreateDir(dir.clone()));
                    if let Some(wanted) = wanted.filter(attrs::any) {
                        changes.push(Change::Attrs(dir, wanted));
                    }
                }
                times::plan(&path, false, mtime, atime, &mut changes, &mut diffs)?;
                chattr::plan(&path, false, attributes, &mut changes, &mut diffs)?;
            }
            Kind::Directory => {
                attr_changes(&path, &attr_spec, &mut changes, &mut diffs)?;
                if spec.recurse {
                    recurse_changes(
                        &path,
                        &attr_spec,
                        follow,
                        &mut Vec::new(),
                        &mut changes,
                        &mut diffs,
                    )?;
                }
                times::plan(&path, true, mtime, atime, &mut changes, &mut diffs)?;
                chattr::plan(&path, true, attributes, &mut changes, &mut diffs)?;
            }
            _ => {
                let at = path.display().to_string();
                return Ok(result::failed(
                    format!("{at} already exists as a {}", result::prev_state(&path)),
                    &[("path", at.as_str())],
                    warnings,
                ));
            }
        },
        State::Absent => {
            if kind == Kind::Directory {
                let census = tree::Census::of(&path)
                    .map_err(|e| ModuleError::io("cannot list", &shown, e))?;
                if !census.is_empty() {
                    let what = format!(
                        "removes directory `{shown}` and everything in it ({})",
                        census.describe()
                    );
                    if !ctx.check_mode && !ctx.consent {
                        return fail(format!(
                            "refusing to remove the non-empty directory `{shown}` ({}) without consent: review it with `dr plan`, then run `dr apply --yes` (or answer the prompt on a terminal)",
                            census.describe()
                        ));
                    }
                    dangerous = true;
                    note = Some(what);
                }
            }
            if kind == Kind::Directory {
                facts.removed_dir = Some(path.clone());
            }
            if kind != Kind::Absent {
                diffs.push(diff::line(&shown, "state", kind.name(), "absent"));
                changes.push(Change::Remove(path.clone(), kind));
            }
        }
        State::Touch => match kind {
            Kind::Absent => {
                diffs.push(diff::line(&shown, "state", "absent", "file"));
                changes.push(Change::CreateFile(path.clone()));
                let wanted = attr_spec.resolve("file", Some(0o644), false)?;
                if attrs::any(&wanted) {
                    changes.push(Change::Attrs(path.clone(), wanted));
                }
                times::plan(&path, false, mtime, atime, &mut changes, &mut diffs)?;
                chattr::plan(&path, false, attributes, &mut changes, &mut diffs)?;
            }
            _ => {
                attr_changes(&path, &attr_spec, &mut changes, &mut diffs)?;
                times::plan(&path, true, mtime, atime, &mut changes, &mut diffs)?;
                chattr::plan(&path, true, attributes, &mut changes, &mut diffs)?;
            }
        },
        State::Link => {
            let current = match kind {
                Kind::Link => fs::read_link(&path).ok(),
                _ => None,
            };
            // As Ansible: no `src` keeps an existing link as it is.
            let src = match (&spec.src, &current) {
                (Some(src), _) => src.clone(),
                (None, Some(c)) => c.display().to_string(),
                (None, None) => {
                    return fail("src is required for creating new symlinks".into());
                }
            };
            let target = PathBuf::from(&src);
            let force = spec.force == Some(true);
            // A relative `src` is relative to the link's directory (to `path` itself
            // when that is a directory): it must exist unless `force`.
            let base = if kind == Kind::Directory {
                path.as_path()
            } else {
                fsutil::parent(&path)
            };
            let absrc = base.join(&target);
            if !force && !absrc.exists() {
                return fail(format!(
                    "src file does not exist, use 'force=yes' if you really want to create the link: {}",
                    absrc.display()
                ));
            }
            // The attributes asked for go to what the link points at (`follow`, the
            // default), once it exists; a Linux symlink has no mode of its own, so
            // without `follow` a mode changes nothing, as for Ansible there.
            if follow && absrc.exists() {
                attrs_target = absrc.clone();
                attr_changes(&absrc, &attr_spec, &mut changes, &mut diffs)?;
            }
            // Without `follow`, `owner`/`group` are the link's own (`lchown`).
            let link_owner = if follow {
                None
            } else {
                let owners = AttrSpec {
                    mode: None,
                    owner: spec.owner.clone(),
                    group: spec.group.clone(),
                };
                Some(owners.resolve("file", None, false)?)
            };
            match kind {
                Kind::Link if current.as_deref() == Some(target.as_path()) => {}
                Kind::Directory if !force => {
                    return fail(format!(
                        "refusing to convert from directory to symlink for {shown}"
                    ));
                }
                Kind::Directory if fs::read_dir(&path).is_ok_and(|mut d| d.next().is_some()) => {
                    return fail(format!(
                        "the directory {shown} is not empty, refusing to convert it"
                    ));
                }
                Kind::File if !force => {
                    return fail(format!(
                        "refusing to convert from {given_state} to symlink for {shown}"
                    ));
                }
                _ => {
                    if let Some(old) = &current {
                        facts.src = Some((old.display().to_string(), src.clone()));
                    }
                    let before = match (&current, kind) {
                        (Some(c), _) => format!("link to {}", c.display()),
                        (None, other) => other.name().to_owned(),
                    };
                    dangerous |= kind == Kind::File;
                    diffs.push(diff::line(
                        &shown,
                        "state",
                        &before,
                        &format!("link to {src}"),
                    ));
                    changes.push(Change::Link(path.clone(), target));
                }
            }
            if let Some(wanted) = link_owner.filter(attrs::any) {
                let own = match fs::symlink_metadata(&path) {
                    Ok(m) if m.file_type().is_symlink() && changes.is_empty() => {
                        use std::os::unix::fs::MetadataExt;
                        Some((m.uid(), m.gid()))
                    }
                    _ if ctx.check_mode => None,
                    // The link this run makes is the agent's until changed.
                    _ => Some((
                        rustix::process::geteuid().as_raw(),
                        rustix::process::getegid().as_raw(),
                    )),
                };
                if let Some((uid, gid)) = own {
                    let current = fsutil::Current {
                        mode: 0o777,
                        uid,
                        gid,
                    };
                    let (differ, d) = attrs::changes(&path, &current, wanted);
                    if attrs::any(&differ) {
                        diffs.extend(d);
                        changes.push(Change::LinkOwner(path.clone(), differ));
                    }
                }
            }
        }
        State::Hard
            if spec
                .src
                .as_deref()
                .is_some_and(|src| std::fs::metadata(src).is_err()) =>
        {
            let at = path.display().to_string();
            return Ok(result::failed(
                "src does not exist".to_owned(),
                &[
                    ("dest", at.as_str()),
                    ("src", spec.src.as_deref().unwrap_or_default()),
                ],
                warnings,
            ));
        }
        State::Hard => hard::plan(
            hard::Wanted {
                path: &path,
                shown: &shown,
                kind,
                src: spec.src.as_deref(),
                force: spec.force == Some(true),
                attrs: &attr_spec,
            },
            &mut changes,
            &mut diffs,
        )?,
    }
    // Ansible's result: `path` (the followed path) for file, directory and absent,
    // `dest` for links and touch; then what the path is now.
    // With no `state`, Ansible keeps what the path is: a symlink stays a link (its
    // attributes go to the target), reported as one.
    let implicit_link = spec.state.is_none() && given_state == "link";
    let (key, reported, prev, wanted) = match state {
        _ if implicit_link => ("dest", shown.clone(), given_state, "link".to_owned()),
        State::File | State::Directory => (
            "path",
            path.display().to_string(),
            result::prev_state(&path),
            state_key(state),
        ),
        State::Absent | State::Link | State::Hard | State::Touch => (
            if state == State::Absent {
                "path"
            } else {
                "dest"
            },
            shown.clone(),
            given_state,
            state_key(state),
        ),
    };
    let mut base = Map::new();
    base.insert(key.into(), Json::from(reported.clone()));
    if let Some(src) = &spec.src {
        base.insert("src".into(), Json::from(src.clone()));
    } else if implicit_link && let Ok(target) = fs::read_link(&shown) {
        base.insert("src".into(), Json::from(target.display().to_string()));
    }
    if state == State::Absent {
        base.insert("state".into(), Json::from("absent"));
    }
    // Nothing to remove: Ansible's result has no diff.
    let nothing_removed = state == State::Absent && prev == "absent";
    if ctx.diff_mode && !nothing_removed {
        base.insert(
            "diff".into(),
            result::diff(
                result::Subject {
                    path: &reported,
                    attrs_of: &attrs_target,
                    state: &wanted,
                    prev,
                },
                &changes,
                &facts,
                ctx.check_mode,
            ),
        );
    }
    if !warnings.is_empty() {
        base.insert("warnings".into(), Json::from(warnings.to_vec()));
    }
    let info_path = PathBuf::from(&reported);
    let mut data = base.clone();
    super::path_info::add(&mut data, &info_path);
    if changes.is_empty() {
        let mut outcome = Outcome::ok(format!("`{shown}` is already {}", state_name(state)));
        outcome.data = data;
        outcome.ansible_shape = true;
        return Ok(Plan::done(outcome));
    }
    let outcome = Outcome {
        changed: true,
        msg: note.unwrap_or_else(|| {
            diffs
                .iter()
                .map(|d| d.text.clone())
                .collect::<Vec<_>>()
                .join("; ")
        }),
        diffs,
        data,
        dangerous,
        ansible_shape: true,
        ..Outcome::default()
    };
    Ok(Plan::change(
        outcome,
        Apply {
            changes,
            base,
            info_path,
        },
    ))
}

/// `_diff_peek`: whether the file looks binary (a NUL in its first 8 KiB), as Ansible's
/// `execute_diff_peek` guesses; a file that cannot be read is text.
fn diff_peek(path: &str) -> Outcome {
    use std::io::Read as _;
    let mut head = Vec::new();
    let binary = fs::File::open(path)
        .and_then(|f| f.take(8192).read_to_end(&mut head))
        .is_ok_and(|_| head.contains(&0));
    let mut outcome = Outcome::ok(String::new());
    outcome.data.insert("path".into(), Json::from(path));
    outcome
        .data
        .insert("appears_binary".into(), Json::Bool(binary));
    outcome
}

/// A state as Ansible names it.
fn state_key(state: State) -> String {
    format!("{state:?}").to_ascii_lowercase()
}

fn default_time_format() -> String {
    times::DEFAULT_FORMAT.to_owned()
}

fn state_name(s: State) -> &'static str {
    match s {
        State::File => "a file with these attributes",
        State::Directory => "a directory with these attributes",
        State::Absent => "absent",
        State::Touch => "touched",
        State::Link => "the right link",
        State::Hard => "the right hard link",
    }
}

/// Plans attribute changes of an existing `path`.
fn attr_changes(
    path: &Path,
    spec: &AttrSpec,
    changes: &mut Vec<Change>,
    diffs: &mut Vec<Diff>,
) -> Result<(), ModuleError> {
    let current =
        Current::of(path).map_err(|e| ModuleError::io("cannot stat", path.display(), e))?;
    let wanted = spec.resolve("file", Some(current.mode), path.is_dir())?;
    let (delta, d) = attrs::changes(path, &current, wanted);
    if attrs::any(&delta) {
        changes.push(Change::Attrs(path.to_path_buf(), delta));
        diffs.extend(d);
    }
    Ok(())
}

/// Plans attribute changes of everything below `dir` (not following links).
/// `recurse`: the attributes of everything below `dir`. With `follow` (Ansible's
/// `recursive_set_attributes`), a symlink's target gets them too, and a linked directory's
/// content; without it links are left alone (a Linux link has no mode of its own).
fn recurse_changes(
    dir: &Path,
    spec: &AttrSpec,
    follow: bool,
    seen: &mut Vec<PathBuf>,
    changes: &mut Vec<Change>,
    diffs: &mut Vec<Diff>,
) -> Result<(), ModuleError> {
    // A directory reached twice through links (a cycle) is walked once.
    if let Ok(real) = fs::canonicalize(dir) {
        if seen.contains(&real) {
            return Ok(());
        }
        seen.push(real);
    }
    let entries =
        fs::read_dir(dir).map_err(|e| ModuleError::io("cannot list", dir.display(), e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        match Kind::of(&p)? {
            Kind::Directory => {
                attr_changes(&p, spec, changes, diffs)?;
                recurse_changes(&p, spec, follow, seen, changes, diffs)?;
            }
            Kind::File => attr_changes(&p, spec, changes, diffs)?,
            Kind::Link if follow => {
                let Ok(target) = fs::read_link(&p) else {
                    continue;
                };
                let target = fsutil::parent(&p).join(target);
                match Kind::of(&target) {
                    Ok(Kind::Directory) => {
                        recurse_changes(&target, spec, follow, seen, changes, diffs)?;
                        attr_changes(&target, spec, changes, diffs)?;
                    }
                    Ok(Kind::File) => attr_changes(&target, spec, changes, diffs)?,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The parents of `path` that do not exist yet, outermost first.
fn missing_ancestors(path: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|p| !p.as_os_str().is_empty() && fs::symlink_metadata(p).is_err())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

/// Performs the planned changes in order.
struct Apply {
    changes: Vec<Change>,
    /// The result's keys, before the path's attributes are read again.
    base: Map<String, Json>,
    info_path: PathBuf,
}

impl Action for Apply {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        for (i, change) in self.changes.iter().enumerate() {
            if let Err(e) = perform(change) {
                // As Ansible's `touch`: a file this run created goes when setting its
                // attributes fails (an owner the user may not give).
                for done in &self.changes[..i] {
                    if let Change::CreateFile(p) = done {
                        let _ = fs::remove_file(p);
                    }
                }
                return Err(e);
            }
        }
        let mut data = self.base;
        super::path_info::add(&mut data, &self.info_path);
        Ok(Outcome {
            changed: true,
            data,
            ansible_shape: true,
            ..Outcome::default()
        })
    }
}

fn perform(change: &Change) -> Result<(), ModuleError> {
    match change {
        Change::CreateDir(p) => fs::create_dir_all(p)
            .map_err(|e| ModuleError::io("cannot create directory", p.display(), e)),
        Change::CreateFile(p) => fsutil::write_atomic(p, b"", Attrs::default(), 0o644)
            .map_err(|e| ModuleError::io("cannot create", p.display(), e)),
        Change::Times(p, mtime, atime) => times::set(p, *mtime, *atime)
            .map_err(|e| ModuleError::io("cannot set the times of", p.display(), e)),
        Change::Chattr(p, arg) => chattr::set(p, arg),
        Change::Remove(p, kind) => {
            // Checked again right before the removal: the plan may be old.
            if let Some(why) = guard::refusal(&p.to_string_lossy()) {
                return Err(ModuleError::Failed(why));
            }
            match kind {
                Kind::Directory => fs::remove_dir_all(p),
                _ => fs::remove_file(p),
            }
            .map_err(|e| ModuleError::io("cannot remove", p.display(), e))
        }
        Change::Link(p, target) => replace_with_link(p, target),
        Change::HardLink(p, src) => hard::replace_with_hard_link(p, src),
        Change::Attrs(p, a) => fsutil::set_attrs(p, *a)
            .map_err(|e| ModuleError::io("cannot set attributes of", p.display(), e)),
        Change::LinkOwner(p, a) => std::os::unix::fs::lchown(p, a.uid, a.gid)
            .map_err(|e| ModuleError::io("cannot change the owner of", p.display(), e)),
    }
}

/// Creates the link under a temporary name and renames it over `path` (atomic).
fn replace_with_link(path: &Path, target: &Path) -> Result<(), ModuleError> {
    let dir = fsutil::parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.dr-link", std::process::id()));
    let _ = fs::remove_file(&tmp);
    // An empty directory in the way (`force`) goes first: a rename cannot replace it.
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        fs::remove_dir(path).map_err(|e| ModuleError::io("cannot remove", path.display(), e))?;
    }
    std::os::unix::fs::symlink(target, &tmp)
        .map_err(|e| ModuleError::io("cannot create link", tmp.display(), e))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        ModuleError::io("cannot rename link to", path.display(), e)
    })?;
    fsutil::sync_dir(dir).map_err(|e| ModuleError::io("cannot sync", dir.display(), e))
}

#[cfg(test)]
mod tests;

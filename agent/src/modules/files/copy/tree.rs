//! `copy` of a controller directory, as Ansible's copy action does it: `src: dir/` copies
//! what the directory holds into `dest`, `src: dir` the directory itself (`dest/dir/...`);
//! every file as a single `copy` (same comparison, mode, owner, backup, validate), every
//! directory created when missing, with `directory_mode` and the task's owner and group,
//! then every symlink the source keeps as a link as Ansible's action makes it: the `file`
//! module with `state: link`, `force`, `follow: false` and the task's owner and group.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::super::attrs::{self, AttrSpec, FileMode};
use super::super::content::FileWrite;
use super::super::{Action, Context, ModuleError, Outcome, Plan};
use crate::diff;
use crate::fsutil::{self, Attrs, Current};
use crate::wire::{FileContent, TreeListing};

/// What a directory copy is asked for.
pub(super) struct TreeCopy<'a> {
    pub src: &'a str,
    pub dest: &'a str,
    pub listing: TreeListing,
    /// The files of the listing, by `SRC/RELATIVE`.
    pub files: BTreeMap<String, FileContent>,
    pub mode: Option<&'a FileMode>,
    pub preserve: bool,
    pub directory_mode: Option<FileMode>,
    pub owner: Option<Json>,
    pub group: Option<Json>,
    pub backup: bool,
    pub validate: Option<String>,
}

impl TreeCopy<'_> {
    /// Plans every directory and file; one action performs them in that order.
    pub fn plan(self, ctx: &Context<'_>) -> Result<Plan, ModuleError> {
        let mut base = PathBuf::from(self.dest);
        let trimmed = self.src.trim_end_matches('/');
        if !self.src.ends_with('/') {
            base.push(Path::new(trimmed).file_name().unwrap_or_default());
        }
        let dir_attrs = AttrSpec {
            mode: self.directory_mode.clone(),
            owner: self.owner.clone(),
            group: self.group.clone(),
        };
        // Directories the files need (`dest` itself and up) are created when missing and
        // left as they are otherwise; those the source holds also get the attributes.
        let mut needed: BTreeSet<PathBuf> = BTreeSet::new();
        let links = self.listing.links.iter().map(|l| &l.path);
        for rel in self.listing.files.iter().chain(links) {
            let mut p = base.join(rel);
            while p.pop() && p.starts_with(self.dest) && p != Path::new(self.dest) {
                needed.insert(p.clone());
            }
        }
        needed.insert(PathBuf::from(self.dest));
        let listed: BTreeSet<PathBuf> = self.listing.dirs.iter().map(|d| base.join(d)).collect();
        let mut dirs = DirSteps::default();
        for dir in needed.iter().chain(listed.iter()).collect::<BTreeSet<_>>() {
            dirs.plan(dir, &dir_attrs, listed.contains(dir))?;
        }
        let mut files: Vec<Box<dyn Action>> = Vec::new();
        let mut diffs = std::mem::take(&mut dirs.diffs);
        for rel in &self.listing.files {
            let key = format!("{trimmed}/{rel}");
            let file: &FileContent = self.files.get(&key).ok_or_else(|| {
                ModuleError::Failed(format!("copy: could not find or access `{key}`"))
            })?;
            let mode = match (self.preserve, self.mode) {
                (true, _) => file.meta.as_ref().and_then(|m| m.mode).map(FileMode::Bits),
                (false, m) => m.cloned(),
            };
            let plan = FileWrite {
                module: "copy",
                path: base.join(rel),
                before: super::super::content::compare_current(
                    "copy",
                    &base.join(rel),
                    file.bytes(),
                )?,
                after: file.shared(),
                attrs: AttrSpec {
                    mode,
                    owner: self.owner.clone(),
                    group: self.group.clone(),
                },
                default_mode: 0o644,
                backup: self.backup,
                data: Map::new(),
                create_parents: false,
                msg: None,
                validate: self.validate.clone(),
                follow: false,
            }
            .plan()?;
            diffs.extend(plan.outcome.diffs);
            files.extend(plan.action);
        }
        for link in &self.listing.links {
            let mut args = Map::new();
            args.insert(
                "path".into(),
                Json::from(base.join(&link.path).display().to_string()),
            );
            args.insert("src".into(), Json::from(link.target.clone()));
            args.insert("state".into(), Json::from("link"));
            args.insert("force".into(), Json::Bool(true));
            args.insert("follow".into(), Json::Bool(false));
            for (key, value) in [("owner", &self.owner), ("group", &self.group)] {
                if let Some(v) = value {
                    args.insert(key.into(), v.clone());
                }
            }
            let plan =
                super::super::Module::check(&super::super::file::File, ctx, &Json::Object(args))?;
            if plan.outcome.failed {
                return Ok(Plan::done(plan.outcome));
            }
            diffs.extend(plan.outcome.diffs);
            files.extend(plan.action);
        }
        let mut data = Map::new();
        let shown_dest = format!("{}/", self.dest.trim_end_matches('/'));
        data.insert("dest".into(), Json::from(shown_dest.clone()));
        data.insert("src".into(), Json::from(self.src));
        let changed = !files.is_empty() || !dirs.steps.is_empty();
        if !changed {
            let mut outcome = Outcome::ok(format!("`{shown_dest}` is up to date"));
            outcome.data = data;
            return Ok(Plan::done(outcome));
        }
        let outcome = Outcome {
            changed: true,
            msg: format!(
                "would copy `{}` into `{shown_dest}` ({} file(s), {} directory step(s))",
                self.src,
                files.len(),
                dirs.steps.len()
            ),
            diffs,
            data: data.clone(),
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome,
            Apply {
                dirs: dirs.steps,
                files,
                data,
            },
        ))
    }
}

/// Directory creations and attribute changes, in order (parents first).
#[derive(Default)]
struct DirSteps {
    steps: Vec<DirStep>,
    diffs: Vec<crate::wire::Diff>,
}

enum DirStep {
    Create(PathBuf, Attrs),
    Attrs(PathBuf, Attrs),
}

impl DirSteps {
    fn plan(&mut self, dir: &Path, spec: &AttrSpec, listed: bool) -> Result<(), ModuleError> {
        let shown = dir.display().to_string();
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {
                if !listed {
                    return Ok(());
                }
                let current =
                    Current::of(dir).map_err(|e| ModuleError::io("cannot stat", &shown, e))?;
                let wanted = spec.resolve("copy", Some(current.mode), true)?;
                let (delta, d) = attrs::changes(dir, &current, wanted);
                if attrs::any(&delta) {
                    self.steps.push(DirStep::Attrs(dir.to_path_buf(), delta));
                    self.diffs.extend(d);
                }
            }
            Ok(_) => {
                return Err(ModuleError::Failed(format!(
                    "copy: `{shown}` exists and is not a directory"
                )));
            }
            Err(_) => {
                let wanted = spec.resolve("copy", Some(0o755), true)?;
                self.diffs
                    .push(diff::line(&shown, "state", "absent", "directory"));
                self.steps.push(DirStep::Create(dir.to_path_buf(), wanted));
            }
        }
        Ok(())
    }
}

/// Performs a directory copy.
struct Apply {
    dirs: Vec<DirStep>,
    files: Vec<Box<dyn Action>>,
    data: Map<String, Json>,
}

impl Action for Apply {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        for step in &self.dirs {
            match step {
                DirStep::Create(dir, attrs) => {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        ModuleError::io("cannot create directory", dir.display(), e)
                    })?;
                    fsutil::set_attrs(dir, *attrs).map_err(|e| {
                        ModuleError::io("cannot set attributes of", dir.display(), e)
                    })?;
                }
                DirStep::Attrs(dir, attrs) => fsutil::set_attrs(dir, *attrs)
                    .map_err(|e| ModuleError::io("cannot set attributes of", dir.display(), e))?,
            }
        }
        let count = self.files.len();
        for file in self.files {
            file.apply(ctx)?;
        }
        Ok(Outcome {
            changed: true,
            msg: format!("copied {count} file(s)"),
            data: self.data,
            ..Outcome::default()
        })
    }
}

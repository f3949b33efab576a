//! `find`: the paths under some directories that pass name, type, age, size, content and
//! mode tests, each with Ansible's `statinfo` keys. Reads only; never a change, so check
//! mode is the same run.
//!
//! Entries come in the order of Python's `os.walk` (top-down, a directory's files then its
//! subdirectories, each as the directory lists them), which is the order Ansible reports.
//! Symbolic `mode` values are refused.

mod filters;
mod spec;
pub(in crate::modules) mod walk;

use std::fs;
use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value as Json};

use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args, path_arg};
use filters::{Contains, NameFilter, PyRegex, os_error, statinfo};
use spec::{AgeStamp, Encoding, FileType, FindSpec};
use walk::{Level, Next, normpath, walk};

/// The `find` module.
pub struct Find;

impl Module for Find {
    fn name(&self) -> &'static str {
        "find"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "paths",
            "name",
            "path",
            "patterns",
            "pattern",
            "excludes",
            "exclude",
            "contains",
            "read_whole_file",
            "file_type",
            "age",
            "age_stamp",
            "size",
            "recurse",
            "hidden",
            "follow",
            "get_checksum",
            "checksum_algorithm",
            "checksum",
            "checksum_algo",
            "use_regex",
            "depth",
            "mode",
            "exact_mode",
            "encoding",
            "limit",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: FindSpec = parse_args("find", args)?;
        let search = match Search::resolve(spec, ctx) {
            Ok(search) => search,
            Err(Resolve::Refused(why)) => return Err(ArgsError::new("find", why).into()),
            Err(Resolve::Failed(outcome)) => return Ok(Plan::done(*outcome)),
        };
        Ok(Plan::done(search.run()))
    }
}

/// Why a spec does not become a search.
enum Resolve {
    /// Something this build does not do.
    Refused(String),
    /// What Ansible's module fails with.
    Failed(Box<Outcome>),
}

/// A spec resolved: paths expanded, patterns compiled, units applied.
struct Search {
    paths: Vec<String>,
    names: NameFilter,
    contains: Option<Contains>,
    file_type: FileType,
    /// Seconds; negative: younger than.
    age: Option<f64>,
    age_stamp: AgeStamp,
    /// Bytes; negative: at most.
    size: Option<i64>,
    recurse: bool,
    hidden: bool,
    follow: bool,
    checksum: Option<super::digest::Algorithm>,
    depth: Option<i64>,
    mode: Option<u32>,
    exact_mode: bool,
    limit: Option<usize>,
}

impl Search {
    fn resolve(spec: FindSpec, ctx: &Context<'_>) -> Result<Search, Resolve> {
        let fail = |msg: String, key: Option<(&str, &str)>| {
            let mut o = Outcome::failed(msg);
            if let Some((k, v)) = key {
                o.data.insert(k.into(), Json::from(v));
            }
            Resolve::Failed(Box::new(o))
        };
        let mode = match &spec.mode {
            None => None,
            Some(Json::String(s)) if s.is_empty() => None,
            Some(Json::String(s)) => Some(
                spec::octal(s).ok_or_else(|| {
                    Resolve::Refused(format!(
                        "symbolic `mode` `{s}` is not supported by `find`; give the mode in octal"
                    ))
                })? & 0o7777,
            ),
            Some(other) => {
                return Err(fail(
                    format!(
                        "argument 'mode' is not a string and conversion is not allowed, value is of type {}",
                        super::argspec::type_name(other)
                    ),
                    None,
                ));
            }
        };
        let regex = |p: &String, anchored| PyRegex::new(p, anchored).map_err(Resolve::Refused);
        let names = if spec.use_regex {
            let patterns = if spec.patterns.is_empty() {
                vec![".*".to_owned()]
            } else {
                spec.patterns.clone()
            };
            NameFilter::Regex {
                patterns: patterns
                    .iter()
                    .map(|p| regex(p, true))
                    .collect::<Result<_, _>>()?,
                excludes: spec
                    .excludes
                    .iter()
                    .map(|p| regex(p, true))
                    .collect::<Result<_, _>>()?,
            }
        } else {
            let patterns = if spec.patterns.is_empty() {
                vec!["*".to_owned()]
            } else {
                spec.patterns.clone()
            };
            NameFilter::Glob {
                patterns,
                excludes: spec.excludes.clone(),
            }
        };
        let age = match &spec.age {
            None => None,
            Some(text) => match spec::with_unit(text, spec::AGE_UNITS) {
                Some(n) => Some(n as f64),
                None => return Err(fail("failed to process age".into(), Some(("age", text)))),
            },
        };
        let size = match &spec.size {
            None => None,
            Some(text) => match spec::with_unit(text, spec::SIZE_UNITS) {
                Some(n) => Some(n),
                None => return Err(fail("failed to process size".into(), Some(("size", text)))),
            },
        };
        let limit = match spec.limit {
            None => None,
            Some(n) if n <= 0 => {
                return Err(fail(
                    format!("limit cannot be {n} (use None for unlimited)"),
                    None,
                ));
            }
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        };
        let contains = match &spec.contains {
            None => None,
            Some(pattern) => {
                let encoding = Encoding::named(spec.encoding.as_deref()).ok_or_else(|| {
                    Resolve::Refused(format!(
                        "`encoding` `{}` is not supported by `find` (utf-8, latin-1 and ascii are)",
                        spec.encoding.as_deref().unwrap_or_default()
                    ))
                })?;
                Some(Contains {
                    re: regex(pattern, !spec.read_whole_file)?,
                    whole_file: spec.read_whole_file,
                    encoding,
                    encoding_name: spec.encoding.clone(),
                })
            }
        };
        Ok(Search {
            paths: spec
                .paths
                .iter()
                .map(|p| path_arg::expand(p, ctx.environment))
                .collect(),
            names,
            contains,
            file_type: spec.file_type,
            age,
            age_stamp: spec.age_stamp,
            size,
            recurse: spec.recurse,
            hidden: spec.hidden,
            follow: spec.follow,
            checksum: spec.get_checksum.then_some(spec.checksum_algorithm),
            depth: spec.depth.filter(|d| *d != 0),
            mode,
            exact_mode: spec.exact_mode,
            limit,
        })
    }

    /// Walks every path and reports as Ansible's module does.
    fn run(&self) -> Outcome {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut found: Vec<Json> = Vec::new();
        let mut skipped = Map::new();
        let mut warnings: Vec<Json> = Vec::new();
        let mut examined = 0usize;
        let mut msg = "All paths examined";
        for npath in &self.paths {
            let mut state = Walk {
                search: self,
                npath,
                now,
                found: &mut found,
                skipped: &mut skipped,
                warnings: &mut warnings,
                examined: &mut examined,
                limit_reached: false,
            };
            let done = state.path();
            if state.limit_reached {
                msg = "Limit of matches reached";
            }
            if let Err(why) = done {
                warnings.push(Json::from(format!(
                    "Skipped '{npath}' path due to this access issue: {why}\n"
                )));
                skipped.insert(npath.clone(), Json::from(why));
            }
        }
        if !warnings.is_empty() {
            msg = "Not all paths examined, check warnings for details";
        }
        let mut o = Outcome::ok(msg);
        o.data.insert("matched".into(), Json::from(found.len()));
        o.data.insert("files".into(), Json::Array(found));
        o.data.insert("examined".into(), Json::from(examined));
        o.data.insert("skipped_paths".into(), Json::Object(skipped));
        if !warnings.is_empty() {
            o.data.insert("warnings".into(), Json::Array(warnings));
        }
        o
    }
}

/// One path's walk and what it adds to the result.
struct Walk<'a> {
    search: &'a Search,
    npath: &'a str,
    now: f64,
    found: &'a mut Vec<Json>,
    skipped: &'a mut Map<String, Json>,
    warnings: &'a mut Vec<Json>,
    examined: &'a mut usize,
    limit_reached: bool,
}

impl Walk<'_> {
    /// Walks `npath`; an error is what fails the whole path (Ansible's message).
    fn path(&mut self) -> Result<(), String> {
        if !fs::metadata(self.npath).is_ok_and(|m| m.is_dir()) {
            return Err(format!("'{}' is not a directory", self.npath));
        }
        let top = self.npath.as_bytes().to_vec();
        let follow = self.search.follow;
        let skipped = std::cell::RefCell::new(Vec::new());
        let mut on_error = |dir: &[u8], e: io::Error| -> Result<(), String> {
            let dir = String::from_utf8_lossy(dir).into_owned();
            match e.kind() {
                io::ErrorKind::PermissionDenied | io::ErrorKind::NotFound => {
                    let text = os_error(&e, &dir);
                    skipped.borrow_mut().push((dir, text));
                    Ok(())
                }
                _ => Err(os_error(&e, &dir)),
            }
        };
        let result = walk(
            top.as_slice(),
            follow,
            &mut |level| self.level(level),
            &mut on_error,
        );
        for (dir, text) in skipped.into_inner() {
            self.skipped.insert(dir, Json::from(text));
        }
        result.map(|_| ())
    }

    /// One directory's entries, files first, as Ansible's loop takes them.
    fn level(&mut self, level: &mut Level) -> Result<Next, String> {
        let s = self.search;
        *self.examined += level.files.len() + level.dirs.len();
        let entries: Vec<Vec<u8>> = level.files.iter().chain(&level.dirs).cloned().collect();
        for name in entries {
            let fsname = normpath(&walk::join(&level.root, &name));
            if let Some(max) = s.depth {
                let wpath = format!("{}/", self.npath.trim_end_matches('/'));
                let seps = fsname.iter().filter(|&&b| b == b'/').count() as i64;
                let depth = seps - wpath.matches('/').count() as i64 + 1;
                if depth > max {
                    level.dirs.clear();
                    continue;
                }
            }
            let base = fsname.rsplit(|&b| b == b'/').next().unwrap_or_default();
            if base.starts_with(b".") && !s.hidden {
                continue;
            }
            let shown = String::from_utf8_lossy(&fsname).into_owned();
            let meta = match fs::symlink_metadata(walk::path(&fsname)) {
                Ok(meta) => meta,
                Err(e) => {
                    self.warnings.push(Json::from(format!(
                        "Skipped entry '{shown}' due to access issue."
                    )));
                    self.skipped
                        .insert(shown.clone(), Json::from(os_error(&e, &shown)));
                    continue;
                }
            };
            if let Some(entry) = self.entry(&name, &shown, &meta)? {
                self.found.push(Json::Object(entry));
            }
            if s.limit == Some(self.found.len()) {
                self.limit_reached = true;
                return Ok(Next::Stop);
            }
        }
        Ok(if s.recurse { Next::Descend } else { Next::Stop })
    }

    /// The entry's result when it passes the tests for its type.
    fn entry(
        &self,
        name: &[u8],
        shown: &str,
        meta: &fs::Metadata,
    ) -> Result<Option<Map<String, Json>>, String> {
        use std::os::unix::fs::MetadataExt;
        let s = self.search;
        let ft = meta.file_type();
        let wanted = match s.file_type {
            FileType::Any => true,
            FileType::Directory => ft.is_dir(),
            FileType::File => ft.is_file(),
            FileType::Link => ft.is_symlink(),
        };
        let name = String::from_utf8_lossy(name);
        if !wanted || !s.names.accepts(&name) || !self.old_enough(meta) {
            return Ok(None);
        }
        let size_ok = match s.size {
            None => true,
            Some(n) if n >= 0 => meta.size() as i64 >= n,
            Some(n) => meta.size() as i64 <= -n,
        };
        if s.file_type == FileType::File {
            if !size_ok {
                return Ok(None);
            }
            if let Some(contains) = &s.contains
                && !contains.matches(shown, fs::read(walk::path(shown.as_bytes())))?
            {
                return Ok(None);
            }
        }
        if let Some(mode) = s.mode {
            let bits = meta.mode() & 0o7777;
            let ok = if s.exact_mode {
                bits == mode
            } else {
                bits & mode != 0
            };
            if !ok {
                return Ok(None);
            }
        }
        if s.file_type == FileType::Any && ft.is_file() && !size_ok {
            return Ok(None);
        }
        let mut r = Map::new();
        r.insert("path".into(), Json::from(shown));
        r.extend(statinfo(meta));
        if let Some(algorithm) = s.checksum
            && ft.is_file()
            && matches!(s.file_type, FileType::Any | FileType::File)
        {
            let sum = super::digest::of_file(walk::path(shown.as_bytes()), algorithm)
                .map_err(|e| os_error(&e, shown))?;
            r.insert("checksum".into(), Json::from(sum));
        }
        Ok(Some(r))
    }

    /// Ansible's `agefilter`.
    fn old_enough(&self, meta: &fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Some(age) = self.search.age else {
            return true;
        };
        let (sec, nsec) = match self.search.age_stamp {
            AgeStamp::Atime => (meta.atime(), meta.atime_nsec()),
            AgeStamp::Ctime => (meta.ctime(), meta.ctime_nsec()),
            AgeStamp::Mtime => (meta.mtime(), meta.mtime_nsec()),
        };
        let elapsed = self.now - (sec as f64 + nsec as f64 * 1e-9);
        if age >= 0.0 {
            elapsed >= age
        } else {
            elapsed <= -age
        }
    }
}

#[cfg(test)]
mod tests;

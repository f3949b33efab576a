//! `apt_repository`: add or remove a one-line apt source as Ansible's `apt_repository`
//! does, natively. The files are the ones apt reads (`Dir::Etc::sourcelist` and
//! `Dir::Etc::sourceparts`, asked of `apt-config` with the task's environment, so
//! `APT_CONFIG` applies); a new source goes to its own `<name>.list`. After a change the
//! apt cache is updated (`update_cache`, on by default); a failed update puts the files
//! back. PPAs (`ppa:...`) are refused: they need Launchpad and a signing key.

mod sources;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::apt::host::Host;
use super::args::{bool_ish, opt_text};
use super::attrs::FileMode;
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::diff;
use crate::fsutil::{self, Attrs};
use sources::{Line, Sources, suggest_filename};

/// The `apt_repository` module.
pub struct AptRepository;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default, deserialize_with = "opt_text")]
    repo: Option<String>,
    #[serde(default)]
    state: State,
    #[serde(default)]
    mode: Option<FileMode>,
    #[serde(
        default = "super::args::yes",
        alias = "update-cache",
        deserialize_with = "bool_ish"
    )]
    update_cache: bool,
    #[serde(default = "five")]
    update_cache_retries: u64,
    #[serde(default = "twelve")]
    update_cache_retry_max_delay: u64,
    #[serde(default, deserialize_with = "opt_text")]
    filename: Option<String>,
    /// Ansible installs python3-apt for itself; the native module needs no bindings.
    #[serde(default, rename = "install_python_apt", deserialize_with = "bool_ish")]
    _install_python_apt: bool,
    /// Used by Ansible for PPAs only, which dr refuses.
    #[serde(default, rename = "validate_certs", deserialize_with = "bool_ish")]
    _validate_certs: bool,
    /// Used by Ansible for PPAs only, which dr refuses.
    #[serde(default, rename = "codename", deserialize_with = "opt_text")]
    _codename: Option<String>,
}

fn five() -> u64 {
    5
}
fn twelve() -> u64 {
    12
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
}

/// apt's sources file and sources directory, as apt-config gives them.
fn source_paths(host: &Host<'_>) -> Result<(PathBuf, PathBuf), ModuleError> {
    let ran = host.run(
        "apt-config",
        &[
            "shell".into(),
            "SL".into(),
            "Dir::Etc::sourcelist/f".into(),
            "SP".into(),
            "Dir::Etc::sourceparts/d".into(),
        ],
    )?;
    let mut list = PathBuf::from("/etc/apt/sources.list");
    let mut parts = PathBuf::from("/etc/apt/sources.list.d");
    for line in ran.stdout.lines() {
        let value = |v: &str| PathBuf::from(v.trim_matches('\'').trim_end_matches('/'));
        if let Some(v) = line.strip_prefix("SL=") {
            list = value(v);
        } else if let Some(v) = line.strip_prefix("SP=") {
            parts = value(v);
        }
    }
    Ok((list, parts))
}

impl Module for AptRepository {
    fn name(&self) -> &'static str {
        "apt_repository"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "repo",
            "state",
            "mode",
            "update_cache",
            "update-cache",
            "update_cache_retries",
            "update_cache_retry_max_delay",
            "filename",
            "install_python_apt",
            "validate_certs",
            "codename",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: Spec = parse_args("apt_repository", args)?;
        let repo = spec.repo.clone().unwrap_or_default();
        if repo.is_empty() {
            return Ok(Plan::done(Outcome::failed(
                "Please set argument 'repo' to a non-empty value",
            )));
        }
        if repo.starts_with("ppa:") {
            return Err(ArgsError::new(
                "apt_repository",
                "PPA repositories (`ppa:...`) are not supported by dr; give the `deb` line and its key (see `deb822_repository`)",
            )
            .into());
        }
        let host = Host {
            env: ctx.environment,
            release: None,
        };
        let (list, parts) = source_paths(&host)?;
        let before = Sources::load(&list, &parts)
            .map_err(|e| ModuleError::io("cannot read", list.display(), e))?;
        let line = Line::parse(&repo);
        if !line.valid || !line.enabled {
            return Ok(Plan::done(Outcome::failed(format!(
                "Invalid repository string: {}",
                repo.trim().trim_start_matches('#')
            ))));
        }
        let mut after = before.clone();
        let mut new_file = None;
        match spec.state {
            State::Present => {
                let name = suggest_filename(&line.source, spec.filename.as_deref());
                let file = if name.contains('/') {
                    PathBuf::from(&name)
                } else {
                    parts.join(&name)
                };
                if after.add(&line.source, &file) {
                    new_file = Some(file);
                }
            }
            State::Absent => after.remove(&line.source),
        }
        let (dump_before, dump_after) = (before.dump(), after.dump());
        let changed = dump_before != dump_after;
        let names = |d: &[(PathBuf, String)]| -> Vec<PathBuf> {
            d.iter().map(|(p, _)| p.clone()).collect()
        };
        let (nb, na) = (names(&dump_before), names(&dump_after));
        let added: Vec<Json> = na
            .iter()
            .filter(|p| !nb.contains(p))
            .map(|p| Json::from(p.display().to_string()))
            .collect();
        let removed: Vec<Json> = nb
            .iter()
            .filter(|p| !na.contains(p))
            .map(|p| Json::from(p.display().to_string()))
            .collect();
        let mut data = Map::new();
        data.insert("repo".into(), Json::from(repo.clone()));
        data.insert(
            "sources_added".into(),
            Json::Array(if changed { added } else { Vec::new() }),
        );
        data.insert(
            "sources_removed".into(),
            Json::Array(if changed { removed } else { Vec::new() }),
        );
        data.insert(
            "state".into(),
            Json::from(match spec.state {
                State::Present => "present",
                State::Absent => "absent",
            }),
        );
        let outcome = Outcome {
            changed,
            data,
            diffs: files_diff(&dump_before, &dump_after),
            ..Outcome::default()
        };
        if !changed {
            return Ok(Plan::done(outcome));
        }
        Ok(Plan::change(
            outcome.clone(),
            Write {
                spec,
                before: dump_before,
                after: dump_after,
                new_file,
                outcome,
            },
        ))
    }
}

/// A unified diff per file whose text changes.
fn files_diff(before: &[(PathBuf, String)], after: &[(PathBuf, String)]) -> Vec<crate::wire::Diff> {
    let text = |d: &[(PathBuf, String)], p: &Path| {
        d.iter()
            .find(|(q, _)| q == p)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    let mut paths: Vec<&PathBuf> = before.iter().chain(after).map(|(p, _)| p).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter(|p| text(before, p) != text(after, p))
        .map(|p| diff::unified(&p.display().to_string(), &text(before, p), &text(after, p)))
        .collect()
}

/// The apply half: write every file as planned, update the cache.
struct Write {
    spec: Spec,
    before: Vec<(PathBuf, String)>,
    after: Vec<(PathBuf, String)>,
    /// The file a new source was appended to (`mode` applies to it).
    new_file: Option<PathBuf>,
    outcome: Outcome,
}

/// Writes `files` (through symbolic links to their targets) and removes `gone`.
fn save(files: &[(PathBuf, String)], gone: &[PathBuf]) -> Result<(), ModuleError> {
    for (path, text) in files {
        let target = std::fs::read_link(path)
            .map(|t| path.parent().map_or(t.clone(), |d| d.join(&t)))
            .unwrap_or_else(|_| path.clone());
        if std::fs::read(&target).ok().as_deref() == Some(text.as_bytes()) {
            continue;
        }
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ModuleError::io("cannot create", dir.display(), e))?;
        }
        fsutil::write_atomic(&target, text.as_bytes(), Attrs::default(), 0o644)
            .map_err(|e| ModuleError::io("cannot write", target.display(), e))?;
    }
    for path in gone {
        if path.exists() {
            std::fs::remove_file(path)
                .map_err(|e| ModuleError::io("cannot remove", path.display(), e))?;
        }
    }
    Ok(())
}

impl Action for Write {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let gone: Vec<PathBuf> = self
            .before
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| !self.after.iter().any(|(q, _)| q == p))
            .collect();
        save(&self.after, &gone)?;
        if let (Some(file), Some(mode)) = (&self.new_file, &self.spec.mode) {
            let current = std::fs::metadata(file)
                .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777)
                .unwrap_or(0o644);
            let bits = mode
                .resolve(current, false)
                .map_err(|e| ArgsError::new("apt_repository", e))?;
            std::fs::set_permissions(file, std::os::unix::fs::PermissionsExt::from_mode(bits))
                .map_err(|e| ModuleError::io("cannot set the mode of", file.display(), e))?;
        }
        if self.spec.update_cache {
            let host = Host {
                env: ctx.environment,
                release: None,
            };
            if let Err(why) = super::apt::update_cache(
                &host,
                self.spec.update_cache_retries,
                self.spec.update_cache_retry_max_delay,
            )? {
                let created: Vec<PathBuf> = self
                    .after
                    .iter()
                    .map(|(p, _)| p.clone())
                    .filter(|p| !self.before.iter().any(|(q, _)| q == p))
                    .collect();
                save(&self.before, &created)?;
                return Ok(Outcome::failed(why));
            }
        }
        Ok(self.outcome)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::AptRepository;
    use crate::modules::testutil::{Harness, snapshot};

    /// An apt configuration whose sources live in `dir`.
    fn harness(dir: &std::path::Path) -> Harness {
        let d = dir.display();
        std::fs::create_dir_all(dir.join("parts")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.join("apt.conf"),
            format!(
                "Dir::Etc::SourceList \"{d}/sources.list\";\nDir::Etc::SourceParts \"{d}/parts\";\n"
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut h = Harness::new();
        h.environment = vec![("APT_CONFIG".into(), format!("{d}/apt.conf"))];
        h
    }

    #[test]
    fn a_source_is_added_once_and_check_mode_writes_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let h = harness(dir.path());
        let args = json!({"repo": "deb http://deb.example.invalid/debian bookworm main", "update_cache": false});
        let before = snapshot(dir.path());
        let plan = h.check(&AptRepository, args.clone());
        assert!(plan.outcome.changed && plan.action.is_some());
        assert_eq!(snapshot(dir.path()), before, "check mode wrote something");
        let done = h.apply(&AptRepository, args.clone());
        assert!(done.changed, "{done:?}");
        let file = dir.path().join("parts/deb_example_invalid_debian.list");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}")),
            "deb http://deb.example.invalid/debian bookworm main\n"
        );
        let again = h.apply(&AptRepository, args);
        assert!(!again.changed, "{again:?}");
        let gone = h.apply(
            &AptRepository,
            json!({"repo": "deb http://deb.example.invalid/debian bookworm main", "state": "absent", "update_cache": false}),
        );
        assert!(gone.changed && !file.exists(), "{gone:?}");
        let err = h.check_err(&AptRepository, json!({"repo": "ppa:x/y"}));
        assert!(err.contains("PPA repositories"), "{err}");
    }
}

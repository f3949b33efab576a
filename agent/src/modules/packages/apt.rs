//! `apt`: Debian packages as Ansible's `apt` manages them, natively (no Python on the
//! host). State comes from `dpkg-query` and `apt-cache`; changes are made by `apt-get`
//! (and `dpkg -i` for `deb`) with the same command lines, results (`stdout`, `stderr`,
//! `cache_updated`, `cache_update_time`) and messages. Check mode runs apt-get with
//! `--simulate` and never updates the cache. The task's `environment` reaches every
//! program, so `APT_CONFIG` selects another apt configuration.

mod deb;
mod flow;
pub(in crate::modules) mod host;
mod policy_rc_d;
mod select;
mod spec;

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value as Json;

use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use flow::{CacheInfo, Run};
use host::Host;
use spec::AptSpec;

/// The `apt` module.
pub struct Apt;

const STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";
const LISTS: &str = "/var/lib/apt/lists";

/// The cache's modification time as Ansible reads it (the periodic job's success stamp,
/// else the lists directory; 0 when neither exists).
fn cache_time() -> u64 {
    [STAMP, LISTS]
        .iter()
        .find_map(|p| std::fs::metadata(Path::new(p)).ok())
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// Whether the cache is to be updated: asked for (`update_cache` or `cache_valid_time`)
/// and older than `cache_valid_time`.
fn wants_update(spec: &AptSpec, mtime: u64, now: u64) -> bool {
    asks_cache(spec) && mtime + spec.cache_valid_time < now
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Arguments Ansible refuses before running anything.
fn validate(spec: &AptSpec) -> Result<(), ArgsError> {
    let given: Vec<&str> = [
        ("deb", spec.deb.is_some()),
        ("package", !spec.package.is_null()),
        ("upgrade", spec.upgrade.is_some()),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| *n)
    .collect();
    if given.len() > 1 {
        return Err(ArgsError::new(
            "apt",
            "parameters are mutually exclusive: deb|package|upgrade",
        ));
    }
    let upgrade = spec.upgrade()?;
    let aptitude = Path::new("/usr/bin/aptitude").exists();
    if upgrade.is_some() && !spec.force_apt_get && aptitude {
        return Err(ArgsError::new(
            "apt",
            "this host has aptitude, which Ansible's apt uses for `upgrade`; dr runs apt-get only: set `force_apt_get: true`",
        ));
    }
    Ok(())
}

/// The cache step was asked for (`update_cache` or `cache_valid_time`).
fn asks_cache(spec: &AptSpec) -> bool {
    spec.update_cache == Some(true) || spec.cache_valid_time > 0
}

impl Module for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "state",
            "update_cache",
            "update-cache",
            "update_cache_retries",
            "update_cache_retry_max_delay",
            "cache_valid_time",
            "purge",
            "package",
            "pkg",
            "name",
            "deb",
            "default_release",
            "default-release",
            "install_recommends",
            "install-recommends",
            "force",
            "upgrade",
            "dpkg_options",
            "autoremove",
            "autoclean",
            "fail_on_autoremove",
            "policy_rc_d",
            "only_upgrade",
            "force_apt_get",
            "clean",
            "allow_unauthenticated",
            "allow-unauthenticated",
            "allow_downgrade",
            "allow-downgrade",
            "allow_downgrades",
            "allow-downgrades",
            "allow_change_held_packages",
            "lock_timeout",
            "auto_install_module_deps",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: AptSpec = parse_args("apt", args)?;
        validate(&spec)?;
        let mtime = cache_time();
        let update = wants_update(&spec, mtime, now());
        let action = AptAction { spec, update };
        let spec = &action.spec;
        if !ctx.check_mode && (update || spec.clean) {
            // The real run decides after the update (or clean), on the fresh cache.
            let outcome = Outcome {
                changed: true,
                msg: if update {
                    "would update the apt cache".into()
                } else {
                    "would clean the apt cache".into()
                },
                ..Outcome::default()
            };
            return Ok(Plan::change(outcome, action));
        }
        if spec.clean && nothing_else(spec)? {
            let outcome = Outcome {
                changed: true,
                ..Outcome::default()
            };
            return Ok(Plan::change(outcome, action));
        }
        let cache = CacheInfo {
            updated: update,
            time: mtime,
        };
        if asks_cache(spec) && nothing_else(spec)? {
            return Ok(if update {
                Plan::change(cache_result(cache), action)
            } else {
                Plan::done(cache_result(cache))
            });
        }
        let release = spec.default_release.clone();
        let host = Host {
            env: ctx.environment,
            release: release.as_deref(),
        };
        let outcome = Run {
            spec,
            host: &host,
            simulate: true,
            diff: ctx.diff,
        }
        .run(cache)
        .map(with_lines)?;
        let mark = !ctx.check_mode && !outcome.failed && marks_manual(spec, &host)?;
        if (outcome.changed || mark) && !outcome.failed {
            Ok(Plan::change(outcome, action))
        } else {
            Ok(Plan::done(outcome))
        }
    }
}

/// Whether a package named for installing is marked automatically installed: Ansible's
/// `apt` marks the named packages manual on every run (and reports no change for it).
fn marks_manual(spec: &AptSpec, host: &Host<'_>) -> Result<bool, ModuleError> {
    if matches!(spec.state, spec::State::Absent | spec::State::BuildDep) || spec.deb.is_some() {
        return Ok(false);
    }
    let mut args = vec!["showauto".to_owned()];
    args.extend(
        spec.packages()?
            .iter()
            .map(|p| select::split(p.trim()).0.to_owned())
            .filter(|n| !n.is_empty() && n != "*"),
    );
    if args.len() == 1 {
        return Ok(false);
    }
    let ran = host.run("apt-mark", &args)?;
    Ok(ran.ok() && !ran.stdout.trim().is_empty())
}

/// `stdout_lines` and `stderr_lines` beside `stdout` and `stderr`, as Ansible adds them.
fn with_lines(mut outcome: Outcome) -> Outcome {
    for (key, lines) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if let Some(Json::String(text)) = outcome.data.get(key) {
            let split: Vec<Json> = split_lines(text).into_iter().map(Json::from).collect();
            outcome.data.insert(lines.into(), Json::Array(split));
        }
    }
    outcome
}

/// Python's `str.splitlines()`: apt's dpkg output ends lines with `\r\n` and redraws
/// progress with `\r`, and each is a line break to Python.
fn split_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let breaks = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !breaks {
            continue;
        }
        out.push(&text[start..i]);
        start = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|(_, n)| *n == '\n') {
            chars.next();
            start += 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Nothing but the cache step was asked for.
fn nothing_else(spec: &AptSpec) -> Result<bool, ArgsError> {
    Ok(spec.package.is_null() && spec.upgrade()?.is_none() && spec.deb.is_none())
}

/// The result of a run that only looked after the cache.
fn cache_result(cache: CacheInfo) -> Outcome {
    let mut o = Outcome {
        changed: cache.updated,
        ..Outcome::default()
    };
    o.data
        .insert("cache_updated".into(), Json::Bool(cache.updated));
    o.data
        .insert("cache_update_time".into(), Json::from(cache.time));
    o
}

/// The apply half: clean, update the cache, then run for real.
struct AptAction {
    spec: AptSpec,
    /// Update the cache first.
    update: bool,
}

impl AptAction {
    /// The cache update, with the cache time before and after it.
    fn update_cache(&self, host: &Host<'_>) -> Result<Result<CacheInfo, Outcome>, ModuleError> {
        let before = cache_time();
        let spec = &self.spec;
        if let Err(why) = update_cache(
            host,
            spec.update_cache_retries,
            spec.update_cache_retry_max_delay,
        )? {
            return Ok(Err(Outcome::failed(why)));
        }
        let after = cache_time();
        Ok(Ok(CacheInfo {
            updated: after != before,
            time: after,
        }))
    }
}

/// `apt-get update`, tried `tries` times with Ansible's exponential backoff (capped at
/// `max_delay` seconds); the failure as Ansible words it.
pub(in crate::modules) fn update_cache(
    host: &Host<'_>,
    tries: u64,
    max_delay: u64,
) -> Result<Result<(), String>, ModuleError> {
    let mut err = String::new();
    for retry in 0..tries {
        let ran = host.run("apt-get", &["update".into(), "-q".into()])?;
        if ran.ok() {
            return Ok(Ok(()));
        }
        err = ran.why();
        if retry + 1 < tries {
            let delay = 2u64
                .saturating_pow(u32::try_from(retry).unwrap_or(u32::MAX))
                .min(max_delay);
            std::thread::sleep(Duration::from_secs(delay));
        }
    }
    let why = if err.is_empty() {
        "unknown reason".to_owned()
    } else {
        err
    };
    Ok(Err(format!(
        "Failed to update apt cache after {tries} retries: {why}"
    )))
}

impl Action for AptAction {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let spec = &self.spec;
        let host = Host {
            env: ctx.environment,
            release: spec.default_release.as_deref(),
        };
        if spec.clean {
            let ran = host.run("apt-get", &["clean".into()])?;
            if ran.rc != 0 || !ran.stderr.is_empty() {
                let mut o = Outcome::failed(if ran.rc != 0 {
                    "apt-get clean failed".to_owned()
                } else {
                    format!("apt-get clean failed: {}", ran.stderr)
                });
                o.data.insert("stdout".into(), ran.stdout.into());
                o.data.insert("rc".into(), ran.rc.into());
                return Ok(o);
            }
            if nothing_else(spec)? {
                let mut o = Outcome {
                    changed: true,
                    msg: ran.stdout.clone(),
                    ..Outcome::default()
                };
                o.data.insert("stdout".into(), ran.stdout.into());
                o.data.insert("stderr".into(), ran.stderr.into());
                return Ok(o);
            }
        }
        let mut cache = CacheInfo {
            updated: false,
            time: cache_time(),
        };
        if self.update {
            cache = match self.update_cache(&host)? {
                Ok(c) => c,
                Err(failed) => return Ok(failed),
            };
        }
        if asks_cache(spec) && nothing_else(spec)? {
            return Ok(cache_result(cache));
        }
        Run {
            spec,
            host: &host,
            simulate: false,
            diff: ctx.diff,
        }
        .run(cache)
        .map(with_lines)
    }
}

#[cfg(test)]
mod tests;

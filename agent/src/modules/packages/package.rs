//! `package`: install or remove Debian packages with apt. State comes from
//! `dpkg-query`; check mode lists what would be installed or removed (with apt's candidate
//! version when the cache knows it) and changes nothing, not even the apt cache.

mod cache;

use std::process::Command;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish};
use super::hostcmd;
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::wire::Diff;

/// The `package` module.
pub struct Package;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageSpec {
    #[serde(default, alias = "pkg")]
    name: Json,
    #[serde(default)]
    state: State,
    /// `apt-get update` before installing (only when something is to be installed).
    #[serde(default, deserialize_with = "bool_ish")]
    update_cache: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    purge: bool,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    install_recommends: Option<bool>,
    /// Update the cache only when it is older than this many seconds (implies
    /// `update_cache`).
    cache_valid_time: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    #[serde(alias = "installed")]
    Present,
    #[serde(alias = "removed")]
    Absent,
}

/// `name` or `name=version`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    name: String,
    version: Option<String>,
}

impl Wanted {
    fn arg(&self) -> String {
        match &self.version {
            Some(v) => format!("{}={v}", self.name),
            None => self.name.clone(),
        }
    }
}

impl Module for Package {
    fn name(&self) -> &'static str {
        "package"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "name",
            "pkg",
            "state",
            "update_cache",
            "purge",
            "install_recommends",
            "cache_valid_time",
        ]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: PackageSpec = parse_args("package", args)?;
        let update = cache::wants_update(spec.update_cache, spec.cache_valid_time, cache::age());
        if spec.name.is_null() {
            // A cache update alone (`apt: update_cache=yes`), as in Ansible: a change each
            // time, unless `cache_valid_time` finds the cache fresh.
            if spec.update_cache || spec.cache_valid_time.is_some() {
                if !update {
                    return Ok(Plan::done(Outcome::ok("the apt cache is fresh")));
                }
                let outcome = Outcome {
                    changed: true,
                    msg: "would update the apt cache".into(),
                    ..Outcome::default()
                };
                let todo = Vec::new();
                return Ok(Plan::change(outcome, Apt { spec, todo, update }));
            }
            return Err(ArgsError::new(
                "package",
                "`name` is required (or `update_cache: true` alone)",
            )
            .into());
        }
        let wanted = names(&spec.name)?;
        let mut installed = Map::new();
        let mut todo = Vec::new();
        let mut lines = Vec::new();
        for w in &wanted {
            let have = installed_version(&w.name)?;
            installed.insert(w.name.clone(), have.clone().map_or(Json::Null, Json::from));
            match (spec.state, &have, &w.version) {
                (State::Present, None, _) => {
                    lines.push(format!("install {}{}", w.arg(), candidate_note(w)));
                    todo.push(w.clone());
                }
                (State::Present, Some(v), Some(want)) if v != want => {
                    lines.push(format!("change {} {v} -> {want}", w.name));
                    todo.push(w.clone());
                }
                (State::Absent, Some(v), _) => {
                    let verb = if spec.purge { "purge" } else { "remove" };
                    lines.push(format!("{verb} {} {v}", w.name));
                    todo.push(w.clone());
                }
                _ => {}
            }
        }
        let mut data = Map::new();
        data.insert("installed".into(), Json::Object(installed));
        if todo.is_empty() {
            let names: Vec<String> = wanted.iter().map(|w| w.name.clone()).collect();
            let mut o = Outcome::ok(match spec.state {
                State::Present => format!("already installed: {}", names.join(", ")),
                State::Absent => format!("not installed: {}", names.join(", ")),
            });
            o.data = data;
            return Ok(Plan::done(o));
        }
        let outcome = Outcome {
            changed: true,
            msg: format!("would {}", lines.join(", ")),
            diffs: lines
                .iter()
                .map(|l| Diff {
                    target: "packages".into(),
                    text: l.clone(),
                })
                .collect(),
            data,
            ..Outcome::default()
        };
        Ok(Plan::change(outcome, Apt { spec, todo, update }))
    }
}

/// `name` as a string (comma-separated allowed) or a list.
fn names(v: &Json) -> Result<Vec<Wanted>, ArgsError> {
    let raw: Vec<String> = match v {
        Json::String(s) => s.split(',').map(|p| p.trim().to_owned()).collect(),
        Json::Array(items) => items
            .iter()
            .map(|i| match i {
                Json::String(s) => Ok(s.trim().to_owned()),
                other => Err(ArgsError::new(
                    "package",
                    format!("`name`: `{other}` is not a package name"),
                )),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(ArgsError::new(
                "package",
                format!("`name`: `{other}` is not a package name"),
            ));
        }
    };
    let mut out = Vec::new();
    for r in raw.into_iter().filter(|r| !r.is_empty()) {
        let (name, version) = match r.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (r.clone(), None),
        };
        let ok = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | ':'));
        if !ok || name.starts_with('-') {
            return Err(ArgsError::new(
                "package",
                format!("`{r}` is not a Debian package name"),
            ));
        }
        out.push(Wanted { name, version });
    }
    if out.is_empty() {
        return Err(ArgsError::new("package", "`name` lists no package"));
    }
    Ok(out)
}

/// The installed version of `name`, or `None` when it is not (fully) installed.
fn installed_version(name: &str) -> Result<Option<String>, ModuleError> {
    let ran = hostcmd::run(
        Command::new("dpkg-query").args(["-W", "-f", "${db:Status-Abbrev}\t${Version}", name]),
        &format!("`dpkg-query` for package `{name}`"),
    )?;
    if !ran.ok() {
        // "no packages found matching": not installed, never was.
        return Ok(None);
    }
    let mut parts = ran.stdout.splitn(2, '\t');
    let status = parts.next().unwrap_or("");
    let version = parts.next().unwrap_or("").trim();
    Ok(status.starts_with("ii").then(|| version.to_owned()))
}

/// ` (candidate 1.2-3)` from `apt-cache policy`, or a note that apt does not know it.
fn candidate_note(w: &Wanted) -> String {
    let ran = hostcmd::run(
        Command::new("apt-cache").args(["policy", &w.name]),
        "`apt-cache policy`",
    );
    let candidate = ran.ok().and_then(|r| {
        r.stdout.lines().find_map(|l| {
            l.trim()
                .strip_prefix("Candidate:")
                .map(|c| c.trim().to_owned())
        })
    });
    match candidate.as_deref() {
        Some("(none)") | None => " (not in the apt cache yet)".to_owned(),
        Some(c) if w.version.is_none() => format!(" (candidate {c})"),
        Some(_) => String::new(),
    }
}

/// The apply half: one `apt-get` run.
struct Apt {
    spec: PackageSpec,
    todo: Vec<Wanted>,
    /// `apt-get update` first (see [`cache::wants_update`]).
    update: bool,
}

impl Action for Apt {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let apt = |args: &[String]| {
            let mut c = Command::new("apt-get");
            c.env("DEBIAN_FRONTEND", "noninteractive").current_dir("/");
            c.args(args);
            hostcmd::run_ok(&mut c, &format!("`apt-get {}`", args.join(" ")))
        };
        if self.todo.is_empty() {
            apt(&["update".into(), "-q".into()])?;
            return Ok(Outcome {
                changed: true,
                msg: "updated the apt cache".into(),
                ..Outcome::default()
            });
        }
        let pkgs: Vec<String> = self.todo.iter().map(Wanted::arg).collect();
        let mut args: Vec<String> = vec!["-y".into(), "-q".into()];
        match self.spec.state {
            State::Present => {
                if self.update {
                    apt(&["update".into(), "-q".into()])?;
                }
                args.extend(
                    [
                        "-o",
                        "Dpkg::Options::=--force-confdef",
                        "-o",
                        "Dpkg::Options::=--force-confold",
                    ]
                    .map(String::from),
                );
                match self.spec.install_recommends {
                    Some(true) => args.push("--install-recommends".into()),
                    Some(false) => args.push("--no-install-recommends".into()),
                    None => {}
                }
                args.push("install".into());
            }
            State::Absent => {
                if self.spec.purge {
                    args.push("--purge".into());
                }
                args.push("remove".into());
            }
        }
        args.extend(pkgs.iter().cloned());
        apt(&args)?;
        let mut installed = Map::new();
        for w in &self.todo {
            let v = installed_version(&w.name)?;
            installed.insert(w.name.clone(), v.map_or(Json::Null, Json::from));
        }
        let mut data = Map::new();
        data.insert("installed".into(), Json::Object(installed));
        let verb = match self.spec.state {
            State::Present => "installed",
            State::Absent if self.spec.purge => "purged",
            State::Absent => "removed",
        };
        Ok(Outcome {
            changed: true,
            msg: format!("{verb}: {}", pkgs.join(", ")),
            data,
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Package;
    use crate::modules::testutil::Harness;

    // These tests never install or remove anything: only plans are checked.

    #[test]
    fn a_cache_update_alone_is_planned_and_a_fresh_cache_left_alone() {
        let h = Harness::new();
        let plan = h.check(&Package, json!({"update_cache": true}));
        assert!(
            plan.outcome.changed && plan.action.is_some(),
            "{}",
            plan.outcome.msg
        );
        assert_eq!(plan.outcome.msg, "would update the apt cache");
        // A cache valid for longer than the machine has existed is always fresh.
        let fresh = h.check(
            &Package,
            json!({"update_cache": true, "cache_valid_time": 4_000_000_000u64}),
        );
        if super::cache::age().is_some() {
            assert!(
                !fresh.outcome.changed && fresh.action.is_none(),
                "{}",
                fresh.outcome.msg
            );
        } else {
            assert!(
                fresh.outcome.changed,
                "an unknown cache age means an update"
            );
        }
        let err = h.check_err(&Package, json!({"state": "present"}));
        assert!(err.contains("`name` is required"), "{err}");
    }

    #[test]
    fn installed_package_is_ok_and_a_missing_one_would_be_installed() {
        let h = Harness::new();
        let ok = h.check(&Package, json!({"name": ["dpkg", "coreutils"]}));
        assert!(
            !ok.outcome.changed && ok.action.is_none(),
            "{}",
            ok.outcome.msg
        );
        assert_eq!(ok.outcome.msg, "already installed: dpkg, coreutils");
        assert!(ok.outcome.data["installed"]["dpkg"].is_string());

        let plan = h.check(&Package, json!({"name": "dpkg,dr-no-such-package-xyz"}));
        assert!(plan.outcome.changed && plan.action.is_some());
        assert_eq!(
            plan.outcome.msg,
            "would install dr-no-such-package-xyz (not in the apt cache yet)"
        );
        assert_eq!(
            plan.outcome.data["installed"]["dr-no-such-package-xyz"],
            json!(null)
        );
    }

    #[test]
    fn absent_and_pinned_versions_are_planned() {
        let h = Harness::new();
        let ok = h.check(
            &Package,
            json!({"name": "dr-no-such-package-xyz", "state": "absent"}),
        );
        assert!(!ok.outcome.changed, "{}", ok.outcome.msg);
        let rm = h.check(
            &Package,
            json!({"name": "dpkg", "state": "removed", "purge": true}),
        );
        assert!(
            rm.outcome.changed && rm.outcome.msg.starts_with("would purge dpkg "),
            "{}",
            rm.outcome.msg
        );
        let pin = h.check(&Package, json!({"name": "dpkg=0.0-dr"}));
        assert!(
            pin.outcome.msg.starts_with("would change dpkg ")
                && pin.outcome.msg.ends_with(" -> 0.0-dr"),
            "{}",
            pin.outcome.msg
        );
    }

    #[test]
    fn bad_names_are_rejected() {
        let h = Harness::new();
        assert!(
            h.check_err(&Package, json!({"name": "-oFoo=bar"}))
                .contains("not a Debian package name")
        );
        assert!(
            h.check_err(&Package, json!({"name": ""}))
                .contains("lists no package")
        );
        assert!(
            h.check_err(&Package, json!({"name": "x", "state": "latest"}))
                .contains("unknown variant")
        );
    }
}

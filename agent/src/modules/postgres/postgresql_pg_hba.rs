//! `postgresql_pg_hba` (community.postgresql 4.x): adds, changes and removes rules of a
//! `pg_hba.conf` file. A file module: no SQL, no connection.
//!
//! As the collection: a rule is `contype`, `databases`, `users`, `address` (`source`,
//! `src`; with `netmask` for a bare IP address), `method` and `options`; `databases` and
//! `users` lists make one rule per pair; a rule with the same type, database, user and
//! source is the same rule (changed when its method or options differ); `comment` alone
//! (no `contype`) is a comment line; with no `contype` and no `comment` the file is only
//! read. The file is re-sorted when it changes (`sort_rules`, on by default: comments
//! first, the most specific sources first, `include` lines last, empty lines dropped) and
//! written whole; `overwrite` replaces every rule; `create` makes a missing file; `backup`
//! (`backup_file`) copies the old file first. The result has `pg_hba` (the rules as
//! `{type, db, usr, src, method, options}`), `pg_hba_string`, `msgs`, `backup_file`; the
//! diff is the file's. `keep_comments_at_rules` does nothing, as in the collection. The
//! agent writes the file (keeping its owner and mode); with `become_user` a file it creates
//! belongs to that user.
//! `rules`/`rules_behavior` and the file attribute arguments (`mode`, `owner`, ...) are not
//! supported (refused when the playbook is read); neither is the older `order`.

mod rules;

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_text};
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::fsutil::{self, Attrs};
use rules::{Line, Rule};

/// The `postgresql_pg_hba` module.
pub struct PostgresqlPgHba;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HbaSpec {
    #[serde(default, deserialize_with = "opt_text")]
    dest: Option<String>,
    #[serde(
        default,
        alias = "source",
        alias = "src",
        deserialize_with = "opt_text"
    )]
    address: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    backup: bool,
    #[serde(default, deserialize_with = "opt_text")]
    backup_file: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    contype: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    comment: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    create: bool,
    #[serde(default, deserialize_with = "opt_text")]
    databases: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    method: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    netmask: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    options: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    #[allow(dead_code)]
    keep_comments_at_rules: bool,
    #[serde(default, deserialize_with = "opt_text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    users: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    overwrite: bool,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    sort_rules: bool,
}

const ARGS: &[&str] = &[
    "dest",
    "address",
    "source",
    "src",
    "backup",
    "backup_file",
    "contype",
    "comment",
    "create",
    "databases",
    "method",
    "netmask",
    "options",
    "keep_comments_at_rules",
    "state",
    "users",
    "overwrite",
    "sort_rules",
];

fn fail(m: impl Into<String>) -> ModuleError {
    ModuleError::Failed(m.into())
}

/// The task's rules: one per database and user.
fn wanted(spec: &HbaSpec) -> Result<Vec<(Line, bool)>, ModuleError> {
    let present = super::args::present(spec.state.as_deref()).map_err(fail)?;
    let Some(contype) = spec.contype.as_deref() else {
        return Ok(spec
            .comment
            .as_deref()
            .map(|c| vec![(Line::comment_line(c), present)])
            .unwrap_or_default());
    };
    let split = |s: &str| -> Vec<String> {
        if s.starts_with('"') {
            vec![s.to_owned()]
        } else {
            s.split(',').map(str::to_owned).collect()
        }
    };
    let dbs = split(spec.databases.as_deref().unwrap_or("all"));
    let users = split(spec.users.as_deref().unwrap_or("all"));
    let method = spec.method.as_deref().unwrap_or("md5");
    let mut out = Vec::new();
    for d in &dbs {
        for u in &users {
            for (what, v) in [("database", d), ("users", u)] {
                if rules::tokenize(v).map(|t| t.len()).unwrap_or(0) != 1 {
                    return Err(fail(format!("Invalid string for {what}: {v}")));
                }
            }
            let rule = Rule::new(
                contype,
                &rules::sorted_list(d),
                &rules::sorted_list(u),
                spec.address.as_deref().unwrap_or("samehost"),
                spec.netmask.as_deref(),
                method,
                spec.options.as_deref(),
            )
            .map_err(|e| fail(format!("Error modifying rules:\n{e}")))?;
            out.push((Line::rule(rule, spec.comment.clone()), present));
        }
    }
    Ok(out)
}

/// The rules as the result's `pg_hba` list.
fn as_dicts(lines: &[Line]) -> Json {
    Json::Array(
        lines
            .iter()
            .filter_map(|l| l.rule.as_ref())
            .map(|r| {
                let mut m = Map::new();
                m.insert("type".into(), Json::from(r.contype.clone()));
                m.insert("db".into(), Json::from(r.database.clone()));
                m.insert("usr".into(), Json::from(r.user.clone()));
                m.insert("method".into(), Json::from(r.method.clone()));
                if r.source != rules::Source::Local {
                    m.insert("src".into(), Json::from(r.source.to_string()));
                }
                if !r.options.is_empty() {
                    m.insert("options".into(), Json::from(r.options_text()));
                }
                Json::Object(m)
            })
            .collect(),
    )
}

impl Module for PostgresqlPgHba {
    fn name(&self) -> &'static str {
        "postgresql_pg_hba"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARGS
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: HbaSpec = parse_args("postgresql_pg_hba", args)?;
        let dest = PathBuf::from(
            spec.dest
                .clone()
                .ok_or_else(|| fail("missing required arguments: dest"))?,
        );
        let before = fsutil::read_optional(&dest)
            .map_err(|e| ModuleError::io("cannot read", dest.display(), e))?;
        let text = before
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let mut lines = match rules::parse(&text) {
            Ok(l) => l,
            Err(_) if spec.overwrite => Vec::new(),
            Err(e) => return Err(fail(format!("Error reading file:\n{e}"))),
        };
        if before.is_none() {
            lines.clear();
        }
        let want = wanted(&spec)?;
        let mut msgs: Vec<String> = Vec::new();
        let changed = if spec.overwrite {
            let mut new: Vec<Line> = want
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(l, _)| l)
                .collect();
            if spec.sort_rules {
                rules::sort(&mut new);
            }
            let same =
                new.len() == lines.len() && new.iter().zip(&lines).all(|(a, b)| a.identical(b));
            if !same {
                lines = new;
            }
            !same
        } else {
            let mut changed = false;
            for (rule, present) in want {
                let at = lines.iter().position(|l| l.same(&rule));
                match (present, at) {
                    (true, None) => {
                        msgs.push(format!("Adding rule {}", rule.render()));
                        lines.push(rule);
                        changed = true;
                    }
                    (true, Some(i)) if !lines[i].identical(&rule) => {
                        msgs.push(format!("Updating rule {}", rule.render()));
                        lines[i] = rule;
                        changed = true;
                    }
                    (false, Some(i)) => {
                        msgs.push(format!("Removing rule {}", rule.render()));
                        lines.remove(i);
                        changed = true;
                    }
                    _ => {}
                }
            }
            changed
        };
        if changed && spec.sort_rules {
            rules::sort(&mut lines);
        }
        let after = rules::render(&lines);
        let mut data = Map::new();
        data.insert("pg_hba".into(), as_dicts(&lines));
        data.insert("pg_hba_string".into(), Json::from(after.clone()));
        let shown = dest.display().to_string();
        if !changed {
            data.insert("msgs".into(), Json::from(msgs));
            let mut o = Outcome::ok(format!("{shown}: the rules are as asked"));
            o.data = data;
            return Ok(Plan::done(o));
        }
        if before.is_none() && !spec.create && !ctx.check_mode {
            return Err(fail(format!(
                "pg_hba file '{shown}' doesn't exist. Use the create option to autocreate."
            )));
        }
        msgs.push("Changed".into());
        data.insert("msgs".into(), Json::from(msgs.clone()));
        let diff = crate::diff::content(&shown, before.as_deref(), after.as_bytes());
        let mut o = Outcome {
            changed: true,
            msg: format!("would write {shown}: {}", msgs.join("; ")),
            data: data.clone(),
            ..Outcome::default()
        };
        if ctx.diff {
            o.diffs.push(diff.clone());
        }
        Ok(Plan::change(
            o,
            Write {
                dest,
                existed: before.is_some(),
                text: after,
                backup: spec.backup,
                backup_file: spec.backup_file,
                msgs,
                data,
                diff,
            },
        ))
    }
}

/// The file's new text, written in place of the old.
struct Write {
    dest: PathBuf,
    existed: bool,
    text: String,
    backup: bool,
    backup_file: Option<String>,
    msgs: Vec<String>,
    data: Map<String, Json>,
    diff: crate::wire::Diff,
}

impl Action for Write {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Write {
            dest,
            existed,
            text,
            backup,
            backup_file,
            mut msgs,
            mut data,
            diff,
        } = *self;
        let shown = dest.display().to_string();
        if backup && existed {
            msgs.push("Creating Backup".into());
            let file = match backup_file.filter(|b| !b.is_empty()) {
                Some(b) => {
                    std::fs::copy(&dest, &b)
                        .map_err(|e| fail(format!("Failed to create backup:\n{e}")))?;
                    b
                }
                None => fsutil::backup(&dest)
                    .map_err(|e| fail(format!("Failed to create backup:\n{e}")))?,
            };
            data.insert("backup_file".into(), Json::from(file));
        }
        msgs.push("Writing".into());
        // A file that exists keeps its owner; a new one belongs to the task's user (its
        // `become_user`, as Ansible would write it), else the agent's.
        let attrs = match ctx.become_user.filter(|_| !existed) {
            Some(u) => {
                let user = super::accounts::user_named(u)
                    .ok_or_else(|| fail(format!("become_user `{u}`: no such user on this host")))?;
                Attrs {
                    uid: Some(user.uid),
                    gid: Some(user.gid),
                    ..Attrs::default()
                }
            }
            None => Attrs::default(),
        };
        fsutil::write_atomic(&dest, text.as_bytes(), attrs, 0o644)
            .map_err(|e| fail(format!("Failed to write file:\n{e}")))?;
        data.insert("msgs".into(), Json::from(msgs));
        Ok(Outcome {
            changed: true,
            msg: format!("wrote {shown}"),
            data,
            diffs: if ctx.diff { vec![diff] } else { Vec::new() },
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests;

//! `deb822_repository`: an apt source in deb822 form, `/etc/apt/sources.list.d/<slug>.sources`,
//! written as Ansible's `deb822_repository` writes it: fields in the order of the
//! argument names, lists space-separated, booleans `yes`/`no`, a multi-line value (an
//! inline `signed_by` key) indented on the lines after its field. `signed_by` naming a
//! file is written as that path; a key URL is fetched and kept under `/etc/apt/keyrings`
//! (`signed_by.rs`).

mod signed_by;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{opt_bool_ish, opt_text};
use super::attrs::FileMode;
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::diff;
use crate::fsutil::{self, Attrs};

/// The `deb822_repository` module.
pub struct Deb822Repository;

const SOURCES_DIR: &str = "/etc/apt/sources.list.d";
const KEYRINGS_DIR: &str = "/etc/apt/keyrings";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default, deserialize_with = "opt_text")]
    name: Option<String>,
    #[serde(default)]
    state: State,
    #[serde(default)]
    mode: Option<FileMode>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    allow_downgrade_to_insecure: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    allow_insecure: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    allow_weak: Option<bool>,
    #[serde(default)]
    architectures: Json,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    by_hash: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    check_date: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    check_valid_until: Option<bool>,
    #[serde(default)]
    components: Json,
    #[serde(default, deserialize_with = "opt_text")]
    date_max_future: Option<String>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "opt_text")]
    inrelease_path: Option<String>,
    #[serde(default)]
    languages: Json,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    pdiffs: Option<bool>,
    #[serde(default, deserialize_with = "opt_text")]
    signed_by: Option<String>,
    #[serde(default)]
    suites: Json,
    #[serde(default)]
    targets: Json,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    trusted: Option<bool>,
    #[serde(default)]
    types: Json,
    #[serde(default)]
    uris: Json,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
}

/// Ansible's `type='list'` of strings: a list, or a comma-separated string.
fn list(key: &str, v: &Json) -> Result<Option<Vec<String>>, ArgsError> {
    match v {
        Json::Null => Ok(None),
        Json::String(s) => Ok(Some(s.split(',').map(|p| p.trim().to_owned()).collect())),
        Json::Array(items) => items
            .iter()
            .map(|i| match i {
                Json::String(s) => Ok(s.clone()),
                Json::Number(n) => Ok(n.to_string()),
                other => Err(ArgsError::new(
                    "deb822_repository",
                    format!("`{key}`: `{other}` is not a string"),
                )),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        other => Ok(Some(vec![other.to_string()])),
    }
}

/// The file-name slug of a repository name.
fn slug(name: &str) -> String {
    let lower = name.to_lowercase();
    let dashed = regex::Regex::new(r"[_\s]+")
        .map(|r| r.replace_all(&lower, "-").into_owned())
        .unwrap_or(lower);
    dashed
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect()
}

/// The deb822 field name of an argument.
fn field_name(key: &str) -> String {
    match key {
        "name" => "X-Repolib-Name".into(),
        "uris" => "URIs".into(),
        _ => {
            // Python's str.title() after `_` → `-`: upper after any non-letter.
            let mut out = String::new();
            let mut up = true;
            for c in key.replace('_', "-").chars() {
                out.push(if up { c.to_ascii_uppercase() } else { c });
                up = !c.is_ascii_alphabetic();
            }
            out
        }
    }
}

/// A multi-line value: on the lines after its field, indented, blank lines as `.`.
fn multiline(v: &str) -> String {
    let lines: Vec<String> = v
        .trim()
        .lines()
        .map(|l| {
            let t = l.trim();
            format!("    {}", if t.is_empty() { "." } else { t })
        })
        .collect();
    format!("\n{}", lines.join("\n"))
}

/// The file's text and the key file `signed_by` names (when it is a file), with the key
/// fetched from a `signed_by` URL (`url_key`: the file it is kept in).
fn render(
    spec: &Spec,
    url_key: Option<&signed_by::Key>,
) -> Result<(String, Option<String>), ModuleError> {
    let yes_no = |b: Option<bool>| b.map(|b| if b { "yes" } else { "no" }.to_owned());
    let joined = |k: &str, v: &Json| list(k, v).map(|l| l.map(|l| l.join(" ")));
    let types = list("types", &spec.types)?.unwrap_or_else(|| vec!["deb".into()]);
    if let Some(bad) = types
        .iter()
        .find(|t| !matches!(t.as_str(), "deb" | "deb-src"))
    {
        return Err(ArgsError::new(
            "deb822_repository",
            format!("value of types must be one or more of: deb, deb-src. Got no match for: {bad}"),
        )
        .into());
    }
    let mut key_file = None;
    let signed_by = match &spec.signed_by {
        Some(_) if url_key.is_some() => {
            let path = url_key.map(|k| k.path.clone());
            key_file = path.clone();
            path
        }
        Some(v) if Path::new(v).is_file() => {
            key_file = Some(v.clone());
            Some(v.clone())
        }
        other => other.clone(),
    };
    // In the order of the argument names, as Ansible sorts them.
    let fields: Vec<(&str, Option<String>)> = vec![
        (
            "allow_downgrade_to_insecure",
            yes_no(spec.allow_downgrade_to_insecure),
        ),
        ("allow_insecure", yes_no(spec.allow_insecure)),
        ("allow_weak", yes_no(spec.allow_weak)),
        (
            "architectures",
            joined("architectures", &spec.architectures)?,
        ),
        ("by_hash", yes_no(spec.by_hash)),
        ("check_date", yes_no(spec.check_date)),
        ("check_valid_until", yes_no(spec.check_valid_until)),
        ("components", joined("components", &spec.components)?),
        ("date_max_future", spec.date_max_future.clone()),
        ("enabled", yes_no(spec.enabled)),
        ("inrelease_path", spec.inrelease_path.clone()),
        ("languages", joined("languages", &spec.languages)?),
        ("name", spec.name.clone()),
        ("pdiffs", yes_no(spec.pdiffs)),
        ("signed_by", signed_by),
        ("suites", joined("suites", &spec.suites)?),
        ("targets", joined("targets", &spec.targets)?),
        ("trusted", yes_no(spec.trusted)),
        ("types", Some(types.join(" "))),
        ("uris", joined("uris", &spec.uris)?),
    ];
    let mut text = String::new();
    for (key, value) in fields {
        let Some(mut value) = value else { continue };
        if value.contains('\n') {
            value = multiline(&value);
        }
        let sep = if value.is_empty() || value.starts_with('\n') {
            ":"
        } else {
            ": "
        };
        text.push_str(&format!("{}{sep}{value}\n", field_name(key)));
    }
    Ok((text, key_file))
}

impl Module for Deb822Repository {
    fn name(&self) -> &'static str {
        "deb822_repository"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "name",
            "state",
            "mode",
            "allow_downgrade_to_insecure",
            "allow_insecure",
            "allow_weak",
            "architectures",
            "by_hash",
            "check_date",
            "check_valid_until",
            "components",
            "date_max_future",
            "enabled",
            "inrelease_path",
            "languages",
            "pdiffs",
            "signed_by",
            "suites",
            "targets",
            "trusted",
            "types",
            "uris",
        ]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: Spec = parse_args("deb822_repository", args)?;
        let Some(name) = spec.name.clone() else {
            return Err(
                ArgsError::new("deb822_repository", "missing required arguments: name").into(),
            );
        };
        let slug = slug(&name);
        let dest = format!("{SOURCES_DIR}/{slug}.sources");
        let mut data = Map::new();
        data.insert("dest".into(), Json::from(dest.clone()));
        if spec.state == State::Absent {
            let keys: Vec<String> = ["asc", "gpg"]
                .iter()
                .map(|e| format!("{KEYRINGS_DIR}/{slug}.{e}"))
                .collect();
            let mut gone: Vec<String> = Vec::new();
            for p in std::iter::once(&dest).chain(&keys) {
                if Path::new(p).exists() {
                    gone.push(p.clone());
                }
            }
            data.insert("repo".into(), Json::Null);
            data.insert("key_filename".into(), Json::from(keys[1].clone()));
            let outcome = Outcome {
                changed: !gone.is_empty(),
                data,
                diffs: gone
                    .iter()
                    .map(|p| crate::wire::Diff {
                        target: p.clone(),
                        text: "state file -> absent".into(),
                    })
                    .collect(),
                ..Outcome::default()
            };
            if gone.is_empty() {
                return Ok(Plan::done(outcome));
            }
            return Ok(Plan::change(outcome.clone(), Remove { gone, outcome }));
        }
        let url_key = match spec.signed_by.as_deref() {
            Some(url) if !Path::new(url).is_file() && signed_by::is_url(url) => {
                signed_by::fetch(url, &slug, Path::new(KEYRINGS_DIR))
                    .map_err(ModuleError::Failed)?
            }
            _ => None,
        };
        let (text, key_file) = render(&spec, url_key.as_ref())?;
        data.insert("repo".into(), Json::from(text.clone()));
        data.insert(
            "key_filename".into(),
            key_file.map_or(Json::Null, Json::from),
        );
        let current = std::fs::read(&dest).ok();
        let current_mode = std::fs::metadata(&dest)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777);
        let mode = spec
            .mode
            .clone()
            .unwrap_or(FileMode::Bits(0o644))
            .resolve(current_mode.unwrap_or(0o644), false)
            .map_err(|e| ArgsError::new("deb822_repository", e))?;
        let write = current.as_deref() != Some(text.as_bytes());
        let chmod = current_mode.is_some_and(|m| m != mode);
        let mut diffs = Vec::new();
        if let Some(key) = &url_key {
            if key.write.is_some() {
                diffs.push(crate::wire::Diff {
                    target: key.path.clone(),
                    text: "the key fetched from `signed_by`".into(),
                });
            } else if key.chmod {
                diffs.push(crate::wire::Diff {
                    target: key.path.clone(),
                    text: "mode -> 0644".into(),
                });
            }
        }
        let key_changes = url_key
            .as_ref()
            .is_some_and(|k| k.write.is_some() || k.chmod);
        if write {
            let before = current
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            diffs.push(diff::unified(&dest, &before, &text));
        }
        if chmod {
            diffs.push(crate::wire::Diff {
                target: dest.clone(),
                text: format!("mode {:04o} -> {mode:04o}", current_mode.unwrap_or(0)),
            });
        }
        let outcome = Outcome {
            changed: write || chmod || key_changes,
            data,
            diffs,
            ..Outcome::default()
        };
        if !outcome.changed {
            let mut outcome = outcome;
            super::path_info::add(&mut outcome.data, Path::new(&dest));
            return Ok(Plan::done(outcome));
        }
        Ok(Plan::change(
            outcome.clone(),
            Write {
                dest,
                text: write.then_some(text),
                mode,
                key: url_key.filter(|_| key_changes),
                outcome,
            },
        ))
    }
}

/// Writes the sources file and sets its mode.
struct Write {
    dest: String,
    text: Option<String>,
    mode: u32,
    /// The key fetched from a `signed_by` URL, when its file changes.
    key: Option<signed_by::Key>,
    outcome: Outcome,
}

impl Action for Write {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        if let Some(key) = &self.key {
            let key_path = Path::new(&key.path);
            if let Some(dir) = key_path.parent()
                && !dir.is_dir()
            {
                std::fs::create_dir_all(dir)
                    .and_then(|()| {
                        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
                    })
                    .map_err(|e| ModuleError::io("cannot create", dir.display(), e))?;
            }
            if let Some(bytes) = &key.write {
                fsutil::write_atomic(key_path, bytes, Attrs::default(), 0o644)
                    .map_err(|e| ModuleError::io("cannot write", &key.path, e))?;
            }
            std::fs::set_permissions(key_path, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| ModuleError::io("cannot set the mode of", &key.path, e))?;
        }
        let path = Path::new(&self.dest);
        if let Some(text) = &self.text {
            fsutil::write_atomic(path, text.as_bytes(), Attrs::default(), 0o644)
                .map_err(|e| ModuleError::io("cannot write", &self.dest, e))?;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(self.mode))
            .map_err(|e| ModuleError::io("cannot set the mode of", &self.dest, e))?;
        let mut outcome = self.outcome;
        super::path_info::add(&mut outcome.data, path);
        Ok(outcome)
    }
}

/// Removes the sources file and the repository's key files.
struct Remove {
    gone: Vec<String>,
    outcome: Outcome,
}

impl Action for Remove {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        for p in &self.gone {
            std::fs::remove_file(p).map_err(|e| ModuleError::io("cannot remove", p, e))?;
        }
        Ok(self.outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fields_and_values_are_written_as_ansibles() {
        assert_eq!(slug("My Repo_x.y"), "my-repo-xy");
        assert_eq!(field_name("check_valid_until"), "Check-Valid-Until");
        assert_eq!(field_name("uris"), "URIs");
        assert_eq!(field_name("name"), "X-Repolib-Name");
        assert_eq!(multiline("a\n\n b \n"), "\n    a\n    .\n    b");
    }

    #[test]
    fn a_spec_renders_in_argument_order() {
        let spec: Spec = parse_args(
            "deb822_repository",
            &serde_json::json!({
                "name": "example", "uris": "http://deb.example.com/debian",
                "suites": ["stable"], "components": "main,contrib",
                "enabled": false, "signed_by": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----"
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (text, key) = render(&spec, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            text,
            "Components: main contrib\nEnabled: no\nX-Repolib-Name: example\nSigned-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    abc\n    -----END PGP PUBLIC KEY BLOCK-----\nSuites: stable\nTypes: deb\nURIs: http://deb.example.com/debian\n"
        );
        assert_eq!(key, None);
        // A key fetched from a URL: its file is the field's value.
        let spec: Spec = parse_args(
            "deb822_repository",
            &serde_json::json!({"name": "docker", "uris": "https://x", "signed_by": "https://x/gpg"}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let fetched = signed_by::Key {
            path: "/etc/apt/keyrings/docker.asc".into(),
            write: None,
            chmod: false,
        };
        let (text, key) = render(&spec, Some(&fetched)).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text.contains("Signed-By: /etc/apt/keyrings/docker.asc\n"),
            "{text}"
        );
        assert_eq!(key.as_deref(), Some("/etc/apt/keyrings/docker.asc"));
    }
}

#[cfg(test)]
mod check_tests {
    use serde_json::json;

    use super::Deb822Repository;
    use crate::modules::testutil::Harness;

    #[test]
    fn check_mode_plans_the_file_and_writes_nothing() {
        let h = Harness::new();
        let dest = "/etc/apt/sources.list.d/dr-unit-never-written.sources";
        let plan = h.check(
            &Deb822Repository,
            json!({"name": "dr unit never written", "uris": "http://x.invalid", "suites": "s"}),
        );
        assert!(plan.outcome.changed && plan.action.is_some());
        assert_eq!(plan.outcome.data["dest"], json!(dest));
        assert_eq!(
            plan.outcome.data["repo"],
            json!(
                "X-Repolib-Name: dr unit never written\nSuites: s\nTypes: deb\nURIs: http://x.invalid\n"
            )
        );
        assert!(!std::path::Path::new(dest).exists());
        let gone = h.check(
            &Deb822Repository,
            json!({"name": "dr unit never written", "state": "absent"}),
        );
        assert!(!gone.outcome.changed && gone.action.is_none());
        let err = h.check_err(&Deb822Repository, json!({"uris": "http://x.invalid"}));
        assert!(err.contains("missing required arguments: name"), "{err}");
    }
}

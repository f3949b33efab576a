//! `fetch`: a file from the host, written on the controller, as Ansible's `fetch` action:
//! `dest/<inventory_hostname>/<src>`, or with `flat` `dest` itself (`dest/` + the file's
//! name for a `dest` ending in `/`); a relative `dest` is under the playbook's directory.
//! The agent reads the file and the engine hands it to the controller on the live
//! connection ([`crate::wire::SyncPoint::Fetch`]), which writes it if its checksum differs.
//! Check mode skips it, as Ansible does.

use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use sha1::Digest as _;

use super::args::bool_ish;
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};

/// Where the engine finds what to hand to the controller, in the module's result.
pub const HANDOFF: &str = "_dr_fetch";

/// The key, in a `fetch` task's arguments, holding the bridged `slurp` that a `library/`
/// of the play provides ([`super::bridge::Call`]): under `become` Ansible's action reads
/// the file with `ansible.legacy.slurp`, which such a module replaces.
pub const SLURP_KEY: &str = "_dr_slurp";

/// The `fetch` module.
pub struct Fetch;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FetchSpec {
    src: String,
    dest: String,
    #[serde(default, deserialize_with = "bool_ish")]
    flat: bool,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    fail_on_missing: bool,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    validate_checksum: bool,
}

impl Module for Fetch {
    fn name(&self) -> &'static str {
        "fetch"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "src",
            "dest",
            "flat",
            "fail_on_missing",
            "validate_checksum",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let mut args = args.clone();
        let slurp = args
            .as_object_mut()
            .and_then(|m| m.remove(SLURP_KEY))
            .and_then(|c| serde_json::from_value::<super::bridge::Call>(c).ok());
        let args = &args;
        if !ctx.check_mode {
            validate(args)?;
        }
        let spec: FetchSpec = parse_args("fetch", args)?;
        let var = |name: &str| {
            ctx.scope
                .vars()
                .get(name)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let dest = destination(&spec, &var("inventory_hostname"), &var("playbook_dir"))?;
        let outcome = Outcome {
            skipped: true,
            msg: "check mode not (yet) supported for this module".into(),
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome,
            Run {
                spec,
                dest,
                escalated: ctx.escalated,
                slurp,
            },
        ))
    }
}

/// Ansible's action checks `src` and `dest` before the module's own: each must be a
/// string, and both are required (the last failing check names the failure).
fn validate(args: &Json) -> Result<(), ModuleError> {
    let arg = |k: &str| args.get(k).filter(|v| !v.is_null());
    let mut msg = None;
    if arg("src").is_some_and(|v| !v.is_string()) {
        msg = Some("Invalid type supplied for source option, it must be a string");
    }
    if arg("dest").is_some_and(|v| !v.is_string()) {
        msg = Some("Invalid type supplied for dest option, it must be a string");
    }
    if arg("src").is_none() || arg("dest").is_none() {
        msg = Some("src and dest are required");
    }
    match msg {
        Some(m) => Err(ModuleError::Failed(m.into())),
        None => Ok(()),
    }
}

/// What a `flat` destination that is an existing directory on the controller fails with,
/// in Ansible's words (`dest` as written, or the file name added to it).
fn directory_message(spec: &FetchSpec, dest: &Path) -> Option<String> {
    if !spec.flat {
        return None;
    }
    if !spec.dest.ends_with('/') {
        return Some(
            "dest is an existing directory, use a trailing slash if you want to fetch src into that directory"
                .into(),
        );
    }
    let calculated = if spec.dest.starts_with('/') {
        dest.display().to_string()
    } else {
        let name = Path::new(&spec.src).file_name().unwrap_or_default();
        format!("{}{}", spec.dest, name.to_string_lossy())
    };
    Some(format!(
        "calculated dest '{calculated}' is an existing directory, use another path that does not point to an existing directory"
    ))
}

/// The file's path on the controller, as Ansible's `fetch` computes it.
fn destination(spec: &FetchSpec, host: &str, playbook_dir: &str) -> Result<PathBuf, ModuleError> {
    let base = |d: &str| {
        if d.starts_with('/') {
            PathBuf::from(d)
        } else {
            Path::new(playbook_dir).join(d)
        }
    };
    let dest = if spec.flat {
        if spec.dest.ends_with('/') {
            let name = Path::new(&spec.src).file_name().unwrap_or_default();
            base(&spec.dest).join(name)
        } else {
            base(&spec.dest)
        }
    } else {
        let src = spec.src.trim_start_matches('/');
        base(&spec.dest).join(host).join(src)
    };
    // Ansible normalizes the path (`src: ../x` lands beside the host's directory); dr
    // also keeps a `src` with `..` from leading out of `dest` altogether.
    let dest = normalize(&dest);
    if !spec.flat && !dest.starts_with(normalize(&base(&spec.dest))) {
        return Err(ModuleError::Failed(format!(
            "Detected directory traversal, expected to be contained in '{}' but got '{}'",
            spec.dest,
            dest.display()
        )));
    }
    Ok(dest)
}

/// `path` without `.` and `..` (each `..` takes the component before it away), as
/// Python's `os.path.normpath` for an absolute path.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

struct Run {
    spec: FetchSpec,
    dest: PathBuf,
    /// Ansible reads the file with `slurp` under `become` and asks `stat` first
    /// otherwise: the failures are worded by whichever ran.
    escalated: bool,
    /// The play's own `slurp` module, run under `become` instead of reading the file here.
    slurp: Option<super::bridge::Call>,
}

/// The file as the play's own `slurp` module gives it (Ansible's action runs it under
/// `become`): its bytes, or the result the task ends with.
fn slurped(
    ctx: &Context<'_>,
    call: &super::bridge::Call,
    spec: &FetchSpec,
    data: &Map<String, Json>,
) -> Result<Result<Vec<u8>, Outcome>, ModuleError> {
    let mut args = Map::new();
    args.insert("src".into(), Json::from(spec.src.clone()));
    let got = super::bridge::run(ctx, call, args)?;
    if got.failed {
        let msg = if got.msg.contains("not found") {
            "the remote file does not exist, not transferring, ignored".to_owned()
        } else if got.msg.to_lowercase().starts_with("source is a directory") {
            "remote file is a directory, fetch cannot work on directories".to_owned()
        } else {
            got.msg.clone()
        };
        if spec.fail_on_missing {
            return Err(ModuleError::Failed(msg));
        }
        return Ok(Err(Outcome {
            data: data.clone(),
            ..Outcome::default()
        }));
    }
    let content = got.data.get("content").and_then(Json::as_str).unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(content)
        .map(Ok)
        .map_err(|e| ModuleError::Failed(format!("`slurp` gave no base64 content: {e}")))
}

impl Action for Run {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Run {
            spec,
            dest,
            escalated,
            slurp,
        } = *self;
        let src = Path::new(&spec.src);
        let mut data = Map::new();
        data.insert("file".into(), Json::from(spec.src.clone()));
        if escalated && let Some(call) = &slurp {
            return match slurped(ctx, call, &spec, &data)? {
                Ok(bytes) => Ok(handed_off(&spec, &dest, &bytes, data)),
                Err(outcome) => Ok(outcome),
            };
        }
        let missing = |msg: &str| {
            if spec.fail_on_missing {
                Err(ModuleError::Failed(msg.to_owned()))
            } else {
                Ok(Outcome {
                    msg: format!("{msg}, not transferring, ignored"),
                    data: data.clone(),
                    ..Outcome::default()
                })
            }
        };
        if src.is_dir() {
            return missing("remote file is a directory, fetch cannot work on directories");
        }
        let denied = |e: &std::io::Error| e.kind() == std::io::ErrorKind::PermissionDenied;
        // Without `become`, Ansible's `stat` fails first when the path cannot be reached.
        if !escalated
            && let Err(e) = std::fs::metadata(src)
            && denied(&e)
        {
            let msg = format!(
                "Failed to get information on remote file ({}): Permission denied",
                spec.src
            );
            if spec.fail_on_missing {
                return Err(ModuleError::Failed(msg));
            }
            return Ok(Outcome {
                msg: format!("{msg}, ignored"),
                data,
                ..Outcome::default()
            });
        }
        let bytes = match std::fs::read(src) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return missing("the remote file does not exist");
            }
            // `slurp`'s failure; without `fail_on_missing` Ansible reports nothing of it.
            Err(e) if denied(&e) => {
                if spec.fail_on_missing {
                    return Err(ModuleError::Failed(format!(
                        "File is not readable: {}",
                        spec.src
                    )));
                }
                return Ok(Outcome {
                    data,
                    ..Outcome::default()
                });
            }
            Err(e) => {
                return Err(ModuleError::Failed(format!(
                    "cannot read `{}`: {e}",
                    spec.src
                )));
            }
        };
        Ok(handed_off(&spec, &dest, &bytes, data))
    }
}

/// The result that hands `bytes` to the controller to write at `dest`.
fn handed_off(spec: &FetchSpec, dest: &Path, bytes: &[u8], mut data: Map<String, Json>) -> Outcome {
    let checksum: String = sha1::Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut handoff = Map::new();
    handoff.insert("dest".into(), Json::from(dest.display().to_string()));
    handoff.insert(
        "content".into(),
        Json::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
    );
    handoff.insert("checksum".into(), Json::from(checksum.clone()));
    handoff.insert(
        "validate_checksum".into(),
        Json::Bool(spec.validate_checksum),
    );
    if let Some(msg) = directory_message(spec, dest) {
        handoff.insert("dir_msg".into(), Json::from(msg));
    }
    data.insert(HANDOFF.into(), Json::Object(handoff));
    data.insert("dest".into(), Json::from(dest.display().to_string()));
    data.insert("remote_checksum".into(), Json::from(checksum));
    data.insert("remote_md5sum".into(), Json::Null);
    Outcome {
        data,
        ..Outcome::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dest: &str, flat: bool) -> FetchSpec {
        FetchSpec {
            src: "/etc/app/app.conf".into(),
            dest: dest.into(),
            flat,
            fail_on_missing: true,
            validate_checksum: true,
        }
    }

    #[test]
    fn destinations_are_ansibles() {
        let d = |s: FetchSpec| destination(&s, "db1", "/pb").unwrap().display().to_string();
        assert_eq!(d(spec("out", false)), "/pb/out/db1/etc/app/app.conf");
        assert_eq!(d(spec("/tmp/f", false)), "/tmp/f/db1/etc/app/app.conf");
        assert_eq!(d(spec("out/", true)), "/pb/out/app.conf");
        assert_eq!(d(spec("out/x.conf", true)), "/pb/out/x.conf");
        assert_eq!(d(spec("out/../x.conf", true)), "/pb/x.conf");
        let relative = |src: &str| FetchSpec {
            src: src.into(),
            ..spec("/out", false)
        };
        assert_eq!(d(relative("../in/here.txt")), "/out/in/here.txt");
        assert!(destination(&relative("../../etc/x"), "db1", "/pb").is_err());
    }
}

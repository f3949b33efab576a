//! `authorized_key` (ansible.posix): SSH public keys present in, or absent from, a user's
//! `authorized_keys`, decided as `plugins/modules/authorized_key.py` of the ansible.posix
//! collection decides it ([`keys`] models its parsing and edits).
//!
//! The file is `~USER/.ssh/authorized_keys` unless `path` says otherwise; it is only ever
//! written when a key changes, atomically, mode 0600, owned by the user, and with
//! `manage_dir` its directory is created (0700) and given to the user first. A `key`
//! starting with `http` is fetched (a `200` answer's body holds the keys).

mod keys;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use self::keys::{KeyFile, Wanted};
use super::args::{bool_ish, opt_text};
use super::group::State;
use super::http::{self, Request, TlsOptions, Url};
use super::{Action, Context, Module, ModuleError, Outcome, Plan, accounts, parse_args, path_arg};
use crate::fsutil::{self, Attrs};

/// The `authorized_key` module.
pub struct AuthorizedKey;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizedKeySpec {
    user: String,
    /// One key per line, or a URL whose body holds them.
    key: String,
    #[serde(default, deserialize_with = "opt_text")]
    path: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    manage_dir: bool,
    #[serde(default)]
    state: State,
    #[serde(default, deserialize_with = "opt_text")]
    key_options: Option<String>,
    /// Remove every other line of the file.
    #[serde(default, deserialize_with = "bool_ish")]
    exclusive: bool,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    validate_certs: bool,
    #[serde(default, deserialize_with = "opt_text")]
    comment: Option<String>,
    /// Write the file a symlink at the path points to, instead of replacing the link.
    #[serde(default, deserialize_with = "bool_ish")]
    follow: bool,
}

/// How long fetching a key URL may take (Ansible's `fetch_url` default timeout).
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The keys behind a URL, as `enforce_state` fetches them: anything but a `200` answer
/// (or no answer) fails with the module's message.
fn fetch_keys(url: &str, validate_certs: bool, ctx: &Context<'_>) -> Result<String, ModuleError> {
    let fail = || ModuleError::Failed(format!("Error getting key from: {}", http::mask_url(url)));
    let parsed = Url::parse(url).map_err(|_| fail())?;
    let tls = TlsOptions {
        validate_certs,
        env_cert_file: path_arg::env_var(ctx.environment, "SSL_CERT_FILE"),
        ..TlsOptions::default()
    };
    let req = Request {
        method: "GET",
        url: &parsed,
        headers: &[],
        unredirected: &[],
        body: None,
        timeout: FETCH_TIMEOUT,
        tls: &tls,
        route: &http::DIRECT,
    };
    let (exchange, _) = http::open_following(&req, &|_, _| true).map_err(|_| fail())?;
    if exchange.status != 200 {
        return Err(fail());
    }
    let body = exchange.read_body().map_err(|_| fail())?.body;
    String::from_utf8(body).map_err(|_| fail())
}

/// The user's passwd entry, or the module's failure (`keyfile`).
fn lookup_user(name: &str, check_mode: bool) -> Result<accounts::User, ModuleError> {
    accounts::user_named(name).ok_or_else(|| {
        ModuleError::Failed(if check_mode {
            "Either user must exist or you must provide full path to key file in check mode".into()
        } else {
            format!("Failed to lookup user {name}: \"getpwnam(): name not found: '{name}'\"")
        })
    })
}

impl Module for AuthorizedKey {
    fn name(&self) -> &'static str {
        "authorized_key"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "user",
            "key",
            "path",
            "manage_dir",
            "state",
            "key_options",
            "exclusive",
            "validate_certs",
            "comment",
            "follow",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: AuthorizedKeySpec = parse_args("authorized_key", args)?;
        let path = spec
            .path
            .as_deref()
            .map(|p| path_arg::expand(p, ctx.environment));
        let source = if spec.key.starts_with("http") {
            fetch_keys(&spec.key, spec.validate_certs, ctx)?
        } else {
            spec.key.clone()
        };
        let wanted = Wanted::parse(
            &source,
            spec.key_options.as_deref(),
            spec.comment.as_deref(),
        )
        .map_err(ModuleError::Failed)?;
        // As `keyfile`: in check mode a given path needs no user.
        let user = match (&path, ctx.check_mode) {
            (Some(_), true) => accounts::user_named(&spec.user),
            _ => Some(lookup_user(&spec.user, ctx.check_mode)?),
        };
        let keyfile = match (&path, &user) {
            (Some(p), _) => PathBuf::from(p),
            (None, Some(u)) => Path::new(&u.home).join(".ssh").join("authorized_keys"),
            (None, None) => return Err(ModuleError::Failed("bug: no user and no path".into())),
        };
        let shown = keyfile.display().to_string();
        let before = if keyfile.is_file() {
            let bytes =
                std::fs::read(&keyfile).map_err(|e| ModuleError::io("cannot read", &shown, e))?;
            String::from_utf8(bytes)
                .map_err(|_| ModuleError::Failed(format!("`{shown}` is not UTF-8 text")))?
        } else {
            String::new()
        };
        let mut file = KeyFile::parse(&before);
        let edits = wanted.enforce(&mut file, spec.state == State::Present, spec.exclusive);
        let mut data = Map::new();
        let opt = |v: &Option<String>| v.clone().map_or(Json::Null, Json::from);
        data.insert("user".into(), Json::from(spec.user.clone()));
        data.insert("key".into(), Json::from(spec.key.clone()));
        data.insert("path".into(), opt(&path));
        data.insert("manage_dir".into(), Json::Bool(spec.manage_dir));
        data.insert("state".into(), Json::from(spec.state.name()));
        data.insert("key_options".into(), opt(&spec.key_options));
        data.insert("exclusive".into(), Json::Bool(spec.exclusive));
        data.insert("comment".into(), opt(&spec.comment));
        data.insert("validate_certs".into(), Json::Bool(spec.validate_certs));
        data.insert("follow".into(), Json::Bool(spec.follow));
        data.insert("keyfile".into(), Json::from(shown.clone()));
        // An exclusive run that only drops lines that are not there is no change.
        let after = file.render();
        if !edits.any() {
            let mut o = Outcome::ok(format!("`{shown}` holds the keys as wanted"));
            o.data = data;
            return Ok(Plan::done(o));
        }
        let target = if spec.follow {
            std::fs::canonicalize(&keyfile).unwrap_or_else(|_| keyfile.clone())
        } else {
            keyfile.clone()
        };
        let diffs = vec![crate::diff::content(
            &shown,
            Some(before.as_bytes()),
            after.as_bytes(),
        )];
        let outcome = Outcome {
            changed: true,
            msg: format!("would {} in `{shown}`", edits.describe(false)),
            diffs: diffs.clone(),
            data: data.clone(),
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome,
            Apply {
                user: spec.user,
                manage_dir: spec.manage_dir,
                ssh_dir: fsutil::parent(&keyfile).to_path_buf(),
                target,
                content: after,
                msg: format!("{} in `{shown}`", edits.describe(true)),
                data,
                diffs,
            },
        ))
    }
}

/// The apply half: the directory (with `manage_dir`), then the file.
struct Apply {
    user: String,
    manage_dir: bool,
    /// The key file's directory as named (not through a followed link).
    ssh_dir: PathBuf,
    /// The file written (the link's target with `follow`).
    target: PathBuf,
    content: String,
    msg: String,
    data: Map<String, Json>,
    diffs: Vec<crate::wire::Diff>,
}

impl Action for Apply {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let user = lookup_user(&self.user, false)?;
        let (uid, gid) = (user.uid, user.gid);
        if self.manage_dir {
            let dir = &self.ssh_dir;
            if !dir.exists() {
                std::fs::create_dir(dir)
                    .map_err(|e| ModuleError::io("Failed to create directory", dir.display(), e))?;
            }
            fsutil::set_attrs(
                dir,
                Attrs {
                    mode: Some(0o700),
                    uid: Some(uid),
                    gid: Some(gid),
                },
            )
            .map_err(|e| ModuleError::io("cannot set attributes of", dir.display(), e))?;
        }
        let dir = fsutil::parent(&self.target);
        if !dir.exists() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ModuleError::io("cannot create directory", dir.display(), e))?;
        }
        let attrs = Attrs {
            mode: Some(0o600),
            uid: Some(uid),
            gid: Some(gid),
        };
        fsutil::write_atomic(&self.target, self.content.as_bytes(), attrs, 0o600)
            .map_err(|e| ModuleError::io("cannot write", self.target.display(), e))?;
        Ok(Outcome {
            changed: true,
            msg: self.msg,
            data: self.data,
            diffs: self.diffs,
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests;

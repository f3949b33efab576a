//! `get_url`: download a file over HTTP(S) onto the host, as Ansible's `get_url`.
//!
//! `check` settles what needs no download: a `dest` file that is there (with `force:
//! false` and a matching `checksum`) is left alone, its attributes aside. Otherwise the
//! request is conditional (`If-Modified-Since` the file's mtime) unless forced. In check
//! mode, as Ansible, only a HEAD request is sent and the change is judged against an
//! empty download. Apply streams the body into a temporary file in `dest`'s directory (or
//! `tmp_dest`), verifies the checksum, and renames it over `dest` only when its content
//! differs: never a half-written `dest`.

mod checksum;
mod download;
mod request;

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::bool_ish;
use super::attrs::{self, AttrSpec, FileMode};
use super::http::{TlsOptions, Url};
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args, path_arg};
use crate::fsutil::{self, Current};
use checksum::Checksum;
use download::Download;
use request::Fetcher;

/// The `get_url` module.
pub struct GetUrl;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GetUrlSpec {
    url: String,
    dest: String,
    #[serde(default, deserialize_with = "bool_ish")]
    force: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    backup: bool,
    #[serde(default)]
    checksum: Option<String>,
    #[serde(default)]
    headers: Option<Map<String, Json>>,
    #[serde(alias = "username")]
    url_username: Option<String>,
    #[serde(alias = "password")]
    url_password: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    force_basic_auth: bool,
    timeout: Option<Json>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    validate_certs: bool,
    ca_path: Option<String>,
    client_cert: Option<String>,
    client_key: Option<String>,
    mode: Option<FileMode>,
    owner: Option<Json>,
    group: Option<Json>,
    tmp_dest: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    decompress: bool,
    ciphers: Option<Json>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    use_netrc: bool,
    #[serde(default)]
    unredirected_headers: Vec<String>,
}

/// The resolved task.
#[derive(Debug)]
struct Task {
    /// How requests are sent (URL, headers, credentials, TLS, timeout).
    fetcher: Fetcher,
    /// `dest` as given (a file, or a directory to download into).
    dest: PathBuf,
    force: bool,
    backup: bool,
    checksum: Option<Checksum>,
    attrs: AttrSpec,
    tmp_dest: Option<PathBuf>,
    /// Decode a `Content-Encoding: gzip` body before writing it (Ansible's default).
    decompress: bool,
}

impl Module for GetUrl {
    fn name(&self) -> &'static str {
        "get_url"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "unsafe_writes",
            "url",
            "dest",
            "force",
            "backup",
            "checksum",
            "headers",
            "url_username",
            "username",
            "url_password",
            "password",
            "force_basic_auth",
            "timeout",
            "validate_certs",
            "ca_path",
            "client_cert",
            "client_key",
            "mode",
            "owner",
            "group",
            "tmp_dest",
            "decompress",
            "ciphers",
            "use_netrc",
            "unredirected_headers",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let task = resolve(parse_args("get_url", args)?, ctx.environment)?;
        let data = task.base_data();
        let expected = match &task.checksum {
            None => None,
            Some(c) => match c.expected(&task.fetcher) {
                Ok(hex) => Some((c.algorithm, hex)),
                Err(msg) => return Ok(Plan::done(failed(msg, data))),
            },
        };
        let mut force = task.force;
        let mut last_modified = None;
        if !task.dest.is_dir() && task.dest.exists() {
            let mut mismatch = false;
            if let (false, Some((algorithm, hex))) = (force, &expected) {
                let actual = super::digest::of_file(&task.dest, *algorithm)
                    .map_err(|e| ModuleError::io("cannot read", task.dest.display(), e))?;
                mismatch = actual != *hex;
            }
            if !force && expected.is_some() && !mismatch {
                return task.already_there(data);
            }
            last_modified = std::fs::metadata(&task.dest)
                .and_then(|m| m.modified())
                .ok();
            if mismatch {
                force = true;
            }
        }
        let download = Download {
            task,
            force,
            last_modified,
            expected,
        };
        if ctx.check_mode {
            return Ok(download.check_with_head());
        }
        let outcome = Outcome {
            changed: true,
            msg: format!(
                "would download `{}` to `{}`",
                download.task.fetcher.shown_url,
                download.task.dest.display()
            ),
            ..Outcome::default()
        };
        Ok(Plan::change(outcome, download))
    }
}

fn resolve(spec: GetUrlSpec, environment: &[(String, String)]) -> Result<Task, ModuleError> {
    let bad = |m: String| ModuleError::from(ArgsError::new("get_url", m));
    let url = Url::parse(&spec.url).map_err(|e| bad(e.to_string()))?;
    let timeout = match &spec.timeout {
        None | Some(Json::Null) => 10.0,
        Some(Json::Number(n)) => n.as_f64().unwrap_or(-1.0),
        Some(Json::String(s)) => s.trim().parse().unwrap_or(-1.0),
        Some(other) => return Err(bad(format!("`timeout`: `{other}` is not a number"))),
    };
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(bad("`timeout` must be a number of seconds > 0".into()));
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in spec.headers.iter().flatten() {
        let v = match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        headers.push((k.clone(), v));
    }
    // As Ansible: `url_password` counts only with `url_username`; else the URL's own.
    let mut credentials = match (&spec.url_username, &spec.url_password, &url.userinfo) {
        (Some(u), p, _) => Some(format!("{u}:{}", p.as_deref().unwrap_or(""))),
        (None, _, Some(info)) => Some(info.clone()),
        _ => None,
    };
    // Without credentials, netrc's are sent at once and replace a task's Authorization
    // header, as Ansible's `_configure_auth` (its header overrides the task's).
    let mut force_basic_auth = spec.force_basic_auth;
    if credentials.is_none()
        && spec.use_netrc
        && let Some((login, password)) =
            super::http::netrc::credentials(environment, &url.host.to_ascii_lowercase())
    {
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
        credentials = Some(format!("{login}:{password}"));
        force_basic_auth = true;
    }
    let authorization = credentials.map(|c| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(c)
        )
    });
    let checksum = match spec.checksum.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(Checksum::parse(c).map_err(bad)?),
    };
    let expand = |p: &str| PathBuf::from(path_arg::expand(p, environment));
    Ok(Task {
        fetcher: Fetcher {
            shown_url: super::http::result_url(&spec.url),
            url,
            headers,
            unredirected: spec.unredirected_headers,
            authorization,
            force_basic_auth,
            timeout: Duration::from_secs_f64(timeout),
            tls: TlsOptions {
                validate_certs: spec.validate_certs,
                ca_path: spec.ca_path.map(|p| path_arg::expand(&p, environment)),
                client_cert: spec.client_cert.map(|p| path_arg::expand(&p, environment)),
                client_key: spec.client_key.map(|p| path_arg::expand(&p, environment)),
                env_cert_file: path_arg::env_var(environment, "SSL_CERT_FILE"),
                ciphers: super::http::ciphers::names(spec.ciphers.as_ref()).map_err(bad)?,
            },
        },
        dest: expand(&spec.dest),
        force: spec.force,
        backup: spec.backup,
        checksum,
        attrs: AttrSpec {
            mode: spec.mode,
            owner: spec.owner,
            group: spec.group,
        },
        tmp_dest: spec.tmp_dest.as_deref().map(expand),
        decompress: spec.decompress,
    })
}

/// A failed outcome carrying `data`.
fn failed(msg: String, data: Map<String, Json>) -> Outcome {
    let mut o = Outcome::failed(msg);
    o.data = data;
    o
}

impl Task {
    /// The keys every result has (Ansible's initial `result`).
    fn base_data(&self) -> Map<String, Json> {
        let mut data = Map::new();
        data.insert("checksum_dest".into(), Json::Null);
        data.insert("checksum_src".into(), Json::Null);
        data.insert("dest".into(), Json::from(self.dest.display().to_string()));
        data.insert("elapsed".into(), Json::from(0));
        data.insert("url".into(), Json::from(self.fetcher.shown_url.clone()));
        data
    }

    /// `dest` is there with the wanted checksum: no download; its attributes may change.
    fn already_there(self, mut data: Map<String, Json>) -> Result<Plan, ModuleError> {
        let shown = self.dest.display().to_string();
        let current =
            Current::of(&self.dest).map_err(|e| ModuleError::io("cannot stat", &shown, e))?;
        let wanted = self.attrs.resolve("get_url", Some(current.mode), false)?;
        let (changes, diffs) = attrs::changes(&self.dest, &current, wanted);
        super::path_info::add(&mut data, &self.dest);
        if !attrs::any(&changes) {
            let mut o = Outcome::ok("file already exists");
            o.data = data;
            return Ok(Plan::done(o));
        }
        let outcome = Outcome {
            changed: true,
            msg: "file already exists but file attributes changed".into(),
            diffs,
            data: data.clone(),
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome.clone(),
            SetAttrs {
                dest: self.dest,
                changes,
                outcome,
            },
        ))
    }
}

/// Gives an existing `dest` its wanted attributes.
struct SetAttrs {
    dest: PathBuf,
    changes: fsutil::Attrs,
    outcome: Outcome,
}

impl Action for SetAttrs {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        fsutil::set_attrs(&self.dest, self.changes)
            .map_err(|e| ModuleError::io("cannot set attributes of", self.dest.display(), e))?;
        let mut outcome = self.outcome;
        super::path_info::add(&mut outcome.data, &self.dest);
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests;

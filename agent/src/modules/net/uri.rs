//! `uri`: an HTTP request, as Ansible's `uri` module (and its action plugin) sends it.
//!
//! Ansible's `uri` does not support check mode: in check mode the task is skipped, and
//! nothing is sent or written. Otherwise the request is sent when the task runs; it
//! reports `changed` only when it wrote `dest`. A `src` (or a `form-multipart` field's
//! `filename`) is a controller file shipped with the request, unless `remote_src` says
//! it is on the host. Retries are the task's `until`/`retries`.

mod body;
mod dest;
mod multipart;
mod perform;
mod request;
mod response;
mod send;
mod urljoin;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish};
use super::http::Url;
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args, path_arg};
use body::BodyFormat;
use send::Outgoing;

/// The `uri` module.
pub struct Uri;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UriSpec {
    url: String,
    #[serde(default = "default_method")]
    method: String,
    body: Option<Json>,
    #[serde(default)]
    body_format: BodyFormat,
    /// A file whose bytes are the body (a controller file unless `remote_src`).
    src: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    remote_src: bool,
    /// Where to write the response's body (a directory: a file named by the response).
    dest: Option<String>,
    #[serde(default)]
    headers: Map<String, Json>,
    #[serde(default)]
    status_code: Option<Json>,
    #[serde(default, deserialize_with = "bool_ish")]
    return_content: bool,
    #[serde(default = "default_timeout")]
    timeout: f64,
    #[serde(alias = "user")]
    url_username: Option<String>,
    #[serde(alias = "password")]
    url_password: Option<String>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    force_basic_auth: Option<bool>,
    #[serde(default = "default_redirects")]
    follow_redirects: String,
    /// Verify the server's certificate (https://); Ansible's default is yes.
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    validate_certs: bool,
    /// A PEM file of the CAs to trust instead of the host's store.
    ca_path: Option<String>,
    /// A PEM file with the client certificate (and maybe its key).
    client_cert: Option<String>,
    /// A PEM file with the client certificate's key.
    client_key: Option<String>,
    /// The TLS 1.2 suites offered (OpenSSL names).
    ciphers: Option<Json>,
    /// Take credentials from a netrc file when the task gives none.
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    use_netrc: bool,
    /// Header names sent with the first request only, not after a redirect.
    #[serde(default)]
    unredirected_headers: Vec<String>,
    /// Ask caches for a fresh answer (`Cache-Control: no-cache`) instead of sending
    /// `If-Modified-Since` for an existing `dest`.
    #[serde(default, deserialize_with = "bool_ish")]
    force: bool,
    /// Decode a `Content-Encoding: gzip` body.
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    decompress: bool,
    /// Talk HTTP over this Unix socket instead of TCP.
    unix_socket: Option<String>,
    /// Go through the proxy the environment names (`https_proxy`...).
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    use_proxy: bool,
    /// The `User-Agent` sent (a task's own header wins).
    #[serde(default = "default_agent")]
    http_agent: String,
    /// `dest`'s wanted mode, owner and group.
    mode: Option<super::attrs::FileMode>,
    owner: Option<Json>,
    group: Option<Json>,
    /// Send nothing when this path exists.
    creates: Option<String>,
    /// Send nothing unless this path exists.
    removes: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}
fn default_timeout() -> f64 {
    30.0
}
fn default_agent() -> String {
    "ansible-httpget".into()
}
fn default_redirects() -> String {
    "safe".into()
}

/// The resolved task.
#[derive(Debug)]
struct Call {
    out: Outgoing,
    shown_url: String,
    expect: Vec<u16>,
    return_content: bool,
    dest: Option<PathBuf>,
    /// `dest`'s wanted mode, owner and group.
    attrs: super::attrs::AttrSpec,
    decompress: bool,
    /// The password, masked in the result as Ansible masks `no_log` values.
    secret: Option<String>,
}

impl Module for Uri {
    fn name(&self) -> &'static str {
        "uri"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "url",
            "method",
            "body",
            "body_format",
            "src",
            "remote_src",
            "dest",
            "headers",
            "status_code",
            "return_content",
            "timeout",
            "url_username",
            "user",
            "url_password",
            "password",
            "force_basic_auth",
            "follow_redirects",
            "validate_certs",
            "ca_path",
            "client_cert",
            "client_key",
            "ciphers",
            "use_netrc",
            "unredirected_headers",
            "force",
            "decompress",
            "unix_socket",
            "use_proxy",
            "http_agent",
            "mode",
            "owner",
            "group",
            "creates",
            "removes",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: UriSpec = parse_args("uri", args)?;
        // A URL dr cannot send is refused even where the task would be skipped.
        Url::parse(&spec.url).map_err(|e| ArgsError::new("uri", e.to_string()))?;
        if ctx.check_mode {
            let msg = "This action (uri) does not support check mode.";
            let mut data = Map::new();
            data.insert("skipped".into(), Json::Bool(true));
            data.insert("msg".into(), Json::from(msg));
            return Ok(Plan::done(Outcome {
                skipped: true,
                msg: msg.into(),
                data,
                ansible_shape: true,
                ..Outcome::default()
            }));
        }
        let expand = |p: &str| path_arg::expand(p, ctx.environment);
        if let Some(c) = spec.creates.as_deref().map(expand)
            && Path::new(&c).exists()
        {
            return Ok(Plan::done(guarded(format!("skipped, since '{c}' exists"))));
        }
        if let Some(r) = spec.removes.as_deref().map(expand)
            && !Path::new(&r).exists()
        {
            return Ok(Plan::done(guarded(format!(
                "skipped, since '{r}' does not exist"
            ))));
        }
        let call = match request::resolve(spec, ctx) {
            Ok(call) => call,
            Err(Refused::Failed(msg)) => return Ok(Plan::done(fail(msg, Map::new()))),
            Err(Refused::Args(e)) => return Err(e.into()),
        };
        Ok(Plan::change(Outcome::default(), call))
    }
}

/// The result of a `creates`/`removes` guard that held.
fn guarded(stdout: String) -> Outcome {
    let mut data = Map::new();
    data.insert("stdout".into(), Json::from(stdout.clone()));
    Outcome {
        msg: stdout,
        data,
        ansible_shape: true,
        ..Outcome::default()
    }
}

/// A failed result with Ansible's `msg` and `data`.
fn fail(msg: String, mut data: Map<String, Json>) -> Outcome {
    data.insert("msg".into(), Json::from(msg.clone()));
    let mut o = Outcome::failed(msg);
    o.data = data;
    o.ansible_shape = true;
    o
}

/// Why a task cannot be sent: bad arguments, or the module's own failure.
enum Refused {
    Args(ArgsError),
    Failed(String),
}

impl From<ArgsError> for Refused {
    fn from(e: ArgsError) -> Self {
        Refused::Args(e)
    }
}

impl Action for Call {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        Ok(self.perform())
    }
}

#[cfg(test)]
mod tests;

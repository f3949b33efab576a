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
mod response;
mod send;
mod urljoin;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish};
use super::http::{self, Route, TlsOptions, Url};
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args, path_arg};
use body::BodyFormat;
use send::{Outgoing, Redirects};

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
        let call = match resolve(spec, ctx) {
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

fn resolve(spec: UriSpec, ctx: &Context<'_>) -> Result<Call, Refused> {
    let environment = ctx.environment;
    let bad = |m: String| ArgsError::new("uri", m);
    let url = Url::parse(&spec.url).map_err(|e| bad(e.to_string()))?;
    let method = spec.method.to_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Refused::Failed(
            "Parameter 'method' needs to be a single word in uppercase, like GET or POST.".into(),
        ));
    }
    if spec.body.is_some() && spec.src.is_some() {
        return Err(bad("parameters are mutually exclusive: body|src".into()).into());
    }
    let redirects = Redirects::parse(&spec.follow_redirects).ok_or_else(|| {
        bad(format!(
            "`follow_redirects` must be one of all, no, none, safe, urllib2, yes, not `{}`",
            spec.follow_redirects
        ))
    })?;
    let expect = status_codes(spec.status_code.as_ref())?;
    let mut headers: Vec<(String, String)> = spec
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), body::text(v)))
        .collect();
    let has = |h: &[(String, String)], n: &str| h.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    let expand = |p: &str| path_arg::expand(p, environment);
    let read_file = |name: &str| -> Result<Vec<u8>, String> {
        if spec.remote_src {
            std::fs::read(expand(name)).map_err(|e| format!("{name}: {e}"))
        } else {
            ctx.files
                .get(name)
                .map(|f| f.bytes().to_vec())
                .ok_or_else(|| {
                    format!("Could not find or access '{name}' on the Ansible Controller.")
                })
        }
    };
    let mut payload = match (&spec.body, spec.body_format) {
        (b, BodyFormat::Json) => {
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(body::json(b.as_ref().unwrap_or(&Json::Null)).into_bytes())
        }
        (b, BodyFormat::FormUrlencoded) => {
            if !has(&headers, "content-type") {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
            match b {
                None => None,
                Some(b) => Some(
                    body::form_urlencoded(b)
                        .map_err(|e| {
                            Refused::Failed(format!("failed to parse body as form_urlencoded: {e}"))
                        })?
                        .into_bytes(),
                ),
            }
        }
        (b, BodyFormat::FormMultipart) => {
            let fields = b.clone().unwrap_or(Json::Null);
            if !spec.remote_src && spec.src.is_none() && !fields.is_object() {
                return Err(Refused::Failed(format!(
                    "body must be mapping, cannot be type {}",
                    multipart::python_type(&fields)
                )));
            }
            let (content_type, bytes) =
                multipart::prepare(&fields, &multipart::boundary(), &read_file).map_err(|e| {
                    Refused::Failed(format!("failed to parse body as form-multipart: {e}"))
                })?;
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            headers.push(("Content-Type".into(), content_type));
            Some(bytes)
        }
        (None, BodyFormat::Raw) => None,
        (Some(b), BodyFormat::Raw) => Some(body::text(b).into_bytes()),
    };
    if let Some(src) = &spec.src {
        let bytes = if spec.remote_src {
            std::fs::read(expand(src)).map_err(|_| {
                Refused::Failed(format!("Unable to open source file {}", expand(src)))
            })?
        } else {
            read_file(src).map_err(Refused::Failed)?
        };
        payload = Some(bytes);
    }
    let dest = spec.dest.as_deref().map(|d| PathBuf::from(expand(d)));
    // A `dest` file already there: only a newer answer is wanted (or any, with `force`).
    if spec.force {
        headers.insert(0, ("Cache-Control".into(), "no-cache".into()));
    } else if let Some(d) = dest.as_deref().filter(|d| d.is_file())
        && let Ok(t) = std::fs::metadata(d).and_then(|m| m.modified())
        && !has(&headers, "if-modified-since")
    {
        let date = chrono::DateTime::<chrono::Utc>::from(t)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        headers.insert(0, ("If-Modified-Since".into(), date));
    }
    let force_basic_auth = spec.force_basic_auth.unwrap_or(false);
    let credentials = match (&spec.url_username, &url.userinfo) {
        (Some(u), _) if !u.is_empty() => {
            Some((u.clone(), spec.url_password.clone().unwrap_or_default()))
        }
        (_, Some(info)) => {
            let (u, p) = info.split_once(':').unwrap_or((info, ""));
            let decode = http::disposition::percent_decode;
            Some((decode(u), decode(p))).filter(|(u, _)| !u.is_empty())
        }
        _ => None,
    };
    let mut challenge_credentials = None;
    match credentials {
        Some((u, p)) if force_basic_auth => {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
            headers.push(("Authorization".into(), basic(&u, &p)));
        }
        Some(pair) => challenge_credentials = Some(pair),
        // Without credentials, netrc's replace a task's Authorization header, as Ansible's
        // `_configure_auth` (its header overrides the task's).
        None if spec.use_netrc => {
            if let Some((login, password)) =
                http::netrc::credentials(environment, &url.host.to_ascii_lowercase())
            {
                headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
                headers.push(("Authorization".into(), basic(&login, &password)));
            }
        }
        None => {}
    }
    if !(spec.timeout.is_finite() && spec.timeout > 0.0) {
        return Err(bad("`timeout` must be a number of seconds > 0".into()).into());
    }
    let unix_socket = spec
        .unix_socket
        .as_deref()
        .map(|p| PathBuf::from(expand(p)));
    let proxy = if spec.use_proxy && unix_socket.is_none() {
        http::proxy::for_url(environment, &url)
    } else {
        None
    };
    let tls = TlsOptions {
        validate_certs: spec.validate_certs,
        // Ansible's `type='path'`: `~` and `$VARS` expanded.
        ca_path: spec.ca_path.map(|p| expand(&p)),
        client_cert: spec.client_cert.map(|p| expand(&p)),
        client_key: spec.client_key.map(|p| expand(&p)),
        env_cert_file: path_arg::env_var(environment, "SSL_CERT_FILE"),
        ciphers: http::ciphers::names(spec.ciphers.as_ref()).map_err(bad)?,
    };
    Ok(Call {
        shown_url: http::result_url(&spec.url),
        out: Outgoing {
            method,
            url,
            headers,
            body: payload,
            unredirected: spec.unredirected_headers,
            redirects,
            challenge_credentials,
            timeout: Duration::from_secs_f64(spec.timeout),
            tls,
            route: Route { proxy, unix_socket },
        },
        expect,
        return_content: spec.return_content,
        dest,
        decompress: spec.decompress,
        secret: spec.url_password.filter(|p| !p.is_empty()),
    })
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// `status_code`: one code, a list, or a comma-separated string; 200 by default.
fn status_codes(v: Option<&Json>) -> Result<Vec<u16>, ArgsError> {
    let bad =
        |v: &Json| ArgsError::new("uri", format!("`status_code`: `{v}` is not an HTTP status"));
    let one = |v: &Json| -> Result<Vec<u16>, ArgsError> {
        match v {
            Json::Number(n) => n
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .map(|n| vec![n])
                .ok_or_else(|| bad(v)),
            Json::String(s) => s
                .split(',')
                .map(|p| p.trim().parse::<u16>().map_err(|_| bad(v)))
                .collect(),
            _ => Err(bad(v)),
        }
    };
    match v {
        None | Some(Json::Null) => Ok(vec![200]),
        Some(Json::Array(items)) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(one(i)?);
            }
            Ok(out)
        }
        Some(other) => one(other),
    }
}

impl Call {
    /// Sends the request and builds Ansible's result.
    fn perform(&self) -> Outcome {
        let start = Instant::now();
        let answer = send::send(&self.out);
        let mut keys = Map::new();
        let mut content: Option<Vec<u8>> = None;
        let mut media = "application/octet-stream".to_owned();
        let mut final_dest = self.dest.clone();
        let status;
        match answer {
            Err(e) => {
                keys.insert("url".into(), Json::from(self.shown_url.clone()));
                keys.insert("status".into(), Json::from(-1));
                keys.insert("msg".into(), Json::from(e.to_string()));
                status = None;
            }
            Ok(answer) => {
                let ex = answer.exchange;
                let redirected = ex.url.request_uri() != self.out.url.request_uri();
                let info = response::info(&ex, &self.shown_url, redirected, &answer.cookies);
                keys = info.keys;
                status = Some(ex.status);
                media = response::content_type(ex.header("content-type")).0;
                if let Some(d) = final_dest.as_deref().filter(|d| d.is_dir()) {
                    let name = ex
                        .header("content-disposition")
                        .and_then(http::disposition::file_name)
                        .or_else(|| url_file_name(&ex.url))
                        .unwrap_or_else(|| "index.html".into());
                    final_dest = Some(d.join(name));
                }
                let gzipped = ex
                    .header("content-encoding")
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case("gzip"));
                let shown = self.shown_url.clone();
                match ex.read_body() {
                    Ok(resp) => {
                        let mut bytes = resp.body;
                        if self.decompress && gzipped {
                            match gunzip(&bytes) {
                                Ok(b) => bytes = b,
                                Err(e) => {
                                    return fail(
                                        format!("HTTP Error while fetching {shown}: {e}"),
                                        Map::new(),
                                    );
                                }
                            }
                        }
                        content = Some(bytes);
                    }
                    Err(e) if info.success => {
                        return fail(
                            format!("HTTP Error while fetching {shown}: {e}"),
                            Map::new(),
                        );
                    }
                    Err(_) => content = Some(Vec::new()),
                }
            }
        }
        let mut result = Map::new();
        let url_now = keys.get("url").and_then(Json::as_str).unwrap_or("");
        result.insert("redirected".into(), Json::from(url_now != self.shown_url));
        result.extend(keys);
        result.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
        result.insert("changed".into(), Json::Bool(false));
        let code = status.map_or(-1, i64::from);
        let expected = status.is_some_and(|s| self.expect.contains(&s));
        let mut changed = false;
        if let (Some(s), Some(d), Some(bytes)) = (status, final_dest.as_deref(), &content) {
            if expected && s != 304 {
                if let Err(msg) = dest::write(d, bytes) {
                    let info_msg = result
                        .remove("msg")
                        .and_then(|m| m.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    return fail(format!("{msg} {info_msg}").trim_end().to_owned(), result);
                }
                changed = true;
            }
            result.insert("path".into(), Json::from(d.display().to_string()));
            super::path_info::add(&mut result, d);
        }
        let mut result = response::underscored(result);
        if let Some(loc) = result.get("location").and_then(Json::as_str) {
            let joined = urljoin::urljoin(&self.shown_url, loc);
            result.insert("location".into(), Json::from(joined));
        }
        let maybe_json = response::maybe_json(&media);
        let maybe_output = maybe_json || self.return_content || !expected;
        let text = content
            .as_ref()
            .filter(|_| maybe_output)
            .map(|b| String::from_utf8_lossy(b).into_owned());
        if maybe_json
            && let Some(t) = &text
            && let Ok(v) = serde_json::from_str::<Json>(t)
        {
            result.insert("json".into(), v);
        }
        if status.is_none() && self.return_content {
            result.insert("content".into(), Json::from(""));
        } else if self.return_content {
            result.insert("content".into(), text.map_or(Json::Null, Json::from));
        }
        result.insert("changed".into(), Json::Bool(changed));
        if let Some(secret) = &self.secret {
            result = match response::sanitize(Json::Object(result), secret, true) {
                Json::Object(m) => m,
                _ => Map::new(),
            };
        }
        if !expected {
            let info_msg = result
                .get("msg")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_owned();
            let codes: Vec<String> = self.expect.iter().map(u16::to_string).collect();
            let msg = format!(
                "Status code was {code} and not [{}]: {info_msg}",
                codes.join(", ")
            );
            return fail(msg, result);
        }
        let msg = result
            .get("msg")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned();
        Outcome {
            changed,
            msg,
            data: result,
            ansible_shape: true,
            ..Outcome::default()
        }
    }
}

/// The last segment of `url`'s path, percent-decoded (`None` when empty), as Ansible's
/// `get_response_filename`.
fn url_file_name(url: &Url) -> Option<String> {
    let path = url.target.split(['?', '#']).next().unwrap_or("");
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    (!name.is_empty()).then(|| http::disposition::percent_decode(name))
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests;

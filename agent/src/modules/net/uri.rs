//! `uri`: an HTTP request, for health checks and simple APIs.
//!
//! GET and HEAD change nothing, so they are sent in check mode too and report
//! `changed: false`. Every other method (OPTIONS included: a server may act on anything it
//! receives) is a change: check mode says what would be sent and sends nothing, unless the
//! task says `check_mode: false`; apply sends it and reports `changed: true`. Retries are the
//! task's `until`/`retries`.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish};
use super::http::{self, Request, TlsOptions, Url};
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args, path_arg};

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
    #[serde(default)]
    headers: Map<String, Json>,
    #[serde(default)]
    status_code: Option<Json>,
    #[serde(default, deserialize_with = "bool_ish")]
    return_content: bool,
    #[serde(default = "default_timeout")]
    timeout: f64,
    url_username: Option<String>,
    url_password: Option<String>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    force_basic_auth: Option<bool>,
    #[serde(default)]
    follow_redirects: Redirects,
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
}

fn default_method() -> String {
    "GET".into()
}
fn default_timeout() -> f64 {
    30.0
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum BodyFormat {
    #[default]
    Raw,
    Json,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Redirects {
    /// Follow redirects of GET and HEAD only.
    #[default]
    Safe,
    All,
    None,
}

/// The resolved request.
#[derive(Debug)]
struct Call {
    method: String,
    url: Url,
    shown_url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    expect: Vec<u16>,
    return_content: bool,
    timeout: Duration,
    redirects: Redirects,
    tls: TlsOptions,
    unredirected: Vec<String>,
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
            "headers",
            "status_code",
            "return_content",
            "timeout",
            "url_username",
            "url_password",
            "force_basic_auth",
            "follow_redirects",
            "validate_certs",
            "ca_path",
            "client_cert",
            "client_key",
            "ciphers",
            "use_netrc",
            "unredirected_headers",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let call = resolve(parse_args("uri", args)?, ctx.environment)?;
        let safe = matches!(call.method.as_str(), "GET" | "HEAD");
        if safe {
            return Ok(Plan::done(call.perform()));
        }
        let mut outcome = Outcome {
            changed: true,
            msg: format!("would send {} to {}", call.method, call.shown_url),
            ..Outcome::default()
        };
        outcome
            .data
            .insert("url".into(), Json::from(call.shown_url.clone()));
        Ok(Plan::change(outcome, call))
    }
}

impl Action for Call {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let mut outcome = self.perform();
        outcome.changed = !outcome.failed;
        Ok(outcome)
    }
}

fn resolve(spec: UriSpec, environment: &[(String, String)]) -> Result<Call, ModuleError> {
    let url = Url::parse(&spec.url).map_err(|e| ArgsError::new("uri", e.to_string()))?;
    let method = spec.method.trim().to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(
            ArgsError::new("uri", format!("`{}` is not an HTTP method", spec.method)).into(),
        );
    }
    let expect = status_codes(spec.status_code.as_ref())?;
    let mut headers: Vec<(String, String)> = spec
        .headers
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect();
    let has = |h: &[(String, String)], n: &str| h.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    let body = match (&spec.body, spec.body_format) {
        (None, _) => None,
        (Some(b), BodyFormat::Json) => {
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(match b {
                Json::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            })
        }
        (Some(Json::String(s)), BodyFormat::Raw) => Some(s.clone().into_bytes()),
        (Some(other), BodyFormat::Raw) => Some(other.to_string().into_bytes()),
    };
    let credentials = match (&spec.url_username, &spec.url_password, &url.userinfo) {
        (Some(u), p, _) => Some(format!("{u}:{}", p.as_deref().unwrap_or(""))),
        (None, _, Some(info)) => Some(info.clone()),
        _ => None,
    };
    if let Some(cred) = &credentials
        && !has(&headers, "authorization")
        && spec.force_basic_auth != Some(false)
    {
        let token = base64::engine::general_purpose::STANDARD.encode(cred);
        headers.push(("Authorization".into(), format!("Basic {token}")));
    }
    // Without credentials, netrc's replace a task's Authorization header, as Ansible's
    // `_configure_auth` (its header overrides the task's).
    if credentials.is_none()
        && spec.use_netrc
        && let Some((login, password)) =
            http::netrc::credentials(environment, &url.host.to_ascii_lowercase())
    {
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"));
        headers.push(("Authorization".into(), format!("Basic {token}")));
    }
    if !(spec.timeout.is_finite() && spec.timeout > 0.0) {
        return Err(ArgsError::new("uri", "`timeout` must be a number of seconds > 0").into());
    }
    Ok(Call {
        method,
        shown_url: http::result_url(&spec.url),
        url,
        headers,
        body,
        expect,
        return_content: spec.return_content,
        timeout: Duration::from_secs_f64(spec.timeout),
        redirects: spec.follow_redirects,
        unredirected: spec.unredirected_headers,
        tls: TlsOptions {
            validate_certs: spec.validate_certs,
            // Ansible's `type='path'`: `~` and `$VARS` expanded.
            ca_path: spec.ca_path.map(|p| path_arg::expand(&p, environment)),
            client_cert: spec.client_cert.map(|p| path_arg::expand(&p, environment)),
            client_key: spec.client_key.map(|p| path_arg::expand(&p, environment)),
            env_cert_file: path_arg::env_var(environment, "SSL_CERT_FILE"),
            ciphers: http::ciphers::names(spec.ciphers.as_ref())
                .map_err(|m| ArgsError::new("uri", m))?,
        },
    })
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
    /// Sends the request (following redirects as asked) and builds the outcome.
    fn perform(&self) -> Outcome {
        let start = Instant::now();
        let req = Request {
            method: &self.method,
            url: &self.url,
            headers: &self.headers,
            unredirected: &self.unredirected,
            body: self.body.as_deref(),
            timeout: self.timeout,
            tls: &self.tls,
        };
        // A status the task expects is an answer, not a redirect to follow.
        let follow = |method: &str, status: u16| {
            !self.expect.contains(&status)
                && match self.redirects {
                    Redirects::None => false,
                    Redirects::Safe => matches!(method, "GET" | "HEAD"),
                    Redirects::All => true,
                }
        };
        // After redirects, `url` is where the answer came from (urllib's `geturl()`).
        let result = http::open_following(&req, &follow)
            .and_then(|(exchange, redirected)| {
                let landed = redirected.then(|| exchange.url.request_uri());
                Ok((exchange.read_body()?, landed))
            })
            .map_err(|e| e.to_string());
        let landed = result.as_ref().ok().and_then(|(_, l)| l.clone());
        let redirected = landed.is_some();
        let result = result.map(|(resp, _)| resp);
        let mut data = Map::new();
        let url = landed.unwrap_or_else(|| self.shown_url.clone());
        data.insert("url".into(), Json::from(url));
        data.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
        data.insert("redirected".into(), Json::from(redirected));
        let resp = match result {
            Err(why) => {
                data.insert("status".into(), Json::from(-1));
                let mut o = Outcome::failed(format!(
                    "Status code was -1 and not {:?}: {why}",
                    self.expect
                ));
                o.data = data;
                return o;
            }
            Ok(resp) => resp,
        };
        data.insert("status".into(), Json::from(resp.status));
        let mut headers = Map::new();
        for (k, v) in &resp.headers {
            headers.insert(k.clone(), Json::from(v.clone()));
        }
        let content_type = resp.header("content-type").unwrap_or("").to_owned();
        data.insert("content_type".into(), Json::from(content_type.clone()));
        data.insert("content_length".into(), Json::from(resp.body.len()));
        data.insert("headers".into(), Json::Object(headers));
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        if content_type.contains("json")
            && let Ok(v) = serde_json::from_str::<Json>(&text)
        {
            data.insert("json".into(), v);
        }
        if self.return_content {
            data.insert("content".into(), Json::from(text));
        }
        let ok = self.expect.contains(&resp.status);
        let msg = if ok {
            format!("OK ({} bytes)", resp.body.len())
        } else {
            format!(
                "Status code was {} and not {:?}: HTTP Error {}: {}",
                resp.status, self.expect, resp.status, resp.reason
            )
        };
        Outcome {
            failed: !ok,
            msg,
            data,
            ..Outcome::default()
        }
    }
}

#[cfg(test)]
mod tests;

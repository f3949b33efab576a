//! `uri`'s arguments resolved into the request to send: method, headers, body (as
//! `body_format` says, or `src`), credentials, conditional headers for `dest`, the route
//! (proxy or Unix socket) and TLS options.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value as Json;

use super::body::{self, BodyFormat};
use super::multipart;
use super::send::{Outgoing, Redirects};
use super::{Call, Refused, UriSpec};
use crate::modules::http::{self, Route, TlsOptions, Url};
use crate::modules::{ArgsError, Context, path_arg};

pub(super) fn resolve(spec: UriSpec, ctx: &Context<'_>) -> Result<Call, Refused> {
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
    if !spec.http_agent.is_empty() && !has(&headers, "user-agent") {
        headers.insert(0, ("User-Agent".into(), spec.http_agent.clone()));
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
        attrs: crate::modules::attrs::AttrSpec {
            mode: spec.mode,
            owner: spec.owner,
            group: spec.group,
        },
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

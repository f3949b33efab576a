//! Sending `uri`'s request as Ansible's `open_url` does: redirects followed by the task's
//! `follow_redirects` (Ansible's `HTTPRedirectHandler`), a 401 answered with the task's
//! credentials (urllib's Basic and Digest handlers), cookies kept across the exchange
//! (`HTTPCookieProcessor`) and reported.

use std::time::Duration;

use base64::Engine as _;

use crate::modules::http::digest_auth::{self, Challenge};
use crate::modules::http::{self, Exchange, HttpError, Request, Route, TlsOptions, Url};

/// How many redirects are followed: urllib's `max_redirections`.
const MAX_REDIRECTS: usize = 10;

/// `follow_redirects`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Redirects {
    /// GET and HEAD only (`safe`, the default).
    Safe,
    /// Every method (`all`, `yes`).
    All,
    /// None (`none`, `no`).
    None,
    /// Python's own rules (`urllib2`): GET and HEAD, and POST after 301-303, always
    /// as GET afterwards.
    Urllib2,
}

impl Redirects {
    /// The `follow_redirects` value, as Ansible's choices.
    pub fn parse(s: &str) -> Option<Redirects> {
        Some(match s {
            "safe" => Redirects::Safe,
            "all" | "yes" => Redirects::All,
            "none" | "no" => Redirects::None,
            "urllib2" => Redirects::Urllib2,
            _ => return None,
        })
    }

    /// The next request's method after `code` answered `method`, and whether the body and
    /// its headers go along; `None` when the redirect is not followed.
    fn next(self, method: &str, code: u16) -> Option<(String, bool)> {
        let get_or_head = matches!(method, "GET" | "HEAD");
        match self {
            Redirects::None => None,
            Redirects::Safe if !get_or_head => None,
            Redirects::Urllib2 => {
                let follow = get_or_head || (method == "POST" && matches!(code, 301..=303));
                // Python before 3.13 turns a redirected HEAD into a GET too.
                follow.then(|| ("GET".to_owned(), false))
            }
            Redirects::Safe | Redirects::All => {
                if matches!(code, 307 | 308) {
                    return Some((method.to_owned(), true));
                }
                let to_get = match code {
                    302 | 303 => method != "HEAD",
                    301 => method == "POST",
                    _ => false,
                };
                Some((if to_get { "GET" } else { method }.to_owned(), false))
            }
        }
    }
}

/// The request as resolved from the task.
#[derive(Debug)]
pub(super) struct Outgoing {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub unredirected: Vec<String>,
    pub redirects: Redirects,
    /// `(user, password)` answering a 401 challenge (not sent before one).
    pub challenge_credentials: Option<(String, String)>,
    pub timeout: Duration,
    pub tls: TlsOptions,
    pub route: Route,
}

/// The exchange's last response (body unread) and what led to it.
pub(super) struct Answer {
    pub exchange: Exchange,
    /// The cookies the responses set, in order (`name`, `value`).
    pub cookies: Vec<(String, String)>,
}

/// Sends the request, following redirects and answering auth challenges.
pub(super) fn send(out: &Outgoing) -> Result<Answer, HttpError> {
    let mut method = out.method.clone();
    let mut url = out.url.clone();
    let mut headers = out.headers.clone();
    let mut body = out.body.clone();
    let mut cookies: Vec<(String, String)> = Vec::new();
    let mut hop = 0;
    loop {
        let mut sent = headers.clone();
        if !cookies.is_empty() && !has(&sent, "cookie") {
            let jar: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            sent.push(("Cookie".into(), jar.join("; ")));
        }
        let mut exchange = open(out, &method, &url, &sent, body.as_deref())?;
        keep_cookies(&exchange, &mut cookies);
        if exchange.status == 401
            && let Some(auth) = answer_challenge(out, &exchange, &method, &url)
        {
            sent.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
            sent.push(("Authorization".into(), auth));
            exchange = open(out, &method, &url, &sent, body.as_deref())?;
            keep_cookies(&exchange, &mut cookies);
        }
        let is_redirect = matches!(exchange.status, 301 | 302 | 303 | 307 | 308);
        let next = exchange
            .header("location")
            .map(|l| l.replace(' ', "%20"))
            .and_then(|l| Url::parse(&super::urljoin::urljoin(&url.request_uri(), &l)).ok());
        let follow = out.redirects.next(&method, exchange.status);
        match (is_redirect, next, follow) {
            (true, Some(next), Some((next_method, keep_body))) if hop < MAX_REDIRECTS => {
                if hop == 0 {
                    headers.retain(|(k, _)| {
                        !out.unredirected.iter().any(|u| u.eq_ignore_ascii_case(k))
                    });
                }
                if !keep_body {
                    body = None;
                    headers.retain(|(k, _)| {
                        !["content-length", "content-type", "transfer-encoding"]
                            .iter()
                            .any(|c| k.eq_ignore_ascii_case(c))
                    });
                }
                method = next_method;
                url = next;
                hop += 1;
            }
            _ => return Ok(Answer { exchange, cookies }),
        }
    }
}

fn open(
    out: &Outgoing,
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> Result<Exchange, HttpError> {
    http::open(&Request {
        method,
        url,
        headers,
        unredirected: &[],
        body,
        timeout: out.timeout,
        tls: &out.tls,
        route: &out.route,
    })
}

fn has(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// The `Authorization` answering a 401's Basic or Digest challenge, when the task has
/// credentials to answer with.
fn answer_challenge(out: &Outgoing, ex: &Exchange, method: &str, url: &Url) -> Option<String> {
    let (user, password) = out.challenge_credentials.as_ref()?;
    let challenges: Vec<&str> = ex
        .headers
        .iter()
        .filter(|(k, _)| k == "www-authenticate")
        .map(|(_, v)| v.as_str())
        .collect();
    if let Some(c) = challenges.iter().find_map(|h| Challenge::parse(h)) {
        return Some(c.answer(user, password, method, &url.target, &digest_auth::cnonce()));
    }
    challenges
        .iter()
        .any(|h| h.trim_start().to_ascii_lowercase().starts_with("basic"))
        .then(|| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        })
}

/// Adds the cookies `ex` sets to `jar` (a cookie set again replaces the old one).
fn keep_cookies(ex: &Exchange, jar: &mut Vec<(String, String)>) {
    for (_, v) in ex.headers.iter().filter(|(k, _)| k == "set-cookie") {
        let pair = v.split(';').next().unwrap_or("");
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let name = name.trim().to_owned();
        jar.retain(|(k, _)| *k != name);
        jar.push((name, value.trim().to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::Redirects;

    #[test]
    fn redirect_rules_follow_ansibles_handler() {
        let next = |r: Redirects, m: &str, c: u16| r.next(m, c);
        assert_eq!(next(Redirects::None, "GET", 301), None);
        assert_eq!(next(Redirects::Safe, "POST", 301), None);
        assert_eq!(
            next(Redirects::Safe, "HEAD", 302),
            Some(("HEAD".into(), false))
        );
        assert_eq!(
            next(Redirects::All, "POST", 301),
            Some(("GET".into(), false))
        );
        assert_eq!(
            next(Redirects::All, "PUT", 301),
            Some(("PUT".into(), false))
        );
        assert_eq!(
            next(Redirects::All, "POST", 307),
            Some(("POST".into(), true))
        );
        assert_eq!(
            next(Redirects::All, "PUT", 303),
            Some(("GET".into(), false))
        );
        assert_eq!(
            next(Redirects::Urllib2, "HEAD", 308),
            Some(("GET".into(), false))
        );
        assert_eq!(next(Redirects::Urllib2, "POST", 307), None);
        assert_eq!(
            next(Redirects::Urllib2, "POST", 302),
            Some(("GET".into(), false))
        );
    }
}

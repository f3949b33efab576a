//! `get_url`'s requests, answered as Ansible's `fetch_url` reports them: a body to read,
//! "not modified", or a failure with its message and status.

use std::time::{Duration, SystemTime};

use crate::modules::http::{self, Exchange, Request, TlsOptions, Url};

/// How the task's requests are sent.
#[derive(Debug)]
pub(super) struct Fetcher {
    /// The download's URL.
    pub url: Url,
    /// The URL as shown (password masked).
    pub shown_url: String,
    /// The task's `headers`.
    pub headers: Vec<(String, String)>,
    /// `unredirected_headers`: names sent with the first request only.
    pub unredirected: Vec<String>,
    /// `Authorization: Basic ...` from `url_username`/`url_password` or the URL.
    pub authorization: Option<String>,
    /// Send the credentials with the first request rather than after a 401.
    pub force_basic_auth: bool,
    /// Connect and read timeout.
    pub timeout: Duration,
    /// Certificate verification and client certificate.
    pub tls: TlsOptions,
}

/// What a request came to.
pub(super) enum Fetched {
    /// A 200 response, body unread.
    Body(Exchange),
    /// 304: the file has not changed since `dest`'s mtime.
    NotModified(String),
    /// No usable response.
    Failed {
        /// Ansible's `msg`.
        msg: String,
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        /// Ansible's `response` (`HTTP Error 404: Not Found`).
        response: Option<String>,
    },
}

impl Fetcher {
    /// Sends `method` to `url` (redirects followed): with `Cache-Control: no-cache` when
    /// `force`, else `If-Modified-Since` when `last_modified` is known.
    pub fn fetch(
        &self,
        method: &str,
        url: &Url,
        force: bool,
        last_modified: Option<SystemTime>,
    ) -> Fetched {
        let user_has = |name: &str| {
            self.headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        let mut headers = Vec::new();
        if force && !user_has("cache-control") {
            headers.push(("Cache-Control".to_owned(), "no-cache".to_owned()));
        } else if let Some(t) = last_modified.filter(|_| !force && !user_has("if-modified-since")) {
            headers.push(("If-Modified-Since".to_owned(), http_date(t)));
        }
        headers.extend(self.headers.iter().cloned());
        let auth = self
            .authorization
            .as_ref()
            .filter(|_| !user_has("authorization"));
        if let Some(a) = auth.filter(|_| self.force_basic_auth) {
            headers.push(("Authorization".to_owned(), a.clone()));
        }
        let mut result = self.send(method, url, &headers);
        // As urllib's basic-auth handler: the credentials answer a Basic challenge.
        if let (Ok(ex), Some(a), false) = (&result, auth, self.force_basic_auth)
            && ex.status == 401
            && ex
                .header("www-authenticate")
                .is_some_and(|h| h.trim_start().to_ascii_lowercase().starts_with("basic"))
        {
            headers.push(("Authorization".to_owned(), a.clone()));
            result = self.send(method, url, &headers);
        }
        match result {
            Err(e) => Fetched::Failed {
                msg: e.to_string(),
                status: None,
                response: None,
            },
            Ok(ex) if ex.status == 304 => Fetched::NotModified(format!(
                "HTTP Error 304: {}",
                if ex.reason.is_empty() {
                    "Not Modified"
                } else {
                    &ex.reason
                }
            )),
            Ok(ex) if ex.status != 200 => Fetched::Failed {
                msg: "Request failed".into(),
                status: Some(ex.status),
                response: Some(format!("HTTP Error {}: {}", ex.status, ex.reason)),
            },
            Ok(ex) => Fetched::Body(ex),
        }
    }

    fn send(
        &self,
        method: &str,
        url: &Url,
        headers: &[(String, String)],
    ) -> Result<Exchange, http::HttpError> {
        let req = Request {
            method,
            url,
            headers,
            unredirected: &self.unredirected,
            body: None,
            timeout: self.timeout,
            tls: &self.tls,
            route: &http::DIRECT,
        };
        http::open_following(&req, &|m, _| matches!(m, "GET" | "HEAD")).map(|(ex, _)| ex)
    }
}

/// Ansible's success message: `OK (N bytes)` from Content-Length, else `unknown`.
pub(super) fn ok_msg(ex: &Exchange) -> String {
    format!(
        "OK ({} bytes)",
        ex.header("content-length").unwrap_or("unknown")
    )
}

/// An RFC 7231 date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}

//! URLs as `uri` and `get_url` take them: `http://` or `https://`, with an optional
//! `user:password@` that becomes basic auth and never appears in output, or `file://` (a
//! file on the host, as urllib's `FileHandler` reads it).

use super::HttpError;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::modules) enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
    /// A local file (`file:///path`): no host, no port.
    File,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::File => "file",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
            Scheme::File => 0,
        }
    }
}

/// A parsed `http(s)://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::modules) struct Url {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 or 443 by default).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
    /// `user:password` from the URL, if any.
    pub userinfo: Option<String>,
}

impl Url {
    /// Parses `http[s]://[user[:pass]@]host[:port][/path][?query]`; the fragment is dropped.
    pub fn parse(url: &str) -> Result<Url, HttpError> {
        let bad = |why: &str| HttpError::BadUrl {
            url: mask_url(url),
            why: why.to_owned(),
        };
        let lower = url.to_ascii_lowercase();
        let (scheme, rest) = if lower.starts_with("http://") {
            (Scheme::Http, &url[7..])
        } else if lower.starts_with("https://") {
            (Scheme::Https, &url[8..])
        } else if lower.starts_with("file://") {
            return Url::parse_file(&url[7..]).ok_or_else(|| {
                bad("a file:// URL names a local path (`file:///path` or `file://localhost/path`)")
            });
        } else {
            return Err(bad("only http://, https:// and file:// URLs are supported"));
        };
        let rest = rest.split('#').next().unwrap_or("");
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_owned()), h),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, tail) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed `[` in host"))?;
            (h, tail.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None | Some("") => scheme.default_port(),
            Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
        };
        if target.contains(|c: char| c.is_ascii_whitespace() || c.is_ascii_control()) {
            return Err(bad(
                "the path holds a space or control character (percent-encode it)",
            ));
        }
        Ok(Url {
            scheme,
            host: host.to_owned(),
            port,
            target,
            userinfo,
        })
    }

    /// `file://` + `rest`: an empty host or `localhost`, then an absolute path.
    fn parse_file(rest: &str) -> Option<Url> {
        let rest = rest.split('#').next().unwrap_or("");
        let slash = rest.find('/')?;
        if !matches!(&rest[..slash].to_ascii_lowercase()[..], "" | "localhost") {
            return None;
        }
        Some(Url {
            scheme: Scheme::File,
            host: String::new(),
            port: Scheme::File.default_port(),
            target: rest[slash..].to_owned(),
            userinfo: None,
        })
    }

    /// The local path of a `file://` URL, percent-decoded (urllib's `url2pathname`).
    pub fn file_path(&self) -> String {
        super::disposition::percent_decode(&self.target)
    }

    /// `host:port` (IPv6 in brackets), for messages and connections.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL as sent: no user information, the port only when not the default.
    pub fn request_uri(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.scheme.default_port() {
            format!("{}://{host}{}", self.scheme.name(), self.target)
        } else {
            format!(
                "{}://{host}:{}{}",
                self.scheme.name(),
                self.port,
                self.target
            )
        }
    }

    /// Where a `Location:` header points, relative to this URL (`None` when unusable).
    pub fn join(&self, location: &str) -> Option<Url> {
        let lower = location.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Url::parse(location).ok();
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme.name())).ok();
        }
        let mut u = self.clone();
        u.userinfo = None;
        if location.starts_with('/') {
            u.target = location.to_owned();
        } else {
            let path = self.target.split('?').next().unwrap_or("/");
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            u.target = format!("{dir}{location}");
        }
        Some(u)
    }

    /// The last segment of the path (`index.html` when empty), as Ansible's `get_url`
    /// names a download into a directory.
    pub fn file_name(&self) -> String {
        let path = self.target.split('?').next().unwrap_or("");
        match path.rsplit('/').next() {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => "index.html".to_owned(),
        }
    }
}

/// The URL as `get_url` and `uri` return it, as Ansible's `module_utils.urls.mask_url`:
/// `user:password@` shown as `****:****@`, a lone `user@` as `****@`.
pub(in crate::modules) fn result_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => {
            let mask = if rest[..at].contains(':') {
                "****:****"
            } else {
                "****"
            };
            format!("{}{mask}{}", &url[..scheme_end + 3], &rest[at..])
        }
        None => url.to_owned(),
    }
}

/// The URL with any password replaced by `********`.
pub(in crate::modules) fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:********{}", &url[..scheme_end + 3], &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn result_urls_hide_user_and_password_as_ansible() {
        assert_eq!(
            result_url("https://u:p@h/x?a=b@c"),
            "https://****:****@h/x?a=b@c"
        );
        assert_eq!(result_url("https://u@h:8443/"), "https://****@h:8443/");
        assert_eq!(result_url("https://h/x"), "https://h/x");
    }

    #[test]
    fn parses_http_and_https_urls() {
        let u = parse("http://app:s3cret@10.0.0.5:8080/healthz?full=1#x");
        assert_eq!((u.scheme, u.host.as_str()), (Scheme::Http, "10.0.0.5"));
        assert_eq!((u.port, u.target.as_str()), (8080, "/healthz?full=1"));
        assert_eq!(u.userinfo.as_deref(), Some("app:s3cret"));
        assert_eq!(u.request_uri(), "http://10.0.0.5:8080/healthz?full=1");
        let u = parse("http://[::1]?q");
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("::1", 80, "/?q")
        );
        assert_eq!(u.request_uri(), "http://[::1]/?q");
        let u = parse("HTTPS://example.com/a/b.tar.gz");
        assert_eq!((u.scheme, u.port), (Scheme::Https, 443));
        assert_eq!(u.request_uri(), "https://example.com/a/b.tar.gz");
        assert_eq!(u.file_name(), "b.tar.gz");
        assert_eq!(parse("https://example.com/").file_name(), "index.html");
        let e = Url::parse("ftp://u:pw@example.com/")
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(
            e.contains("only http://, https:// and file://") && !e.contains("pw@"),
            "{e}"
        );
        assert!(Url::parse("http://h/a b").is_err());
        let f = parse("file:///tmp/a%20b.txt");
        assert_eq!(
            (f.scheme, f.file_path()),
            (Scheme::File, "/tmp/a b.txt".to_owned())
        );
        assert_eq!(f.request_uri(), "file:///tmp/a%20b.txt");
        assert_eq!(parse("FILE://localhost/x").file_path(), "/x");
        assert!(Url::parse("file://otherhost/x").is_err());
    }

    #[test]
    fn joins_locations_and_masks_passwords() {
        let base = parse("https://u:p@h:8443/dir/file?x=1");
        assert_eq!(
            base.join("/new").map(|u| u.request_uri()).as_deref(),
            Some("https://h:8443/new")
        );
        assert_eq!(
            base.join("other").map(|u| u.request_uri()).as_deref(),
            Some("https://h:8443/dir/other")
        );
        assert_eq!(
            base.join("http://elsewhere/x")
                .map(|u| u.request_uri())
                .as_deref(),
            Some("http://elsewhere/x")
        );
        assert_eq!(base.join("/new").and_then(|u| u.userinfo), None);
        assert_eq!(
            mask_url("postgres://app:SECRET@db:5432/akira"),
            "postgres://app:********@db:5432/akira"
        );
    }
}

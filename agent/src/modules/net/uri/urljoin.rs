//! Python's `urllib.parse.urljoin` for the URLs `uri` reports and follows: a `Location`
//! relative to the request's URL, dot segments resolved.

/// `location` resolved against `base` (an absolute `scheme://` URL).
pub(super) fn urljoin(base: &str, location: &str) -> String {
    let Some((scheme, rest)) = base.split_once("://") else {
        return location.to_owned();
    };
    if location.is_empty() {
        return base.to_owned();
    }
    // `https:path` with the base's own scheme is relative, as in Python, and so is
    // `https:///path` (no host: the base's).
    let location = match strip_prefix_ci(location, &format!("{scheme}:")) {
        Some(r) if r.starts_with("///") => &r[2..],
        Some(r) if !r.starts_with("//") => r,
        _ => location,
    };
    if has_scheme(location) {
        return location.to_owned();
    }
    if location.starts_with("//") {
        return format!("{scheme}:{location}");
    }
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let base_path = tail.split(['?', '#']).next().unwrap_or("");
    let (loc_path, loc_query) = match location.find(['?', '#']) {
        Some(i) => location.split_at(i),
        None => (location, ""),
    };
    let path = if loc_path.starts_with('/') {
        loc_path.to_owned()
    } else if loc_path.is_empty() {
        base_path.to_owned()
    } else {
        let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{dir}{loc_path}")
    };
    format!("{scheme}://{authority}{}{loc_query}", remove_dots(&path))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn has_scheme(s: &str) -> bool {
    let Some(colon) = s.find(':') else {
        return false;
    };
    let scheme = &s[..colon];
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// RFC 3986's `remove_dot_segments`.
fn remove_dots(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

#[cfg(test)]
mod tests {
    use super::urljoin;

    #[test]
    fn joins_as_python() {
        let base = "https://h/redirect-to?url=x";
        for loc in [
            "status/302",
            "./status/302",
            "/status/302",
            "//h/status/302",
            "https:status/302",
            "https:///status/302",
        ] {
            assert_eq!(urljoin(base, loc), "https://h/status/302", "{loc}");
        }
        assert_eq!(
            urljoin(base, "/anything?foo=bar"),
            "https://h/anything?foo=bar"
        );
        assert_eq!(urljoin("http://h/a/b/c", "../d"), "http://h/a/d");
        assert_eq!(urljoin("http://h/a", "http://o/x"), "http://o/x");
    }
}

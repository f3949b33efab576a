//! `uri`'s result, shaped as Ansible's: the response's headers as keys of their own
//! (lower case, `-` as `_`, repeated headers joined with `, `), `cookies` and
//! `cookies_string`, `status`, `url`, `redirected`, `msg`, and `json` when the content type
//! says JSON (`application/json`, `+json`, `javascript`).

use serde_json::{Map, Value as Json};

use crate::modules::http::Exchange;

/// What `fetch_url` reports of an answered request, before the body is read.
pub(super) struct Info {
    /// The keys (headers, `msg`, `status`, `url`, cookies).
    pub keys: Map<String, Json>,
    /// The response was a success (2xx): otherwise urllib raised an `HTTPError` and its
    /// body is kept as `body` until the module reads it.
    pub success: bool,
}

/// The info of `ex` (the last response), reached from `original` (the task's URL, as
/// shown) through `redirected` hops, with the cookies the exchange set.
pub(super) fn info(
    ex: &Exchange,
    original: &str,
    redirected: bool,
    cookies: &[(String, String)],
) -> Info {
    let mut keys = Map::new();
    let success = (200..300).contains(&ex.status);
    if success {
        for (k, v) in &ex.headers {
            let joined = match keys.get(k).and_then(Json::as_str) {
                Some(before) => format!("{before}, {v}"),
                None => v.clone(),
            };
            keys.insert(k.clone(), Json::from(joined));
        }
        let cookie_map: Map<String, Json> = cookies
            .iter()
            .map(|(k, v)| (k.clone(), Json::from(v.clone())))
            .collect();
        let string: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        keys.insert("cookies_string".into(), Json::from(string.join("; ")));
        keys.insert("cookies".into(), Json::Object(cookie_map));
        let length = ex.header("content-length").unwrap_or("unknown");
        keys.insert("msg".into(), Json::from(format!("OK ({length} bytes)")));
        let url = if redirected {
            ex.url.request_uri()
        } else {
            original.to_owned()
        };
        keys.insert("url".into(), Json::from(url));
    } else {
        // An `HTTPError`'s headers: a repeated one keeps its last value.
        for (k, v) in &ex.headers {
            keys.insert(k.clone(), Json::from(v.clone()));
        }
        keys.insert(
            "msg".into(),
            Json::from(format!("HTTP Error {}: {}", ex.status, ex.reason)),
        );
        keys.insert("url".into(), Json::from(original.to_owned()));
    }
    keys.insert("status".into(), Json::from(ex.status));
    Info { keys, success }
}

/// The media type of a `Content-Type` value, as Python's `get_content_type` (lower case,
/// `text/plain` when missing or malformed), and its charset (`utf-8` by default).
pub(super) fn content_type(header: Option<&str>) -> (String, String) {
    let header = header.unwrap_or("");
    let mut parts = header.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let media = if media.matches('/').count() == 1 {
        media
    } else {
        "text/plain".to_owned()
    };
    let charset = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .unwrap_or_else(|| "utf-8".to_owned());
    (media, charset)
}

/// Whether a media type may hold JSON (its subtype, or its `+suffix`).
pub(super) fn maybe_json(media: &str) -> bool {
    let sub = media.split_once('/').map_or("", |(_, s)| s);
    let sub = sub.rsplit_once('+').map_or(sub, |(_, suffix)| suffix);
    matches!(sub, "json" | "javascript")
}

/// The result's keys as Ansible's `uri` names them: lower case, `-` as `_`.
pub(super) fn underscored(keys: Map<String, Json>) -> Map<String, Json> {
    keys.into_iter()
        .map(|(k, v)| (k.replace('-', "_").to_ascii_lowercase(), v))
        .collect()
}

/// Ansible's no-log treatment of a result: `secret` masked (`********`) in every key
/// (`sanitize_keys`, but for the keys Ansible leaves alone) and every string.
pub(super) fn sanitize(value: Json, secret: &str, top: bool) -> Json {
    const KEEP: &[&str] = &[
        "msg",
        "exception",
        "warnings",
        "deprecations",
        "failed",
        "skipped",
        "changed",
        "rc",
        "stdout",
        "stderr",
        "elapsed",
        "path",
        "location",
        "content_type",
    ];
    let mask = |s: &str| s.replace(secret, "********");
    match value {
        Json::String(s) => Json::from(mask(&s)),
        Json::Array(items) => Json::Array(
            items
                .into_iter()
                .map(|v| sanitize(v, secret, false))
                .collect(),
        ),
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = if top && KEEP.contains(&k.as_str()) {
                        k
                    } else {
                        mask(&k)
                    };
                    (key, sanitize(v, secret, false))
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn content_types_as_python_reads_them() {
        assert_eq!(
            content_type(Some("Application/LD+JSON; charset=\"latin-1\"")),
            ("application/ld+json".into(), "latin-1".into())
        );
        assert_eq!(content_type(None), ("text/plain".into(), "utf-8".into()));
        assert!(maybe_json("application/ld+json"));
        assert!(maybe_json("text/javascript"));
        assert!(!maybe_json("text/plain"));
    }

    #[test]
    fn sanitizes_keys_and_values_but_not_ansibles_own_keys() {
        let v = json!({"json": {"args": {"key-password": "value-password"}}, "msg": "password"});
        assert_eq!(
            sanitize(v, "password", true),
            json!({"json": {"args": {"key-********": "value-********"}}, "msg": "********"})
        );
    }
}

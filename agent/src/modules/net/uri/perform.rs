//! Sending `uri`'s request and building Ansible's result from the answer: the body
//! read (and un-gzipped), written to `dest`, its JSON parsed, the password masked.

use std::time::Instant;

use serde_json::{Map, Value as Json};

use super::{Call, dest, fail, response, send, urljoin};
use crate::modules::Outcome;
use crate::modules::http::{self, Url};

impl Call {
    /// Sends the request and builds Ansible's result.
    pub(super) fn perform(&self) -> Outcome {
        let start = Instant::now();
        let answer = send::send(&self.out);
        let mut keys = Map::new();
        let mut content: Option<Vec<u8>> = None;
        let mut media = "application/octet-stream".to_owned();
        let mut final_dest = self.dest.clone();
        let status;
        // urllib raised an `HTTPError` (no 2xx): its body is kept as `body` unless read.
        let mut http_error = false;
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
                http_error = !info.success;
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
                if let Err(msg) = dest::write(d, bytes, &self.attrs) {
                    let info_msg = result
                        .remove("msg")
                        .and_then(|m| m.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    return fail(format!("{msg} {info_msg}").trim_end().to_owned(), result);
                }
                changed = true;
            }
            result.insert("path".into(), Json::from(d.display().to_string()));
            crate::modules::path_info::add(&mut result, d);
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
        if http_error
            && !maybe_output
            && let Some(bytes) = &content
        {
            result.insert(
                "body".into(),
                Json::from(String::from_utf8_lossy(bytes).into_owned()),
            );
        }
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

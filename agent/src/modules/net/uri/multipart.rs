//! `body_format: form-multipart`: the body Ansible's `prepare_multipart` builds with
//! Python's `email` package (policy HTTP): fields sorted by name; a string is a
//! `text/plain` field; a mapping gives `content` as it is, or the bytes of the file
//! `filename` encoded as `multipart_encoding` says (`base64` by default, or `7or8bit`).

use base64::Engine as _;
use serde_json::{Map, Value as Json};

/// The field's file bytes, by the name the task gives (`filename`).
pub(super) type ReadFile<'a> = dyn Fn(&str) -> Result<Vec<u8>, String> + 'a;

/// Python's type name of a JSON value, for messages.
pub(super) fn python_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// The `Content-Type` header (with its boundary) and the body.
pub(super) fn prepare(
    fields: &Json,
    boundary: &str,
    read: &ReadFile<'_>,
) -> Result<(String, Vec<u8>), String> {
    let Json::Object(fields) = fields else {
        return Err(format!(
            "Mapping is required, cannot be type {}",
            python_type(fields)
        ));
    };
    let mut names: Vec<&String> = fields.keys().collect();
    names.sort();
    let mut body = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let part = part(name, &fields[name.as_str()], read)?;
        let lead = if i == 0 { "" } else { "\r\n" };
        body.extend_from_slice(format!("{lead}--{boundary}\r\n").as_bytes());
        body.extend_from_slice(&part);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary=\"{boundary}\"");
    Ok((content_type, body))
}

/// Python's `email` boundary: fifteen `=`, nineteen digits, `==`.
pub(super) fn boundary() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let digits = (nanos ^ (u128::from(std::process::id()) << 40)) % 10_u128.pow(19);
    format!("==============={digits:019}==")
}

/// One part: its headers, a blank line, its payload (line ends as CRLF).
fn part(name: &str, value: &Json, read: &ReadFile<'_>) -> Result<Vec<u8>, String> {
    let (mime, content, filename, encoding) = match value {
        Json::String(s) => ("text/plain".to_owned(), Some(s.clone()), None, "base64"),
        Json::Object(m) => {
            let text = |k: &str| {
                m.get(k)
                    .filter(|v| !v.is_null())
                    .map(super::body::text)
                    .filter(|s| !s.is_empty())
            };
            let filename = text("filename");
            let content = text("content");
            if filename.is_none() && content.is_none() {
                return Err("at least one of filename or content must be provided".into());
            }
            let mime =
                text("mime_type").unwrap_or_else(|| guess_type(filename.as_deref().unwrap_or("")));
            let encoding = match m.get("multipart_encoding").and_then(Json::as_str) {
                Some("7or8bit") => "7or8bit",
                None | Some("" | "base64") => "base64",
                Some(_) => {
                    return Err(
                        "multipart_encoding must be one of dict_keys(['base64', '7or8bit'])."
                            .into(),
                    );
                }
            };
            (mime, content, filename, encoding)
        }
        other => {
            return Err(format!(
                "value must be a string, or mapping, cannot be type {}",
                python_type(other)
            ));
        }
    };
    let (main, sub) = mime.split_once('/').unwrap_or((&mime, ""));
    let mut headers = Vec::new();
    let payload = match (&content, &filename) {
        (None, Some(file)) => {
            let bytes = read(file)?;
            let (cte, payload) = if encoding == "7or8bit" {
                let cte = if bytes.is_ascii() { "7bit" } else { "8bit" };
                (cte, bytes)
            } else {
                ("base64", base64_lines(&bytes))
            };
            headers.push(format!("Content-Transfer-Encoding: {cte}"));
            headers.push(format!("Content-Type: {main}/{sub}"));
            payload
        }
        _ => {
            headers.push(format!("Content-Type: {main}/{sub}"));
            content.unwrap_or_default().into_bytes()
        }
    };
    let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", quote(name));
    if let Some(file) = &filename {
        let base = file.rsplit('/').next().unwrap_or(file);
        disposition.push_str(&format!("; filename=\"{}\"", quote(base)));
    }
    headers.push(disposition);
    let mut out = headers.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(&crlf(&payload));
    Ok(out)
}

/// Base64 in lines of 76 characters, each ended, as `email.encoders.encode_base64`.
fn base64_lines(bytes: &[u8]) -> Vec<u8> {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.push(b'\n');
    }
    out
}

/// Line ends (`\r\n`, `\r`, `\n`) as CRLF, as the `email` generator writes them.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// A header parameter's value inside quotes.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Python's `mimetypes.guess_type`: the host's `/etc/mime.types`, then common types.
fn guess_type(filename: &str) -> String {
    let base = filename.rsplit('/').next().unwrap_or(filename);
    let Some((_, ext)) = base.rsplit_once('.') else {
        return "application/octet-stream".into();
    };
    let ext = ext.to_ascii_lowercase();
    if let Ok(table) = std::fs::read_to_string("/etc/mime.types") {
        let mut found = None;
        for line in table.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let mut words = line.split_whitespace();
            if let Some(mime) = words.next()
                && words.any(|w| w == ext)
            {
                found = Some(mime.to_owned());
            }
        }
        if let Some(mime) = found {
            return mime;
        }
    }
    let builtin: Map<String, Json> = serde_json::from_str(
        r#"{"txt":"text/plain","json":"application/json","html":"text/html","htm":"text/html",
        "xml":"text/xml","csv":"text/csv","css":"text/css","js":"text/javascript",
        "png":"image/png","jpg":"image/jpeg","jpeg":"image/jpeg","gif":"image/gif",
        "pdf":"application/pdf","zip":"application/zip","tar":"application/x-tar",
        "yaml":"application/yaml","yml":"application/yaml"}"#,
    )
    .unwrap_or_default();
    builtin
        .get(&ext)
        .and_then(Json::as_str)
        .unwrap_or("application/octet-stream")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn builds_pythons_multipart_body() {
        let fields = json!({
            "file1": {"filename": "formdata.txt"},
            "file2": {"content": "text based file content", "filename": "fake.txt", "mime_type": "text/plain"},
            "file3": {"filename": "formdata.txt", "multipart_encoding": "7or8bit"},
            "text_form_field1": "value1",
        });
        let read = |name: &str| -> Result<Vec<u8>, String> {
            assert_eq!(name, "formdata.txt");
            Ok(b"_multipart/form-data_\n".to_vec())
        };
        let (ct, body) = prepare(&fields, "B", &read).expect("a body");
        assert_eq!(ct, "multipart/form-data; boundary=\"B\"");
        let text = String::from_utf8(body).expect("utf-8");
        let mime = guess_type("formdata.txt");
        assert_eq!(
            text,
            format!(
                "--B\r\nContent-Transfer-Encoding: base64\r\nContent-Type: {mime}\r\n\
                 Content-Disposition: form-data; name=\"file1\"; filename=\"formdata.txt\"\r\n\r\n\
                 X211bHRpcGFydC9mb3JtLWRhdGFfCg==\r\n\
                 \r\n--B\r\nContent-Type: text/plain\r\n\
                 Content-Disposition: form-data; name=\"file2\"; filename=\"fake.txt\"\r\n\r\n\
                 text based file content\
                 \r\n--B\r\nContent-Transfer-Encoding: 7bit\r\nContent-Type: {mime}\r\n\
                 Content-Disposition: form-data; name=\"file3\"; filename=\"formdata.txt\"\r\n\r\n\
                 _multipart/form-data_\r\n\
                 \r\n--B\r\nContent-Type: text/plain\r\n\
                 Content-Disposition: form-data; name=\"text_form_field1\"\r\n\r\nvalue1\
                 \r\n--B--\r\n"
            )
        );
        let none = |_: &str| -> Result<Vec<u8>, String> { Err("unused".into()) };
        assert_eq!(
            prepare(&json!({"integer_value": 1}), "B", &none)
                .err()
                .as_deref(),
            Some("value must be a string, or mapping, cannot be type int")
        );
        assert_eq!(
            prepare(&json!([1]), "B", &none).err().as_deref(),
            Some("Mapping is required, cannot be type list")
        );
    }
}

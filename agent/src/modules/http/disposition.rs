//! The file name a response gives for itself (`Content-Disposition`), as Ansible's
//! `get_url` and `uri` take it when they download into a directory.

/// The file name a `Content-Disposition` header gives (`filename=` or RFC 5987
/// `filename*=UTF-8''...`), without any directory part; `None` when absent or unusable.
pub(in crate::modules) fn file_name(header: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for param in header.split(';').skip(1) {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "filename" => plain = Some(value.to_owned()),
            "filename*" => {
                let encoded = value.split_once("''").map_or(value, |(_, v)| v);
                extended = Some(percent_decode(encoded));
            }
            _ => {}
        }
    }
    let name = extended.or(plain)?;
    // Avoid directory traversal, as Ansible.
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").to_owned();
    (!base.is_empty() && base != "." && base != "..").then_some(base)
}

/// `s` with each `%XX` replaced by its byte (urllib's `unquote`, lossy UTF-8): a file
/// URL's path, a `Content-Disposition` name.
pub(in crate::modules) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_names() {
        let name = |h: &str| file_name(h);
        assert_eq!(
            name("attachment; filename=\"a.tar.gz\"").as_deref(),
            Some("a.tar.gz")
        );
        assert_eq!(name("attachment; filename=b.txt").as_deref(), Some("b.txt"));
        assert_eq!(
            name("attachment; filename=\"../../etc/passwd\"").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            name("attachment; filename=x; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf").as_deref(),
            Some("résumé.pdf")
        );
        assert_eq!(name("inline"), None);
        assert_eq!(name("attachment; filename=\"..\""), None);
    }
}

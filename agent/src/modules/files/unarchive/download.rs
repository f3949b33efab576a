//! `remote_src: true` with a URL `src`: the host downloads the archive first, as
//! Ansible's `fetch_file`, into a temporary file removed after the task.

use std::time::Duration;

use crate::modules::http::{self, TlsOptions, Url, mask_url};

/// How long a download may stall (Ansible's `fetch_file` default).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Downloads `url` into a new temporary file named after it; the error is Ansible's
/// message.
pub fn fetch(url: &str, validate_certs: bool) -> Result<tempfile::NamedTempFile, String> {
    let shown = mask_url(url);
    let failure = |why: String| format!("Failure downloading {shown}, {why}");
    let parsed = Url::parse(url).map_err(|e| failure(e.to_string()))?;
    let tls = TlsOptions {
        validate_certs,
        ..TlsOptions::default()
    };
    let exchange = http::get(&parsed, &tls, TIMEOUT).map_err(|e| failure(e.to_string()))?;
    if exchange.status != 200 {
        return Err(failure(format!(
            "HTTP Error {}: {}",
            exchange.status, exchange.reason
        )));
    }
    let base = url
        .split(['?', '#'])
        .next()
        .and_then(|u| u.rsplit('/').next())
        .filter(|b| !b.is_empty())
        .unwrap_or("archive");
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{base}."))
        .tempfile()
        .map_err(|e| failure(format!("cannot create a temporary file: {e}")))?;
    exchange
        .copy_body(tmp.as_file_mut())
        .map_err(|e| failure(e.to_string()))?;
    Ok(tmp)
}

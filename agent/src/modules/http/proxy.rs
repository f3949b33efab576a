//! `use_proxy`: the proxy a request goes through, chosen from the environment as Python's
//! urllib chooses it (`getproxies_environment`, `proxy_bypass_environment`): `<scheme>_proxy`
//! (lower case preferred over upper case; the task's `environment:` first), unless the host
//! is in `no_proxy`.

use super::{Scheme, Url};
use crate::modules::path_arg;

/// The proxy URL for `url`, if the environment names one and `no_proxy` does not exempt
/// the host.
pub(in crate::modules) fn for_url(environment: &[(String, String)], url: &Url) -> Option<String> {
    let scheme = match url.scheme {
        Scheme::Http => "http",
        Scheme::Https => "https",
        Scheme::File => return None,
    };
    let var = |name: &str| {
        path_arg::env_var(environment, &name.to_ascii_lowercase())
            .or_else(|| path_arg::env_var(environment, &name.to_ascii_uppercase()))
            .filter(|v| !v.is_empty())
    };
    let proxy = var(&format!("{scheme}_proxy"))?;
    let no_proxy = var("no_proxy").unwrap_or_default();
    (!bypassed(&no_proxy, &url.host, url.port)).then_some(proxy)
}

/// Whether `no_proxy` (comma-separated names, `*` for all) exempts `host`.
fn bypassed(no_proxy: &str, host: &str, port: u16) -> bool {
    if no_proxy.trim() == "*" {
        return true;
    }
    let host = host.to_ascii_lowercase();
    let with_port = format!("{host}:{port}");
    no_proxy
        .split(',')
        .map(|n| n.trim().trim_start_matches('.').to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .any(|name| {
            let dotted = format!(".{name}");
            host == name || with_port == name || host.ends_with(&dotted)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn picks_the_schemes_proxy_unless_no_proxy_exempts_the_host() {
        let url = Url::parse("https://api.example.com/x").expect("url");
        let e = env(&[("https_proxy", "https://localhost:3456")]);
        assert_eq!(for_url(&e, &url).as_deref(), Some("https://localhost:3456"));
        let plain = Url::parse("http://api.example.com/x").expect("url");
        let only_https = env(&[
            ("https_proxy", "https://localhost:3456"),
            ("http_proxy", ""),
        ]);
        assert_eq!(for_url(&only_https, &plain), None);
        for exempt in ["example.com", ".example.com", "*", "other, api.example.com"] {
            let e = env(&[("https_proxy", "http://p:1"), ("no_proxy", exempt)]);
            assert_eq!(for_url(&e, &url), None, "{exempt}");
        }
        let e = env(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "ample.com")]);
        assert_eq!(for_url(&e, &url).as_deref(), Some("http://p:1"));
    }
}

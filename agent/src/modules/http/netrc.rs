//! `use_netrc`: the login and password a netrc file holds for a URL's host, as Ansible's
//! `_configure_auth` reads them (Python's `netrc`): the file `$NETRC` names (the task's
//! `environment:` first), else `~/.netrc`; the host's `machine` entry, else `default`. A
//! missing or unreadable file gives none.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::modules::path_arg;

/// `(login, password)` for `host` (lower case, no port), when both are non-empty.
pub(in crate::modules) fn credentials(
    environment: &[(String, String)],
    host: &str,
) -> Option<(String, String)> {
    let path = match path_arg::env_var(environment, "NETRC") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(path_arg::env_var(environment, "HOME")?).join(".netrc"),
    };
    let text = std::fs::read_to_string(path).ok()?;
    lookup(&text, host).filter(|(login, password)| !login.is_empty() && !password.is_empty())
}

/// The entry for `host` in netrc `text`; a later entry for the same machine wins.
fn lookup(text: &str, host: &str) -> Option<(String, String)> {
    let mut entries: HashMap<Option<String>, (String, String)> = HashMap::new();
    let mut current: Option<Option<String>> = None;
    let mut in_macdef = false;
    let mut tokens = Vec::new();
    for line in text.lines() {
        // A macro definition runs to the next empty line.
        if in_macdef {
            in_macdef = !line.trim().is_empty();
            continue;
        }
        if line.trim_start().starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = words.iter().position(|w| *w == "macdef") {
            tokens.extend(words[..i].iter().map(|w| w.to_string()));
            in_macdef = true;
            continue;
        }
        tokens.extend(words.iter().map(|w| w.to_string()));
    }
    let mut it = tokens.into_iter();
    while let Some(token) = it.next() {
        match token.as_str() {
            "machine" => {
                let name = it.next()?;
                entries.insert(Some(name.clone()), Default::default());
                current = Some(Some(name));
            }
            "default" => {
                entries.insert(None, Default::default());
                current = Some(None);
            }
            "login" | "user" | "password" | "account" => {
                let value = it.next()?;
                let Some(entry) = current.as_ref().and_then(|c| entries.get_mut(c)) else {
                    continue;
                };
                match token.as_str() {
                    "password" => entry.1 = value,
                    "account" => {}
                    _ => entry.0 = value,
                }
            }
            _ => {}
        }
    }
    entries
        .remove(&Some(host.to_owned()))
        .or_else(|| entries.remove(&None))
}

#[cfg(test)]
mod tests {
    use super::lookup;

    #[test]
    fn machine_then_default() {
        let text = "# comment\nmachine a.example login u1 password p1\n\
                    machine b.example\n  login u2\n  password p2\n\
                    macdef init\ncd /\n\ndefault login anon password x\n";
        let pair = |l: &str, p: &str| Some((l.to_owned(), p.to_owned()));
        assert_eq!(lookup(text, "a.example"), pair("u1", "p1"));
        assert_eq!(lookup(text, "b.example"), pair("u2", "p2"));
        assert_eq!(lookup(text, "c.example"), pair("anon", "x"));
        assert_eq!(lookup("machine a login u password p", "b"), None);
    }
}

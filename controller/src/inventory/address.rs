//! Host names with an optional port, as Ansible reads them: `parse_address` in
//! ansible-core's `parsing/utils/addresses.py` and `_expand_hostpattern` in
//! `plugins/inventory/__init__.py`.
//!
//! `web1:2222` is host `web1` on port 2222, `[::1]:2222` an IPv6 address with a port,
//! `db-[01:03]:5432` three hosts sharing a port. A name that is not a valid host name
//! (`weird!name:22`) is taken whole, port included, as Ansible does.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::range;

static BRACKETED_HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[(.+)\]:([0-9]+)$").expect("valid regex"));

static HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").expect("valid regex"));

static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    let c = r"(?:[0-9a-f]{1,4}|\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\])";
    let pattern = format!(
        "(?i)^((?:{c}:){{7}}{c}|(?:{c}:){{1,6}}:|(?:{c}:)(?::{c}){{1,6}}|(?:{c}:){{2}}(?::{c}){{1,5}}|\
         (?:{c}:){{3}}(?::{c}){{1,4}}|(?:{c}:){{4}}(?::{c}){{1,3}}|(?:{c}:){{5}}(?::{c}){{1,2}}|\
         (?:{c}:){{6}}(?::{c})|:(?::{c}){{1,6}}|{c}?::|(?:0:){{6}}(?:{c}\\.){{3}}{c}|\
         ::(?:ffff:)?(?:{c}\\.){{3}}{c}|(?:0:){{5}}ffff:(?:{c}\\.){{3}}{c})$"
    );
    Regex::new(&pattern).expect("valid regex")
});

/// A port as Ansible stores it in `ansible_port` (an integer).
pub(super) type Port = Value;

/// `parse_address(address, allow_ranges)`: the host and its port, or `None` when Ansible
/// raises (not a host name, IPv4 or IPv6 address; or a range where none is allowed).
pub(super) fn parse_address(address: &str, allow_ranges: bool) -> Option<(String, Option<Port>)> {
    let mut address = address.to_owned();
    let mut port = None;
    for pattern in [&*BRACKETED_HOSTPORT, &*HOSTPORT] {
        if let Some(caps) = pattern.captures(&address) {
            port = Some(int_value(&caps[2]));
            address = caps[1].to_owned();
        }
    }
    // Every IPv4 address (ranges included) is also a host name by Ansible's patterns.
    if address.is_empty() || !(IPV6.is_match(&address) || is_hostname(&address)) {
        return None;
    }
    if !allow_ranges && address.contains('[') {
        return None;
    }
    Some((address, port))
}

/// `_expand_hostpattern`: the host names a pattern stands for, and their port.
pub(super) fn expand_pattern(pattern: &str) -> Result<(Vec<String>, Option<Port>), String> {
    let (name, port) = parse_address(pattern, true).unwrap_or_else(|| (pattern.to_owned(), None));
    Ok((range::expand(&name)?, port))
}

/// An integer from decimal digits (beyond 64 bits, the nearest float).
fn int_value(digits: &str) -> Value {
    digits
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| digits.parse::<f64>().map_or(Value::Null, Value::from))
}

/// Whether a port is one Ansible sets (`if port:` skips 0).
pub(super) fn is_set(port: &Port) -> bool {
    port.as_f64().is_some_and(|p| p != 0.0)
}

/// Ansible's `hostname` pattern: dot-separated labels of word characters and `-`, with
/// `[a:z]`/`[0:9]` ranges allowed anywhere, each starting with a word character or a range
/// and not ending in `_` or `-`.
fn is_hostname(name: &str) -> bool {
    name.split('.').all(|label| {
        let chars: Vec<char> = label.chars().collect();
        let mut i = 0;
        let mut last = None;
        while i < chars.len() {
            if chars[i] == '[' {
                let Some(len) = range_len(&chars[i..]) else {
                    return false;
                };
                i += len;
                last = Some(']');
                continue;
            }
            let c = chars[i];
            let word = c.is_alphanumeric() || c == '_';
            if !(word || (last.is_some() && c == '-')) {
                return false;
            }
            last = Some(c);
            i += 1;
        }
        last.is_some_and(|c| c != '_' && c != '-')
    })
}

/// The length of an `alphanumeric_range` (`[a:f]`, `[1:10]`, `[1:10:2]`) at the start.
fn range_len(chars: &[char]) -> Option<usize> {
    let mut i = 1;
    let letter = |c: Option<&char>| c.is_some_and(char::is_ascii_alphabetic);
    let digits = |i: &mut usize| {
        let start = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if letter(chars.get(i)) && chars.get(i + 1) == Some(&':') && letter(chars.get(i + 2)) {
        i += 3;
    } else {
        if !digits(&mut i) || chars.get(i) != Some(&':') {
            return None;
        }
        i += 1;
        if !digits(&mut i) {
            return None;
        }
    }
    if chars.get(i) == Some(&':') {
        i += 1;
        if !digits(&mut i) {
            return None;
        }
    }
    (chars.get(i) == Some(&']')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Option<(String, Option<Value>)> {
        parse_address(s, true)
    }

    #[test]
    fn ports_split_off_valid_hosts_only() {
        assert_eq!(parse("web1:2222"), Some(("web1".into(), Some(json!(2222)))));
        assert_eq!(parse("[::1]:33"), Some(("::1".into(), Some(json!(33)))));
        assert_eq!(parse("fe80::1"), Some(("fe80::1".into(), None)));
        assert_eq!(
            parse("10.0.0.[1:3]:22"),
            Some(("10.0.0.[1:3]".into(), Some(json!(22))))
        );
        assert_eq!(
            parse("db-[01:03]:5432"),
            Some(("db-[01:03]".into(), Some(json!(5432))))
        );
        assert_eq!(parse("weird!name:22"), None);
        assert_eq!(parse("-lead"), None);
        assert_eq!(parse("trail-"), None);
        assert_eq!(parse("_under"), Some(("_under".into(), None)));
        assert_eq!(parse_address("h[1:2]", false), None);
    }

    #[test]
    fn patterns_expand_with_their_port() {
        assert_eq!(
            expand_pattern("w[1:2]:22").unwrap(),
            (vec!["w1".into(), "w2".into()], Some(json!(22)))
        );
        assert_eq!(
            expand_pattern("weird!name:22").unwrap(),
            (vec!["weird!name:22".into()], None)
        );
    }
}

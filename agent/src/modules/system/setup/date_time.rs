//! `ansible_date_time`, as Ansible's collector builds it (`module_utils/facts/system/
//! date_time.py`): the local time's fields as strings, the epoch, ISO 8601 forms (UTC for
//! `iso8601`/`_micro`, local for `_basic`), and the time zone's names and offset. The zone
//! names come from the POSIX rule `TZ` gives, or the one at the end of `/etc/localtime`
//! (`CET-1CEST,M3.5.0,M10.5.0/3`), as the C library's `tzname` has them.

use std::collections::BTreeMap;

use chrono::{DateTime, Local, Utc};
use serde_json::{Map, Value as Json};

/// Adds `date_time` to `f`.
pub(super) fn add(f: &mut BTreeMap<String, Json>) {
    f.insert("date_time".into(), Json::Object(facts(Utc::now())));
}

fn facts(utc: DateTime<Utc>) -> Map<String, Json> {
    let now = utc.with_timezone(&Local);
    let mut m = Map::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_owned(), Json::String(v));
    };
    for (k, format) in [
        ("year", "%Y"),
        ("month", "%m"),
        ("weekday", "%A"),
        ("weekday_number", "%w"),
        ("weeknumber", "%W"),
        ("day", "%d"),
        ("hour", "%H"),
        ("minute", "%M"),
        ("second", "%S"),
        ("date", "%Y-%m-%d"),
        ("time", "%H:%M:%S"),
        ("iso8601_basic", "%Y%m%dT%H%M%S%6f"),
        ("iso8601_basic_short", "%Y%m%dT%H%M%S"),
        ("tz_offset", "%z"),
    ] {
        put(k, now.format(format).to_string());
    }
    put("epoch", utc.timestamp().to_string());
    put("epoch_int", utc.timestamp().to_string());
    put(
        "iso8601_micro",
        utc.format("%Y-%m-%dT%H:%M:%S.%6fZ").to_string(),
    );
    put("iso8601", utc.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    let offset = now.offset().local_minus_utc();
    let (std, dst) = zone_names();
    let std = std.unwrap_or_else(|| {
        if offset == 0 {
            "UTC".into()
        } else {
            now.format("%z").to_string()
        }
    });
    let tz = match (&dst, std_offset()) {
        (Some(dst), Some(std_off)) if std_off != offset => dst.clone(),
        _ => std.clone(),
    };
    put("tz", tz);
    put("tz_dst", dst.unwrap_or(std));
    m
}

/// The POSIX rule in effect: `TZ` (unless it names a file), else the footer of
/// `/etc/localtime` (or of the file `TZ` names).
fn rule() -> Option<String> {
    let file = match std::env::var("TZ") {
        Ok(tz) if !tz.is_empty() && !tz.starts_with(':') && !tz.contains('/') => return Some(tz),
        Ok(tz) if !tz.is_empty() => {
            let name = tz.trim_start_matches(':');
            if name.starts_with('/') {
                name.to_owned()
            } else {
                format!("/usr/share/zoneinfo/{name}")
            }
        }
        _ => "/etc/localtime".to_owned(),
    };
    let bytes = std::fs::read(file).ok()?;
    // TZif version 2 and later end with "\n<rule>\n".
    let text = String::from_utf8_lossy(bytes.strip_suffix(b"\n")?);
    let start = text.rfind('\n')?;
    Some(text[start + 1..].to_owned()).filter(|r| !r.is_empty())
}

/// The standard and daylight-saving names of the rule in effect.
fn zone_names() -> (Option<String>, Option<String>) {
    let Some(rule) = rule() else {
        return (None, None);
    };
    let (std, rest) = name(&rule);
    let offset_len = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '+' | '-' | ':')))
        .unwrap_or(rest.len());
    let (dst, _) = name(&rest[offset_len..]);
    (std, dst)
}

/// The standard time's offset east of UTC in seconds, from the rule in effect.
fn std_offset() -> Option<i32> {
    let rule = rule()?;
    let (_, rest) = name(&rule);
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '+' | '-' | ':')))
        .unwrap_or(rest.len());
    let text = &rest[..end];
    let (sign, digits) = match text.strip_prefix('-') {
        Some(d) => (1, d),
        None => (-1, text.trim_start_matches('+')),
    };
    let mut parts = digits.split(':').map(|p| p.parse::<i32>().ok());
    let hours = parts.next()??;
    let minutes = parts.next().flatten().unwrap_or(0);
    // POSIX offsets are west of UTC: `CET-1` is one hour east.
    Some(sign * (hours * 3600 + minutes * 60))
}

/// A zone name at the start of `s` (`CET`, or `<+03>` quoted) and what follows it.
fn name(s: &str) -> (Option<String>, &str) {
    if let Some(quoted) = s.strip_prefix('<') {
        return match quoted.find('>') {
            Some(end) => (Some(quoted[..end].to_owned()), &quoted[end + 1..]),
            None => (None, s),
        };
    }
    let end = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    if end < 3 {
        return (None, s);
    }
    (Some(s[..end].to_owned()), &s[end..])
}

#[cfg(test)]
mod tests {
    use super::name;

    #[test]
    fn zone_names_are_read_from_posix_rules() {
        assert_eq!(
            name("CET-1CEST,M3.5.0"),
            (Some("CET".into()), "-1CEST,M3.5.0")
        );
        assert_eq!(name("<+03>-3"), (Some("+03".into()), "-3"));
        assert_eq!(name("UTC0"), (Some("UTC".into()), "0"));
        assert_eq!(name("-1"), (None, "-1"));
    }
}

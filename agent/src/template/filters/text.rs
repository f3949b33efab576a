//! Strings: base64 with options, `regex_escape`, `comment`, `split`, `urldecode`,
//! `urlsplit`, `from_yaml`/`from_yaml_all`, `to_uuid`, `strftime` and `to_datetime`.

use base64::Engine as _;
use minijinja::value::{Kwargs, Object, ValueKind};
use minijinja::{Environment, Error, Value};
use serde_json::Value as Json;

use super::encoding::Codec;
use super::{invalid, opt_arg, string_of};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "b64encode", b64encode);
    super::strict::add(env, "b64decode", b64decode);
    super::strict::add(env, "regex_escape", regex_escape);
    super::strict::add(env, "comment", comment);
    super::strict::add(env, "split", split);
    super::strict::add(env, "urldecode", urldecode);
    super::strict::add(env, "urlsplit", urlsplit);
    super::strict::add(env, "urlencode", urlencode);
    super::strict::add(env, "center", center);
    // Jinja counts `\w+` runs, not whitespace-separated words (`a-b` is two).
    super::strict::add(env, "wordcount", |v: Value| -> Result<usize, Error> {
        let text = string_of(&v)?;
        let words = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .count();
        Ok(words)
    });
    super::strict::add(env, "from_yaml", from_yaml);
    super::strict::add(env, "from_yaml_all", from_yaml_all);
    super::strict::add(env, "to_uuid", to_uuid);
    super::strict::add(env, "strftime", strftime);
    super::strict::add(env, "to_datetime", to_datetime);
    env.add_function("now", now);
}

/// Ansible's `now(utc=False, fmt=None)` global: the time now, local or UTC, as a datetime,
/// or formatted with Python's `strftime` codes when `fmt` is given.
fn now(kwargs: Kwargs) -> Result<Value, Error> {
    let utc = kwargs
        .get::<Option<Value>>("utc")?
        .is_some_and(|u| u.is_true());
    let fmt = kwargs.get::<Option<String>>("fmt")?;
    kwargs.assert_all_used()?;
    let now = chrono::Local::now();
    Ok(match fmt {
        // Python's `%f` is microseconds, six digits; chrono's `%6f` is the same.
        Some(fmt) => {
            let fmt = fmt.replace("%f", "%6f");
            let items = chrono::format::StrftimeItems::new(&fmt);
            let text = if utc {
                now.with_timezone(&chrono::Utc).format_with_items(items)
            } else {
                now.format_with_items(items)
            };
            Value::from(text.to_string())
        }
        None if utc => Value::from_object(DateTime(now.naive_utc())),
        None => Value::from_object(DateTime(now.naive_local())),
    })
}

fn b64_engine(urlsafe: bool) -> &'static base64::engine::GeneralPurpose {
    if urlsafe {
        &base64::engine::general_purpose::URL_SAFE
    } else {
        &base64::engine::general_purpose::STANDARD
    }
}

/// The `encoding=` of a `b64encode`/`b64decode` (UTF-8 when not given).
fn codec(kwargs: &Kwargs) -> Result<Codec, Error> {
    match kwargs.get::<Option<String>>("encoding")? {
        None => Ok(Codec::Utf8),
        Some(e) => Codec::named(&e).ok_or_else(|| {
            invalid(format!(
                "b64: encoding `{e}` is not supported by dr (it has the UTF-8, UTF-16 and UTF-32 codecs, latin-1 and ascii)"
            ))
        }),
    }
}

fn b64encode(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let codec = codec(&kwargs)?;
    let urlsafe = kwargs.get::<Option<bool>>("urlsafe")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let bytes = match crate::template::bytes::of(&v) {
        // Bytes (`!!binary`) are encoded as they are, as in Ansible.
        Some(bytes) => bytes.to_vec(),
        _ => codec
            .encode(&string_of(&v)?)
            .map_err(|e| invalid(format!("b64encode: {e}")))?,
    };
    Ok(b64_engine(urlsafe).encode(bytes))
}

fn b64decode(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let codec = codec(&kwargs)?;
    let urlsafe = kwargs.get::<Option<bool>>("urlsafe")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let s = string_of(&v)?;
    // Python's decoder drops characters outside the alphabet before decoding.
    let cleaned: String = s
        .chars()
        .filter(|c| {
            c.is_ascii_alphanumeric()
                || *c == '='
                || if urlsafe {
                    "-_".contains(*c)
                } else {
                    "+/".contains(*c)
                }
        })
        .collect();
    let bytes = b64_engine(urlsafe)
        .decode(cleaned.as_bytes())
        .map_err(|e| invalid(format!("b64decode: invalid base64: {e}")))?;
    codec
        .decode(&bytes)
        .map_err(|e| invalid(format!("b64decode: {e}")))
}

fn regex_escape(v: Value, re_type: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let s = string_of(&v)?;
    let re_type = opt_arg(re_type, &kwargs, "re_type")?;
    kwargs.assert_all_used()?;
    let special: &str = match re_type.as_deref().unwrap_or("python") {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}",
        "posix_basic" => "].[^$*\\",
        "posix_extended" => {
            return Err(invalid("Regex type (posix_extended) not yet implemented"));
        }
        other => return Err(invalid(format!("Invalid regex type ({other})"))),
    };
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

fn comment(text: Value, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let text = string_of(&text)?;
    let style = opt_arg(style, &kwargs, "style")?.unwrap_or_else(|| "plain".to_owned());
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            return Err(invalid(format!(
                "Invalid style '{other}'. Available styles: plain, erlang, c, cblock, xml"
            )));
        }
    };
    let get = |name: &str, dflt: &str| -> Result<String, Error> {
        Ok(match kwargs.get::<Option<Value>>(name)? {
            Some(v) => super::super::pyrepr::python_str(&v),
            None => dflt.to_owned(),
        })
    };
    let prepostfix = get("decoration", decoration)?;
    let newline = get("newline", "\n")?;
    let beginning = get("beginning", beginning)?;
    let prefix = get("prefix", prepostfix.trim_end())?;
    let prefix_count: usize = kwargs.get::<Option<usize>>("prefix_count")?.unwrap_or(1);
    let decoration = get("decoration", decoration)?;
    let postfix = get("postfix", prepostfix.trim_end())?;
    let postfix_count: usize = kwargs.get::<Option<usize>>("postfix_count")?.unwrap_or(1);
    let end = get("end", end)?;
    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        let unit = if prefix != newline {
            format!("{prefix}{newline}")
        } else {
            newline.clone()
        };
        out.push_str(&unit.repeat(prefix_count));
    }
    let body = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    )
    .replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    );
    out.push_str(&body);
    for _ in 0..postfix_count {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(out)
}

/// Python's `str.split(sep, maxsplit)`.
fn split(v: Value, sep: Option<Value>, maxsplit: Option<i64>) -> Result<Value, Error> {
    let s = string_of(&v)?;
    let max = maxsplit.filter(|m| *m >= 0).map(|m| m as usize);
    let parts: Vec<Value> = match sep.as_ref().and_then(Value::as_str) {
        Some("") => return Err(invalid("empty separator")),
        Some(sep) => match max {
            Some(m) => s.splitn(m + 1, sep).map(Value::from).collect(),
            None => s.split(sep).map(Value::from).collect(),
        },
        None => {
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if max.is_some_and(|m| out.len() == m) {
                    out.push(Value::from(rest));
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                out.push(Value::from(&rest[..end]));
                rest = rest[end..].trim_start();
            }
            out
        }
    };
    Ok(Value::from(parts))
}

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = &bytes[i + 1..i + 3];
                match std::str::from_utf8(hex)
                    .ok()
                    .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes UTF-8 bytes except letters, digits, `_.-~` and those in `safe`.
fn percent_encode(s: &str, safe: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.as_bytes().contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query-string part: spaces as `+`.
fn quote_plus(s: &str) -> String {
    percent_encode(s, "").replace("%20", "+")
}

/// Jinja2's `urlencode`: a string keeps `/`; a mapping or list of pairs becomes a query.
fn urlencode(v: Value) -> Result<String, Error> {
    let text = |x: &Value| super::super::pyrepr::python_str(x);
    match v.kind() {
        ValueKind::Map => Ok(v
            .try_iter()?
            .map(|k| {
                let val = v.get_item(&k).unwrap_or_default();
                format!("{}={}", quote_plus(&text(&k)), quote_plus(&text(&val)))
            })
            .collect::<Vec<_>>()
            .join("&")),
        ValueKind::Seq | ValueKind::Iterable => Ok(v
            .try_iter()?
            .map(|pair| {
                let k = pair.get_item(&Value::from(0)).unwrap_or_default();
                let val = pair.get_item(&Value::from(1)).unwrap_or_default();
                format!("{}={}", quote_plus(&text(&k)), quote_plus(&text(&val)))
            })
            .collect::<Vec<_>>()
            .join("&")),
        _ => Ok(percent_encode(&string_of(&v)?, "/")),
    }
}

/// Python's `str.center(width)`.
fn center(v: Value, width: Option<usize>) -> Result<String, Error> {
    let s = string_of(&v)?;
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if width <= len {
        return Ok(s);
    }
    let pad = width - len;
    let left = pad / 2 + (pad & width & 1);
    Ok(format!("{}{s}{}", " ".repeat(left), " ".repeat(pad - left)))
}

fn urldecode(v: Value) -> Result<String, Error> {
    Ok(percent_decode(&string_of(&v)?, true))
}

/// The parts of a URL as Python's `urllib.parse.urlsplit` gives them.
pub(super) struct UrlParts {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub query: String,
    pub fragment: String,
}

pub(super) fn split_url(url: &str) -> UrlParts {
    let url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !"\t\r\n".contains(*c))
        .collect();
    let mut rest = url.as_str();
    let mut scheme = String::new();
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        if cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = cand.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    let mut netloc = String::new();
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = after[..end].to_owned();
        rest = &after[end..];
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    UrlParts {
        scheme,
        netloc,
        path: path.to_owned(),
        query: query.to_owned(),
        fragment: fragment.to_owned(),
    }
}

fn urlsplit(v: Value, query: Option<String>) -> Result<Value, Error> {
    let p = split_url(&string_of(&v)?);
    let (userinfo, hostinfo) = match p.netloc.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, p.netloc.as_str()),
    };
    let (username, password) = match userinfo {
        None => (Json::Null, Json::Null),
        Some(u) => match u.split_once(':') {
            Some((a, b)) => (Json::from(a), Json::from(b)),
            None => (Json::from(u), Json::Null),
        },
    };
    let (host, port) = if let Some(rest) = hostinfo.strip_prefix('[') {
        let (h, after) = rest.split_once(']').unwrap_or((rest, ""));
        (h, after.strip_prefix(':'))
    } else {
        match hostinfo.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostinfo, None),
        }
    };
    let hostname = if host.is_empty() {
        Json::Null
    } else {
        Json::from(host.to_lowercase())
    };
    let port = match port.filter(|p| !p.is_empty()) {
        None => Json::Null,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if p.chars().all(|c| c.is_ascii_digit()) => Json::from(n),
            _ => {
                return Err(invalid(format!(
                    "Port could not be cast to integer value as '{p}'"
                )));
            }
        },
    };
    let mut map = serde_json::Map::new();
    map.insert("fragment".into(), Json::from(p.fragment));
    map.insert("hostname".into(), hostname);
    map.insert("netloc".into(), Json::from(p.netloc.clone()));
    map.insert("password".into(), password);
    map.insert("path".into(), Json::from(p.path));
    map.insert("port".into(), port);
    map.insert("query".into(), Json::from(p.query));
    map.insert("scheme".into(), Json::from(p.scheme));
    map.insert("username".into(), username);
    match query.filter(|q| !q.is_empty()) {
        None => Ok(Value::from(minijinja::value::Serde(&map))),
        Some(q) => map
            .get(&q)
            .map(|v| Value::from(minijinja::value::Serde(v)))
            .ok_or_else(|| invalid(format!("urlsplit: unknown URL component: {q}"))),
    }
}

fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { legacy_octal_numbers: true, }
}

fn from_yaml(v: Value) -> Result<Value, Error> {
    match v.kind() {
        ValueKind::None => Ok(v),
        ValueKind::String => {
            let json: Json =
                serde_saphyr::from_str_with_options(v.as_str().unwrap_or(""), yaml_options())
                    .map_err(|e| invalid(format!("from_yaml: invalid YAML: {e}")))?;
            Ok(Value::from(minijinja::value::Serde(&json)))
        }
        _ => Ok(v),
    }
}

fn from_yaml_all(v: Value) -> Result<Value, Error> {
    match v.kind() {
        ValueKind::None => Ok(Value::from(Vec::<Value>::new())),
        ValueKind::String => {
            let docs: Vec<Json> =
                serde_saphyr::from_multiple_with_options(v.as_str().unwrap_or(""), yaml_options())
                    .map_err(|e| invalid(format!("from_yaml_all: invalid YAML: {e}")))?;
            Ok(Value::from(minijinja::value::Serde(&docs)))
        }
        _ => Ok(v),
    }
}

/// Ansible's namespace for `to_uuid`.
const ANSIBLE_NAMESPACE: uuid::Uuid = uuid::uuid!("361E6D51-FAEC-444A-9079-341386DA8E2E");

fn to_uuid(v: Value, namespace: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let ns = match opt_arg::<String>(namespace, &kwargs, "namespace")? {
        None => ANSIBLE_NAMESPACE,
        Some(n) => uuid::Uuid::parse_str(&n)
            .map_err(|e| invalid(format!("Invalid value '{n}' for 'namespace': {e}")))?,
    };
    kwargs.assert_all_used()?;
    Ok(uuid::Uuid::new_v5(&ns, string_of(&v)?.as_bytes()).to_string())
}

fn strftime(
    format: Value,
    second: Option<Value>,
    utc: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let format = string_of(&format)?;
    let second = opt_arg::<Value>(second, &kwargs, "second")?.filter(|s| !s.is_none());
    let utc = opt_arg::<Value>(utc, &kwargs, "utc")?.is_some_and(|u| u.is_true());
    kwargs.assert_all_used()?;
    let when = match second {
        None => chrono::Utc::now(),
        Some(s) => {
            let f = match s.kind() {
                ValueKind::Number => f64::try_from(s.clone()).ok(),
                ValueKind::String => s.as_str().and_then(|t| t.trim().parse::<f64>().ok()),
                _ => None,
            }
            .ok_or_else(|| invalid(format!("Invalid value for epoch value ({s})")))?;
            chrono::DateTime::from_timestamp(f.trunc() as i64, 0)
                .ok_or_else(|| invalid(format!("Invalid value for epoch value ({s})")))?
        }
    };
    let items = chrono::format::StrftimeItems::new(&format);
    let out = if utc {
        when.format_with_items(items).to_string()
    } else {
        when.with_timezone(&chrono::Local)
            .format_with_items(items)
            .to_string()
    };
    Ok(out)
}

/// A naive date and time, as Python's `datetime` prints and offers it.
#[derive(Debug)]
struct DateTime(chrono::NaiveDateTime);

impl Object for DateTime {
    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        use chrono::{Datelike as _, Timelike as _};
        let d = &self.0;
        Some(Value::from(match key.as_str()? {
            "year" => d.year() as i64,
            "month" => d.month() as i64,
            "day" => d.day() as i64,
            "hour" => d.hour() as i64,
            "minute" => d.minute() as i64,
            "second" => d.second() as i64,
            "microsecond" => (d.nanosecond() / 1000) as i64,
            _ => return None,
        }))
    }

    fn call_method(
        self: &std::sync::Arc<Self>,
        _state: &mut minijinja::State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let f = args.first().and_then(Value::as_str).unwrap_or("");
                Ok(Value::from(self.0.format(f).to_string()))
            }
            "timestamp" => Ok(Value::from(
                self.0
                    .and_local_timezone(chrono::Local)
                    .single()
                    .map_or(0.0, |t| t.timestamp_micros() as f64 / 1e6),
            )),
            "isoformat" => Ok(Value::from(
                self.0.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            )),
            _ => Err(Error::from(minijinja::ErrorKind::UnknownMethod)),
        }
    }

    /// Datetimes compare as points in time, as Python's do (`a < b`, `a == b`).
    fn custom_cmp(
        self: &std::sync::Arc<Self>,
        other: &minijinja::value::DynObject,
    ) -> Option<std::cmp::Ordering> {
        Some(self.0.cmp(&other.downcast_ref::<Self>()?.0))
    }

    fn render(self: &std::sync::Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use chrono::Timelike as _;
        if self.0.nanosecond() == 0 {
            write!(f, "{}", self.0.format("%Y-%m-%d %H:%M:%S"))
        } else {
            write!(f, "{}", self.0.format("%Y-%m-%d %H:%M:%S%.6f"))
        }
    }
}

fn to_datetime(v: Value, format: Option<String>) -> Result<Value, Error> {
    let s = string_of(&v)?;
    let format = format.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".to_owned());
    let parsed = chrono::NaiveDateTime::parse_from_str(&s, &format)
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(&s, &format)
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .map_err(|_| invalid(format!("time data '{s}' does not match format '{format}'")))?;
    Ok(Value::from_object(DateTime(parsed)))
}

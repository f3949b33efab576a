//! The `version` test: loose, strict, semantic and PEP 440 version comparison.

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Rest};
use minijinja::{Error, Value};

use super::{invalid, opt_arg};

/// One part of a loose version: numbers compare as numbers, words as words.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Num(u128),
    Word(String),
}

fn loose(v: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut digits = false;
    let flush = |cur: &mut String, digits: bool, out: &mut Vec<Part>| {
        if !cur.is_empty() {
            out.push(if digits {
                cur.parse()
                    .map_or_else(|_| Part::Word(cur.clone()), Part::Num)
            } else {
                Part::Word(cur.clone())
            });
            cur.clear();
        }
    };
    for c in v.chars() {
        if c == '.' {
            flush(&mut cur, digits, &mut out);
            continue;
        }
        let d = c.is_ascii_digit();
        if !cur.is_empty() && d != digits {
            flush(&mut cur, digits, &mut out);
        }
        digits = d;
        cur.push(c);
    }
    flush(&mut cur, digits, &mut out);
    out
}

fn cmp_loose(a: &str, b: &str) -> Result<Ordering, String> {
    let (a, b) = (loose(a), loose(b));
    for (x, y) in a.iter().zip(&b) {
        let o = match (x, y) {
            (Part::Num(x), Part::Num(y)) => x.cmp(y),
            (Part::Word(x), Part::Word(y)) => x.cmp(y),
            _ => return Err("'<' not supported between instances of 'int' and 'str'".to_owned()),
        };
        if o != Ordering::Equal {
            return Ok(o);
        }
    }
    Ok(a.len().cmp(&b.len()))
}

type Strict = ([u64; 3], Option<(char, u64)>);

fn strict(v: &str) -> Result<Strict, String> {
    let bad = || format!("invalid version number '{v}'");
    let (nums, pre) = match v.find(['a', 'b']) {
        Some(i) => (&v[..i], Some(&v[i..])),
        None => (v, None),
    };
    let parts: Vec<&str> = nums.split('.').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let mut n = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        n[i] = p.parse().map_err(|_| bad())?;
    }
    let pre = match pre {
        None => None,
        Some(p) => {
            let num = &p[1..];
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            Some((
                p.chars().next().unwrap_or('a'),
                num.parse().map_err(|_| bad())?,
            ))
        }
    };
    Ok((n, pre))
}

fn cmp_strict(a: &str, b: &str) -> Result<Ordering, String> {
    let (a, b) = (strict(a)?, strict(b)?);
    Ok(a.0.cmp(&b.0).then_with(|| match (a.1, b.1) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    }))
}

type Semver = ([u64; 3], Vec<String>);

fn semver(v: &str) -> Result<Semver, String> {
    let bad = || format!("invalid semantic version '{v}'");
    let core_pre = v.split('+').next().unwrap_or(v);
    let (core, pre) = match core_pre.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (core_pre, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 {
        return Err(bad());
    }
    let mut n = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty()
            || !p.bytes().all(|b| b.is_ascii_digit())
            || (p.len() > 1 && p.starts_with('0'))
        {
            return Err(bad());
        }
        n[i] = p.parse().map_err(|_| bad())?;
    }
    let pre: Vec<String> = pre
        .map(|p| p.split('.').map(str::to_owned).collect())
        .unwrap_or_default();
    if pre.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    Ok((n, pre))
}

fn cmp_semver(a: &str, b: &str) -> Result<Ordering, String> {
    let (a, b) = (semver(a)?, semver(b)?);
    let o = a.0.cmp(&b.0);
    if o != Ordering::Equal {
        return Ok(o);
    }
    Ok(match (a.1.is_empty(), b.1.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            for (x, y) in a.1.iter().zip(&b.1) {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return Ok(o);
                }
            }
            a.1.len().cmp(&b.1.len())
        }
    })
}

/// A PEP 440 version as a sortable key: epoch, release, pre, post, dev.
/// Epoch, release, pre-release (rank, number), post-release, development release.
type Pep440 = (u64, Vec<u64>, (i8, u64), i64, i64);

fn pep440(v: &str) -> Result<Pep440, String> {
    let bad = || format!("Invalid version: '{v}'");
    let s = v.trim().to_lowercase();
    let s = s.strip_prefix('v').unwrap_or(&s);
    let (epoch, rest) = match s.split_once('!') {
        Some((e, r)) => (e.parse().map_err(|_| bad())?, r),
        None => (0, s),
    };
    let rest = rest.split('+').next().unwrap_or(rest);
    let rel_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let release: Vec<u64> = rest[..rel_end]
        .trim_end_matches('.')
        .split('.')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let mut tail = rest[rel_end..].trim_start_matches(['.', '-', '_']);
    let mut pre = (3i8, 0u64);
    let mut post = -1i64;
    let mut dev = i64::MAX;
    let take_num = |t: &mut &str| -> u64 {
        let t2 = t.trim_start_matches(['.', '-', '_']);
        let end = t2.find(|c: char| !c.is_ascii_digit()).unwrap_or(t2.len());
        let n = t2[..end].parse().unwrap_or(0);
        *t = t2[end..].trim_start_matches(['.', '-', '_']);
        n
    };
    for (word, rank) in [
        ("alpha", 0),
        ("a", 0),
        ("beta", 1),
        ("b", 1),
        ("rc", 2),
        ("c", 2),
        ("pre", 2),
        ("preview", 2),
    ] {
        if let Some(r) = tail.strip_prefix(word) {
            tail = r;
            pre = (rank, take_num(&mut tail));
            break;
        }
    }
    for word in ["post", "rev", "r"] {
        if let Some(r) = tail.strip_prefix(word) {
            tail = r;
            post = take_num(&mut tail) as i64;
            break;
        }
    }
    if let Some(r) = tail.strip_prefix("dev") {
        tail = r;
        dev = take_num(&mut tail) as i64;
        if pre.0 == 3 && post < 0 {
            pre = (-1, 0);
        }
    }
    if !tail.is_empty() {
        return Err(bad());
    }
    let mut release = release;
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    Ok((epoch, release, pre, post, dev))
}

fn cmp_pep440(a: &str, b: &str) -> Result<Ordering, String> {
    Ok(pep440(a)?.cmp(&pep440(b)?))
}

pub(super) fn compare_versions(
    value: Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let pos = |i: usize| args.get(i).cloned().filter(|v| !v.is_none());
    let version = opt_arg::<Value>(pos(0), &kwargs, "version")?;
    let operator = opt_arg::<Value>(pos(1), &kwargs, "operator")?
        .map_or_else(|| "eq".to_owned(), |o| o.to_string());
    let strict = opt_arg::<Value>(pos(2), &kwargs, "strict")?.filter(|s| !s.is_none());
    let version_type = opt_arg::<Value>(pos(3), &kwargs, "version_type")?
        .filter(|s| !s.is_none())
        .map(|v| v.to_string());
    kwargs.assert_all_used()?;
    if strict.is_some() && version_type.is_some() {
        return Err(invalid("Cannot specify both 'strict' and 'version_type'"));
    }
    if !value.is_true() {
        return Err(invalid("Input version value cannot be empty"));
    }
    let version = version
        .filter(|v| v.is_true())
        .ok_or_else(|| invalid("Version parameter to compare against cannot be empty"))?;
    let kind = if strict.is_some_and(|s| s.is_true()) {
        "strict".to_owned()
    } else {
        version_type.unwrap_or_else(|| "loose".to_owned())
    };
    let cmp: fn(&str, &str) -> Result<Ordering, String> = match kind.as_str() {
        "loose" => cmp_loose,
        "strict" => cmp_strict,
        "semver" | "semantic" => cmp_semver,
        "pep440" => cmp_pep440,
        other => {
            return Err(invalid(format!(
                "Invalid version type ({other}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'"
            )));
        }
    };
    let wanted: &[Ordering] = match operator.as_str() {
        "==" | "=" | "eq" => &[Ordering::Equal],
        "<" | "lt" => &[Ordering::Less],
        "<=" | "le" => &[Ordering::Less, Ordering::Equal],
        ">" | "gt" => &[Ordering::Greater],
        ">=" | "ge" => &[Ordering::Greater, Ordering::Equal],
        "!=" | "<>" | "ne" => &[Ordering::Less, Ordering::Greater],
        other => {
            return Err(invalid(format!(
                "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            )));
        }
    };
    let py = super::super::pyrepr::python_str;
    let o = cmp(&py(&value), &py(&version))
        .map_err(|e| invalid(format!("Version comparison failed: {e}")))?;
    Ok(wanted.contains(&o))
}

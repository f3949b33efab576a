//! The `password` lookup: a random password kept in a controller file (created with mode
//! 0600 in a 0700 directory, as Ansible does), read back on later runs.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use serde_json::{Map, Value};

/// The options dr honours (`encrypt`, `ident` and `seed` are refused).
pub const OPTIONS: &[&str] = &["length", "chars"];

const ASCII_LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const ASCII_UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Runs one term: `path [length=N] [chars=spec,...]`.
pub fn run(term: &str, options: &Map<String, Value>, base: &Path) -> Result<String, String> {
    let (relpath, params) = parse_term(term)?;
    let mut length: usize = 20;
    let mut chars: Vec<String> = vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()];
    let all = options
        .iter()
        .map(|(k, v)| (k.clone(), plain(v)))
        .chain(params);
    for (k, v) in all {
        match k.as_str() {
            "length" => {
                length = v
                    .parse()
                    .map_err(|_| format!("password `length` must be a number, not `{v}`"))?;
            }
            "chars" => chars = split_chars(&v),
            other => {
                return Err(format!(
                    "the `password` lookup has no option `{other}` in dr"
                ));
            }
        }
    }
    let path = base.join(&relpath);
    let store = path != Path::new("/dev/null");
    if store && let Some(existing) = read(&path)? {
        return Ok(existing);
    }
    let candidates: Vec<char> = candidate_chars(&chars).chars().collect();
    if candidates.is_empty() {
        return Err("password `chars` gives no characters".into());
    }
    let password = random(&candidates, length)?;
    if store {
        write(&path, &password)?;
    }
    Ok(password)
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Splits `path key=value ...`; the path may contain spaces before the first `key=`.
fn parse_term(term: &str) -> Result<(String, Vec<(String, String)>), String> {
    let mut path = Vec::new();
    let mut params = Vec::new();
    for word in term.split(' ') {
        match word.split_once('=') {
            Some((k, v)) if OPTIONS.contains(&k) || ["encrypt", "ident", "seed"].contains(&k) => {
                params.push((k.to_owned(), v.to_owned()));
            }
            _ if params.is_empty() => path.push(word),
            _ => {
                return Err(format!(
                    "unrecognized value after key=value parameters in `{term}`"
                ));
            }
        }
    }
    Ok((path.join(" "), params))
}

/// `chars=ascii_letters,digits,,` → the specs; `,,` is a literal comma.
fn split_chars(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut it = spec.chars().peekable();
    while let Some(c) = it.next() {
        if c == ',' {
            if it.peek() == Some(&',') {
                it.next();
                cur.push(',');
            } else {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

fn candidate_chars(specs: &[String]) -> String {
    let mut out = String::new();
    for spec in specs {
        let set = match spec.as_str() {
            "ascii_letters" | "letters" => format!("{ASCII_LOWERCASE}{ASCII_UPPERCASE}"),
            "ascii_lowercase" | "lowercase" => ASCII_LOWERCASE.to_owned(),
            "ascii_uppercase" | "uppercase" => ASCII_UPPERCASE.to_owned(),
            "digits" => DIGITS.to_owned(),
            "hexdigits" => "0123456789abcdefABCDEF".to_owned(),
            "octdigits" => "01234567".to_owned(),
            "punctuation" => PUNCTUATION.to_owned(),
            literal => literal.to_owned(),
        };
        for c in set.chars() {
            if !out.contains(c) {
                out.push(c);
            }
        }
    }
    out
}

fn random(candidates: &[char], length: usize) -> Result<String, String> {
    let mut urandom = std::fs::File::open("/dev/urandom")
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    let n = candidates.len();
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % n.min(256);
    let mut out = String::with_capacity(length);
    let mut buf = [0u8; 64];
    while out.chars().count() < length {
        urandom
            .read_exact(&mut buf)
            .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
        for b in buf {
            if (b as usize) < limit && out.chars().count() < length {
                out.push(candidates[b as usize % n]);
            }
        }
    }
    Ok(out)
}

/// The stored password (the part before ` salt=`), `None` when there is no file.
fn read(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let line = text.trim_end_matches(['\n', '\r']);
            let password = line.rsplit_once(" salt=").map_or(line, |(p, _)| p);
            Ok(Some(password.to_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
    }
}

fn write(path: &Path, password: &str) -> Result<(), String> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
    f.write_all(format!("{password}\n").as_bytes())
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

//! Printing values as Jinja2 (Python) prints them, so rendered files match Ansible's byte
//! for byte: `True`, `['a', 'b']`, `{'k': 1}`; `None` prints as nothing (Ansible's
//! finalize).

use minijinja::Value;
use minijinja::value::ValueKind;

/// Writes `v` as `str(v)` would in Python under Ansible's templar.
pub(super) fn python_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::None => String::new(),
        ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
        _ => python_repr(v),
    }
}

/// Python's `repr()` of JSON data (for messages that quote a value as Ansible does).
pub fn repr_json(v: &serde_json::Value) -> String {
    python_repr(&super::bytes::to_value(v))
}

/// Python's `repr()` of a value.
pub(super) fn python_repr(v: &Value) -> String {
    if let Some(bytes) = super::bytes::of(v) {
        return crate::pybytes::repr(bytes);
    }
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => "None".to_owned(),
        ValueKind::Bool if v.is_true() => "True".to_owned(),
        ValueKind::Bool => "False".to_owned(),
        ValueKind::String => repr_str(v.as_str().unwrap_or_default()),
        ValueKind::Number => {
            let s = v.to_string();
            match f64::try_from(v.clone()) {
                Ok(f) if v.as_i64().is_none() || s.contains('.') => float_repr(f),
                _ => s,
            }
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| it.map(|i| python_repr(&i)).collect())
                .unwrap_or_default();
            // A tuple too: Ansible's finalize turns tuples into lists before printing
            // (`| string` and `~` still show a tuple as Python does: minijinja's own).
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| {
                    it.map(|k| {
                        let val = v.get_item(&k).unwrap_or_default();
                        format!("{}: {}", python_repr(&k), python_repr(&val))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", items.join(", "))
        }
        _ => v.to_string(),
    }
}

/// Python's `repr` of a float: the shortest digits that read back as `f`, positional when
/// the exponent is from -4 to 15 (`0.0001`, `1.0`, `123.5`), else scientific with at
/// least two exponent digits (`1e+16`, `2.5e-07`).
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `2.5e-7`, `1e16`, `-1.5e0`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{esign}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        let zeros = "0".repeat(int_len - digits.len());
        format!("{sign}{digits}{zeros}.0")
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

/// Python's string repr: single quotes unless the text has `'` and no `"`.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod float_tests {
    use super::float_repr;

    #[test]
    fn floats_read_as_pythons_repr() {
        // What `python3 -c 'print(repr(x))'` prints for each.
        for (f, python) in [
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (2.5e-7, "2.5e-07"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(float_repr(f), python, "{f}");
        }
    }
}

//! Numbers: Jinja2's `int`/`float` as Python converts, Ansible's `bool`, `log`, `pow`,
//! `root`, `human_readable`, `human_to_bytes`, `random` and `shuffle`.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, Value};

use super::{invalid, opt_arg};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "int", int);
    super::strict::add(env, "float", float);
    super::strict::add(env, "bool", to_bool);
    super::strict::add(env, "log", log);
    super::strict::add(env, "pow", pow);
    super::strict::add(env, "root", root);
    super::strict::add(env, "human_readable", human_readable);
    super::strict::add(env, "human_to_bytes", human_to_bytes);
    super::strict::add(env, "random", random);
    super::strict::add(env, "shuffle", shuffle);
}

/// A number as f64, or an error naming `filter`.
fn number(v: &Value, filter: &str) -> Result<f64, Error> {
    match v.kind() {
        ValueKind::Number | ValueKind::Bool => f64::try_from(v.clone())
            .map_err(|_| invalid(format!("{filter}() can only be used on numbers"))),
        _ => Err(invalid(format!("{filter}() can only be used on numbers"))),
    }
}

/// Python's `int(text, base)`: surrounding whitespace, a sign, `_` between digits, and the
/// base's prefix (`0x`, `0o`, `0b`; any of them with base 0).
pub(crate) fn python_int(text: &str, base: u32) -> Option<i128> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let (base, digits) = match (base, lower.get(..2)) {
        (16 | 0, Some("0x")) => (16, &t[2..]),
        (8 | 0, Some("0o")) => (8, &t[2..]),
        (2 | 0, Some("0b")) => (2, &t[2..]),
        (0, _) => (10, t),
        (b, _) => (b, t),
    };
    let digits = digits
        .strip_prefix('_')
        .filter(|_| t.len() != digits.len())
        .unwrap_or(digits);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let n = i128::from_str_radix(&digits.replace('_', ""), base).ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `float(text)`.
fn python_float(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.starts_with('_')
        || t.ends_with('_')
        || t.contains("__")
        || t.contains("_.")
        || t.contains("._")
    {
        return None;
    }
    let cleaned = t.replace('_', "");
    let lower = cleaned.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if !(body
        .chars()
        .all(|c| c.is_ascii_digit() || "._e+-".contains(c))
        || ["inf", "infinity", "nan"].contains(&body))
    {
        return None;
    }
    cleaned.parse::<f64>().ok()
}

fn int_value(n: i128) -> Value {
    i64::try_from(n).map_or_else(|_| Value::from(n), Value::from)
}

/// Jinja2's `int`: Python's `int()`, then `int(float())`, then the default.
fn int(
    v: Value,
    default: Option<Value>,
    base: Option<u32>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default = opt_arg::<Value>(default, &kwargs, "default")?.unwrap_or(Value::from(0));
    let base = opt_arg::<u32>(base, &kwargs, "base")?.unwrap_or(10);
    kwargs.assert_all_used()?;
    Ok(match v.kind() {
        ValueKind::Bool => Value::from(i64::from(v.is_true())),
        ValueKind::Number if v.is_integer() => v,
        ValueKind::Number => match f64::try_from(v.clone()) {
            Ok(f) if f.is_finite() => int_value(f.trunc() as i128),
            _ => default,
        },
        ValueKind::String => {
            let s = v.as_str().unwrap_or("");
            match python_int(s, base) {
                Some(n) => int_value(n),
                None => match python_float(s) {
                    Some(f) if f.is_finite() => int_value(f.trunc() as i128),
                    _ => default,
                },
            }
        }
        _ => default,
    })
}

/// Jinja2's `float`: Python's `float()`, else the default.
fn float(v: Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = opt_arg::<Value>(default, &kwargs, "default")?.unwrap_or(Value::from(0.0));
    kwargs.assert_all_used()?;
    Ok(match v.kind() {
        ValueKind::Bool => Value::from(if v.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(v.clone()).map_or(default, Value::from),
        ValueKind::String => python_float(v.as_str().unwrap_or("")).map_or(default, Value::from),
        _ => default,
    })
}

/// Ansible's `bool`: `yes`/`on`/`true`/`1` and `no`/`off`/`false`/`0` (any case, strings or
/// integers); any other value is true only when it equals 1.
pub(super) fn to_bool(v: Value) -> bool {
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::String => {
            matches!(
                v.as_str().unwrap_or("").to_lowercase().as_str(),
                "yes" | "on" | "true" | "1"
            )
        }
        ValueKind::Number => f64::try_from(v).is_ok_and(|f| f == 1.0),
        _ => false,
    }
}

fn log(x: Value, base: Option<Value>) -> Result<f64, Error> {
    let x = number(&x, "log")?;
    match base {
        None => Ok(x.ln()),
        Some(b) => {
            let b = number(&b, "log")?;
            Ok(if b == 10.0 {
                x.log10()
            } else {
                x.ln() / b.ln()
            })
        }
    }
}

fn pow(x: Value, y: Value) -> Result<f64, Error> {
    Ok(number(&x, "pow")?.powf(number(&y, "pow")?))
}

fn root(x: Value, base: Option<Value>) -> Result<f64, Error> {
    let x = number(&x, "root")?;
    let base = base.map(|b| number(&b, "root")).transpose()?.unwrap_or(2.0);
    if x < 0.0 {
        return Err(invalid("root() can only be used on numbers"));
    }
    Ok(if base == 2.0 {
        x.sqrt()
    } else {
        x.powf(1.0 / base)
    })
}

const SIZES: [(char, u32); 9] = [
    ('Y', 80),
    ('Z', 70),
    ('E', 60),
    ('P', 50),
    ('T', 40),
    ('G', 30),
    ('M', 20),
    ('K', 10),
    ('B', 0),
];

fn human_readable(
    size: Value,
    isbits: Option<Value>,
    unit: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let isbits = opt_arg::<Value>(isbits, &kwargs, "isbits")?.is_some_and(|b| b.is_true());
    let unit = opt_arg::<Value>(unit, &kwargs, "unit")?.filter(|u| !u.is_none());
    kwargs.assert_all_used()?;
    let unit = unit.map(|u| u.as_str().map(str::to_uppercase).unwrap_or_default());
    let size = number(&size, "human_readable")
        .map_err(|_| invalid("human_readable() failed on bad input"))?;
    let base = if isbits { "bits" } else { "Bytes" };
    let mut chosen = SIZES[SIZES.len() - 1];
    for entry in SIZES {
        let limit = 2f64.powi(entry.1 as i32);
        let hit = match &unit {
            None => size >= limit,
            Some(u) => u.starts_with(entry.0),
        };
        if hit {
            chosen = entry;
            break;
        }
    }
    let limit = 2f64.powi(chosen.1 as i32);
    let suffix = if chosen.1 != 0 {
        format!("{}{}", chosen.0, &base[..1])
    } else {
        base.to_owned()
    };
    Ok(format!("{:.2} {suffix}", size / limit))
}

fn human_to_bytes(
    size: Value,
    default_unit: Option<Value>,
    isbits: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default_unit =
        opt_arg::<Value>(default_unit, &kwargs, "default_unit")?.filter(|u| !u.is_none());
    let isbits = opt_arg::<Value>(isbits, &kwargs, "isbits")?.is_some_and(|b| b.is_true());
    kwargs.assert_all_used()?;
    let text = super::super::pyrepr::python_str(&size);
    let unit = default_unit.map(|u| u.to_string());
    human_to_bytes_text(&text, unit.as_deref(), isbits)
        .map(int_value)
        .ok_or_else(|| invalid("human_to_bytes() can't interpret the input"))
}

/// Ansible's `human_to_bytes`: `"2K"` is 2048, `"1Mb"` with `isbits` 1048576; `None`
/// where Ansible raises.
pub(crate) fn human_to_bytes_text(
    text: &str,
    default_unit: Option<&str>,
    isbits: bool,
) -> Option<i128> {
    let t = text.trim_end();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, rest) = t.split_at(num_end);
    let unit_text = rest.trim_start();
    if num.is_empty()
        || num.matches('.').count() > 1
        || num.ends_with('.')
        || !unit_text.chars().all(|c| c.is_ascii_alphabetic())
    {
        return None;
    }
    let num: f64 = num.parse().ok()?;
    let unit = if unit_text.is_empty() {
        default_unit.map(str::to_owned)
    } else {
        Some(unit_text.to_owned())
    };
    let Some(unit) = unit else {
        return Some(num.round_ties_even() as i128);
    };
    let key = unit.chars().next().map(|c| c.to_ascii_uppercase())?;
    let (_, shift) = SIZES.iter().find(|(c, _)| *c == key).copied()?;
    if unit.chars().count() > 1 {
        const NAMES: [(char, &str, &str); 9] = [
            ('B', "byte", "bit"),
            ('K', "kilobyte", "kilobit"),
            ('M', "megabyte", "megabit"),
            ('G', "gigabyte", "gigabit"),
            ('T', "terabyte", "terabit"),
            ('P', "petabyte", "petabit"),
            ('E', "exabyte", "exabit"),
            ('Z', "zetabyte", "zetabit"),
            ('Y', "yottabyte", "yottabit"),
        ];
        let (_, byte_name, bit_name) = NAMES.iter().find(|(c, _, _)| *c == key).copied()?;
        let (name, short) = if isbits {
            (bit_name, format!("{key}b"))
        } else {
            (byte_name, format!("{key}B"))
        };
        if unit.to_lowercase() != name && unit != short {
            return None;
        }
    }
    Some((num * 2f64.powi(shift as i32)).round_ties_even() as i128)
}

/// A generator seeded from `seed` (any value, by its text), or from the system.
fn rng(seed: Option<Value>) -> fastrand::Rng {
    match seed.filter(|s| !s.is_none() && !s.is_undefined()) {
        None => fastrand::Rng::new(),
        Some(s) => {
            use sha2::Digest as _;
            let digest = sha2::Sha256::digest(super::super::pyrepr::python_str(&s).as_bytes());
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&digest[..8]);
            fastrand::Rng::with_seed(u64::from_le_bytes(bytes))
        }
    }
}

/// Ansible's `random`: a number in `range(start, end, step)` or an item of a list. A seed
/// gives the same result every time (not the same number Python would pick).
fn random(
    end: Value,
    start: Option<Value>,
    step: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let start = opt_arg::<Value>(start, &kwargs, "start")?;
    let step = opt_arg::<Value>(step, &kwargs, "step")?;
    let seed = kwargs.get::<Option<Value>>("seed")?;
    kwargs.assert_all_used()?;
    let mut r = rng(seed);
    if end.kind() == ValueKind::Number && end.is_integer() {
        let end = end
            .as_i64()
            .ok_or_else(|| invalid("random: end is too large"))?;
        let start = start.and_then(|s| s.as_i64()).unwrap_or(0);
        let step = step
            .and_then(|s| s.as_i64())
            .filter(|s| *s != 0)
            .unwrap_or(1);
        let count = if step > 0 {
            (end - start + step - 1).div_euclid(step)
        } else {
            (start - end - step - 1).div_euclid(-step)
        };
        if count <= 0 {
            return Err(invalid(format!(
                "empty range in randrange({start}, {end}, {step})"
            )));
        }
        return Ok(Value::from(start + step * r.i64(0..count)));
    }
    if start.is_some_and(|s| s.is_true()) || step.is_some_and(|s| s.is_true()) {
        return Err(invalid(
            "start and step can only be used with integer values",
        ));
    }
    match end.kind() {
        ValueKind::Seq | ValueKind::Iterable | ValueKind::String | ValueKind::Map => {
            let items: Vec<Value> = end.try_iter()?.collect();
            if items.is_empty() {
                return Err(invalid("Cannot choose from an empty sequence"));
            }
            Ok(items[r.usize(0..items.len())].clone())
        }
        _ => Err(invalid("random can only be used on sequences and integers")),
    }
}

/// Ansible's `shuffle`; a value that is not a list comes back as a list of its items, or as is.
fn shuffle(v: Value, seed: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let seed = opt_arg::<Value>(seed, &kwargs, "seed")?;
    kwargs.assert_all_used()?;
    let Ok(iter) = v.try_iter() else {
        return Ok(v);
    };
    let mut items: Vec<Value> = iter.collect();
    rng(seed.filter(|s| s.is_true())).shuffle(&mut items);
    Ok(Value::from(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int_parsing() {
        assert_eq!(python_int(" 12 ", 10), Some(12));
        assert_eq!(python_int("1_000", 10), Some(1000));
        assert_eq!(python_int("0x10", 10), None);
        assert_eq!(python_int("0x10", 16), Some(16));
        assert_eq!(python_int("10", 16), Some(16));
        assert_eq!(python_int("0x10", 0), Some(16));
        assert_eq!(python_int("-0b11", 2), Some(-3));
        assert_eq!(python_int("1__0", 10), None);
    }
}

//! The values `ast.literal_eval` builds, with Python's equality, hashing and set order, and
//! how Ansible's INI plugin turns them into variables (`_parse_recursive_coerce_types_and_tag`).

use serde_json::{Map, Number, Value};

use super::py_token::PyInt;

/// A Python value from a literal.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Py {
    None,
    Bool(bool),
    Int(PyInt),
    Float(f64),
    Complex(f64, f64),
    /// A `str`, as code points (lone surrogates are possible in Python).
    Str(Vec<u32>),
    Bytes(Vec<u8>),
    Ellipsis,
    Tuple(Vec<Py>),
    List(Vec<Py>),
    /// A set, already in CPython's iteration order (see [`PySet::finish`]).
    Set(Vec<Py>),
    /// A dict in insertion order; keys are unique by Python equality.
    Dict(Vec<(Py, Py)>),
    /// A `str` literal with an escape dr cannot decode.
    Undecodable(String),
}

/// Python's `TypeError: unhashable type` (which Ansible does not catch).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Unhashable(pub &'static str);

impl Py {
    /// `TypeError` when this value cannot be a set member or dict key.
    pub(super) fn check_hashable(&self) -> Result<(), Unhashable> {
        match self {
            Py::List(_) => Err(Unhashable("list")),
            Py::Dict(_) => Err(Unhashable("dict")),
            Py::Set(_) => Err(Unhashable("set")),
            Py::Tuple(items) => items.iter().try_for_each(Py::check_hashable),
            _ => Ok(()),
        }
    }

    /// The value as a complex number, when it is a number (`bool` included).
    fn as_number(&self) -> Option<(Real, f64)> {
        match self {
            Py::Bool(b) => Some((Real::Int(i128::from(*b)), 0.0)),
            Py::Int(PyInt::Small(n)) => Some((Real::Int(*n), 0.0)),
            Py::Int(PyInt::Big(f)) | Py::Float(f) => Some((Real::Float(*f), 0.0)),
            Py::Complex(re, im) => Some((Real::Float(*re), *im)),
            _ => None,
        }
    }

    /// Python's `==` between hashable values.
    pub(super) fn py_eq(&self, other: &Py) -> bool {
        if let (Some((a, ai)), Some((b, bi))) = (self.as_number(), other.as_number()) {
            return ai == bi && a.eq(b);
        }
        match (self, other) {
            (Py::Str(a), Py::Str(b)) => a == b,
            (Py::Bytes(a), Py::Bytes(b)) => a == b,
            (Py::Undecodable(a), Py::Undecodable(b)) => a == b,
            (Py::None, Py::None) | (Py::Ellipsis, Py::Ellipsis) => true,
            (Py::Tuple(a), Py::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
            }
            _ => false,
        }
    }

    /// CPython's `hash()`, for the values whose hash does not depend on the process (strings
    /// and bytes are salted per run, `None`'s hash is an address).
    fn stable_hash(&self) -> Option<u64> {
        let h = match self {
            Py::Bool(b) => u64::from(*b),
            Py::Int(PyInt::Small(n)) => hash_int(*n),
            Py::Float(f) => hash_float(*f)?,
            Py::Complex(re, im) => {
                let combined =
                    hash_float(*re)?.wrapping_add(1_000_003u64.wrapping_mul(hash_float(*im)?));
                if combined == u64::MAX {
                    u64::MAX - 1
                } else {
                    combined
                }
            }
            Py::Tuple(items) => {
                const P1: u64 = 11_400_714_785_074_694_791;
                const P2: u64 = 14_029_467_366_897_019_727;
                const P5: u64 = 2_870_177_450_012_600_261;
                let mut acc = P5;
                for item in items {
                    acc = acc.wrapping_add(item.stable_hash()?.wrapping_mul(P2));
                    acc = acc.rotate_left(31).wrapping_mul(P1);
                }
                acc = acc.wrapping_add((items.len() as u64) ^ (P5 ^ 3_527_539));
                if acc == u64::MAX { 1_546_275_796 } else { acc }
            }
            _ => return None,
        };
        Some(h)
    }
}

/// The real part of a number, exact for integers as in Python's int/float comparison.
#[derive(Clone, Copy)]
enum Real {
    Int(i128),
    Float(f64),
}

impl Real {
    fn eq(self, other: Real) -> bool {
        match (self, other) {
            (Real::Int(a), Real::Int(b)) => a == b,
            (Real::Float(a), Real::Float(b)) => a == b,
            (Real::Int(i), Real::Float(f)) | (Real::Float(f), Real::Int(i)) => {
                f.fract() == 0.0 && f.abs() < 1.7e38 && f as i128 == i
            }
        }
    }
}

const MODULUS: u64 = (1 << 61) - 1;

fn hash_int(n: i128) -> u64 {
    let m = (n.unsigned_abs() % u128::from(MODULUS)) as u64;
    let h = if n < 0 { m.wrapping_neg() } else { m };
    if h == u64::MAX { u64::MAX - 1 } else { h }
}

/// `_Py_HashDouble`; `None` for NaN (hashed by address).
fn hash_float(v: f64) -> Option<u64> {
    if v.is_nan() {
        return None;
    }
    if v.is_infinite() {
        return Some(if v > 0.0 {
            314_159
        } else {
            (-314_159i64) as u64
        });
    }
    let (mut m, mut e) = frexp(v);
    let mut sign = 1i64;
    if m < 0.0 {
        sign = -1;
        m = -m;
    }
    let mut x: u64 = 0;
    while m != 0.0 {
        x = ((x << 28) & MODULUS) | (x >> (61 - 28));
        m *= 268_435_456.0;
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        x += y;
        if x >= MODULUS {
            x -= MODULUS;
        }
    }
    let e = if e >= 0 {
        e % 61
    } else {
        61 - 1 - ((-1 - e) % 61)
    } as u32;
    x = ((x << e) & MODULUS) | (x >> (61 - e));
    x = x.wrapping_mul(sign as u64);
    Some(if x == u64::MAX { u64::MAX - 1 } else { x })
}

/// C's `frexp`: `v = m * 2^e` with `0.5 <= |m| < 1`.
fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 || !v.is_finite() {
        return (v, 0);
    }
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        let (m, e) = frexp(v * 2f64.powi(54));
        return (m, e - 54);
    }
    let mantissa = (bits & !(0x7ffu64 << 52)) | (1022u64 << 52);
    (f64::from_bits(mantissa), exp - 1022)
}

/// A set being built by `set(iterable)`: members unique by Python equality.
#[derive(Default)]
pub(super) struct PySet {
    items: Vec<Py>,
}

impl PySet {
    /// `set.add`, raising `TypeError` for unhashable values.
    pub(super) fn add(&mut self, value: Py) -> Result<(), Unhashable> {
        value.check_hashable()?;
        if !self.items.iter().any(|v| v.py_eq(&value)) {
            self.items.push(value);
        }
        Ok(())
    }

    /// The members in CPython's iteration order. That order follows the hashes; when a
    /// member's hash is salted per process (strings), Python's own order is not repeatable,
    /// and insertion order is as good as any.
    pub(super) fn finish(self) -> Py {
        let hashes: Option<Vec<u64>> = self.items.iter().map(Py::stable_hash).collect();
        let Some(hashes) = hashes else {
            return Py::Set(self.items);
        };
        let mut slots: Vec<Option<Py>> = self.items.into_iter().map(Some).collect();
        let order = cpython_set_order(&hashes);
        Py::Set(order.into_iter().filter_map(|i| slots[i].take()).collect())
    }
}

/// The slot order of a CPython 3.11 set after inserting distinct keys with these hashes
/// (`set_add_entry`, `set_table_resize`, `set_insert_clean` in `Objects/setobject.c`).
fn cpython_set_order(hashes: &[u64]) -> Vec<usize> {
    let mut table: Vec<Option<(u64, usize)>> = vec![None; 8];
    for (index, &hash) in hashes.iter().enumerate() {
        place(&mut table, hash, index);
        let used = index + 1;
        let mask = table.len() - 1;
        if used * 5 >= mask * 3 {
            let wanted = if used > 50_000 { used * 2 } else { used * 4 };
            let mut size = 8;
            while size <= wanted {
                size <<= 1;
            }
            let old = std::mem::replace(&mut table, vec![None; size]);
            for (h, i) in old.into_iter().flatten() {
                place(&mut table, h, i);
            }
        }
    }
    table.into_iter().flatten().map(|(_, i)| i).collect()
}

/// Linear probing of up to 9 slots, then CPython's perturbed jump.
fn place(table: &mut [Option<(u64, usize)>], hash: u64, index: usize) {
    const LINEAR_PROBES: usize = 9;
    let mask = table.len() - 1;
    let mut i = (hash as usize) & mask;
    let mut perturb = hash;
    loop {
        let probes = if i + LINEAR_PROBES <= mask {
            LINEAR_PROBES
        } else {
            0
        };
        if let Some(slot) = table[i..=i + probes].iter_mut().find(|s| s.is_none()) {
            *slot = Some((hash, index));
            return;
        }
        perturb >>= 5;
        i = ((i as u64)
            .wrapping_mul(5)
            .wrapping_add(1)
            .wrapping_add(perturb) as usize)
            & mask;
    }
}

/// Why a value cannot become a variable in dr.
pub(super) type Unrepresentable = String;

/// The variable Ansible stores for a literal: tuples and sets become lists, bytes become
/// text never templated, complex numbers and `...` become their `str()`.
pub(super) fn to_json(value: Py) -> Result<Value, Unrepresentable> {
    Ok(match value {
        Py::None => Value::Null,
        Py::Bool(b) => Value::Bool(b),
        Py::Int(n) => int_json(n),
        Py::Float(f) => Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("the float `{}`", float_repr(f, true)))?,
        Py::Complex(re, im) => Value::String(complex_repr(re, im)),
        Py::Str(cps) => Value::String(text(&cps)?),
        // Ansible does not mark decoded bytes as trusted templates: they stay literal, as
        // `!unsafe` text does, which dr writes as a raw block.
        Py::Bytes(b) => Value::String(format!(
            "{{% raw %}}{}{{% endraw %}}",
            String::from_utf8(b).map_err(|_| "bytes that are not UTF-8".to_owned())?
        )),
        Py::Ellipsis => Value::String("...".into()),
        Py::Undecodable(what) => return Err(what),
        Py::Tuple(items) | Py::List(items) | Py::Set(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Py::Dict(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                map.insert(key_text(&k)?, to_json(v)?);
            }
            Value::Object(map)
        }
    })
}

fn int_json(n: PyInt) -> Value {
    match n {
        PyInt::Small(n) => i64::try_from(n)
            .map(Value::from)
            .or_else(|_| u64::try_from(n).map(Value::from))
            .unwrap_or_else(|_| Number::from_f64(n as f64).map_or(Value::Null, Value::Number)),
        PyInt::Big(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
    }
}

/// A dict key as `ansible-inventory` writes it: strings as they are, `None`, booleans and
/// numbers through `json.dumps`; other keys cannot be written.
fn key_text(key: &Py) -> Result<String, Unrepresentable> {
    Ok(match key {
        Py::Str(cps) => text(cps)?,
        Py::None => "null".into(),
        Py::Bool(b) => b.to_string(),
        Py::Int(n) => int_json(*n).to_string(),
        Py::Float(f) if f.is_nan() => "NaN".into(),
        Py::Float(f) if f.is_infinite() => if *f > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        Py::Float(f) => float_repr(*f, true),
        Py::Undecodable(what) => return Err(what.clone()),
        _ => return Err("a dict key that is not a string, number, boolean or None".into()),
    })
}

/// Code points to a string; surrogate pairs join (as they do once Ansible's JSON is read).
fn text(cps: &[u32]) -> Result<String, Unrepresentable> {
    let units: Vec<u16> = cps
        .iter()
        .flat_map(|&cp| match char::from_u32(cp) {
            Some(c) => {
                let mut buf = [0u16; 2];
                c.encode_utf16(&mut buf).to_vec()
            }
            None => vec![cp as u16],
        })
        .collect();
    String::from_utf16(&units).map_err(|_| "a lone surrogate escape".to_owned())
}

/// Python's `repr(float)`; `dot_zero` adds `.0` to integral values (`repr(2.0)` is `2.0`,
/// but the parts of `repr(2j)` are written bare).
pub(super) fn float_repr(v: f64, dot_zero: bool) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0{}", if dot_zero { ".0" } else { "" });
    }
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1;
    let body = if decpt <= -4 || decpt > 16 {
        let e_sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{e_sign}{:02}", exp.abs())
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
    } else if decpt as usize >= digits.len() {
        let zeros = "0".repeat(decpt as usize - digits.len());
        format!("{digits}{zeros}{}", if dot_zero { ".0" } else { "" })
    } else {
        format!(
            "{}.{}",
            &digits[..decpt as usize],
            &digits[decpt as usize..]
        )
    };
    format!("{sign}{body}")
}

/// Python's `str(complex)`.
pub(super) fn complex_repr(re: f64, im: f64) -> String {
    let imag = float_repr(im, false);
    if re == 0.0 && re.is_sign_positive() {
        return format!("{imag}j");
    }
    let imag = if imag.starts_with('-') {
        imag
    } else {
        format!("+{imag}")
    };
    format!("({}{imag}j)", float_repr(re, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(n: i128) -> Py {
        Py::Int(PyInt::Small(n))
    }

    fn set_of(items: Vec<Py>) -> Vec<Py> {
        let mut set = PySet::default();
        for item in items {
            set.add(item).unwrap();
        }
        match set.finish() {
            Py::Set(items) => items,
            _ => unreachable!(),
        }
    }

    #[test]
    fn sets_iterate_in_cpython_order() {
        let ints = |v: &[i128]| v.iter().map(|&n| int(n)).collect::<Vec<_>>();
        assert_eq!(set_of(ints(&[3, 1, 2, 10, 9])), ints(&[1, 2, 3, 9, 10]));
        assert_eq!(set_of(ints(&[-1, -2, 3])), ints(&[3, -1, -2]));
        assert_eq!(
            set_of(vec![Py::Float(1.5), int(2), int(1)]),
            vec![Py::Float(1.5), int(2), int(1)]
        );
        // Orders from `list(ast.literal_eval(...))` in CPython 3.11.
        assert_eq!(
            set_of(vec![
                Py::Float(-1.5),
                Py::Float(1e100),
                int(7),
                int(1 << 62)
            ]),
            vec![Py::Float(1e100), int(1 << 62), int(7), Py::Float(-1.5)]
        );
        let t = |a, b| Py::Tuple(vec![int(a), int(b)]);
        assert_eq!(
            set_of(vec![t(1, 2), t(3, 4), t(0, 0), t(5, 1)]),
            vec![t(5, 1), t(1, 2), t(3, 4), t(0, 0)]
        );
        // list({1+2j, 3j, 0.5}) == [0.5, 3j, (1+2j)]
        assert_eq!(
            set_of(vec![
                Py::Complex(1.0, 2.0),
                Py::Complex(0.0, 3.0),
                Py::Float(0.5)
            ]),
            vec![Py::Float(0.5), Py::Complex(0.0, 3.0), Py::Complex(1.0, 2.0)]
        );
        // Resizes: '{' + ','.join(str(i*37 % 101 - 50) for i in range(60)) + '}'
        let many: Vec<i128> = (0..60).map(|i| i * 37 % 101 - 50).collect();
        let mut want: Vec<i128> = (0..=50).filter(|n| many.contains(n)).collect();
        want.extend((-50..0).filter(|n| many.contains(n)));
        assert_eq!(set_of(ints(&many)), ints(&want));
        // '{' + ','.join(str(i*0.37) for i in range(30)) + '}'
        let floats: Vec<Py> = (0..30).map(|i| Py::Float(f64::from(i) * 0.37)).collect();
        let order = [
            0, 1, 4, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 19, 22, 25, 28, 16, 18, 20, 21,
            23, 24, 26, 27, 29, 15,
        ];
        assert_eq!(set_of(floats.clone()), order.map(|i| floats[i].clone()));
        // {3, 3.0} == {3}; {1, True} keeps the first
        assert_eq!(set_of(vec![int(3), Py::Float(3.0)]), vec![int(3)]);
        assert_eq!(set_of(vec![int(1), Py::Bool(true)]), vec![int(1)]);
    }

    #[test]
    fn unhashable_members_are_type_errors() {
        let mut set = PySet::default();
        assert_eq!(
            set.add(Py::Tuple(vec![int(1), Py::List(vec![])])),
            Err(Unhashable("list"))
        );
    }

    #[test]
    fn floats_and_complex_numbers_print_as_python_does() {
        assert_eq!(float_repr(1e16, true), "1e+16");
        assert_eq!(float_repr(1e15, true), "1000000000000000.0");
        assert_eq!(float_repr(0.0001, true), "0.0001");
        assert_eq!(float_repr(0.00001, true), "1e-05");
        assert_eq!(float_repr(2.5, true), "2.5");
        assert_eq!(
            float_repr(1.2345678901234568e17, true),
            "1.2345678901234568e+17"
        );
        assert_eq!(complex_repr(0.0, 1.0), "1j");
        assert_eq!(complex_repr(-0.0, -1.0), "(-0-1j)");
        assert_eq!(complex_repr(1.0, 2.0), "(1+2j)");
        assert_eq!(complex_repr(1.5, 0.0), "(1.5+0j)");
        assert_eq!(complex_repr(1e16, 1.0), "(1e+16+1j)");
        assert_eq!(complex_repr(1e-5, 1e22), "(1e-05+1e+22j)");
        assert_eq!(complex_repr(0.0, f64::INFINITY), "infj");
        assert_eq!(complex_repr(0.0, 1e32), "1e+32j");
    }

    #[test]
    fn dict_keys_print_as_json_dumps_does() {
        assert_eq!(key_text(&int(1)).unwrap(), "1");
        assert_eq!(key_text(&Py::Float(2.5)).unwrap(), "2.5");
        assert_eq!(key_text(&Py::Bool(true)).unwrap(), "true");
        assert_eq!(key_text(&Py::None).unwrap(), "null");
        assert!(key_text(&Py::Tuple(vec![])).is_err());
    }

    #[test]
    fn surrogate_pairs_join_and_lone_ones_are_refused() {
        assert_eq!(text(&[0xd83d, 0xde00]).unwrap(), "😀");
        assert!(text(&[0xd800]).is_err());
    }
}

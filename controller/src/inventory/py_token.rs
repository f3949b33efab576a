//! Python 3.11's tokenizer, for the part of the language `ast.literal_eval` can accept.
//!
//! Ansible's INI inventory types a value by handing it to `ast.literal_eval`; anything that
//! is not Python (a syntax error) stays a string. So this tokenizer only has to be exact on
//! what it accepts: every token form a literal can contain. Anything else (operators other
//! than `+` and `-`, non-ASCII outside strings, a stray backslash, ...) is [`Lex::NotPython`].

/// An integer literal's value: exact up to `i128`, approximate beyond.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum PyInt {
    /// Exact.
    Small(i128),
    /// Too large for `i128`: kept as the nearest float (JSON has no bigger numbers anyway).
    Big(f64),
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Int(PyInt),
    Float(f64),
    /// An imaginary literal (`2j`): its imaginary part.
    Imag(f64),
    /// A `str` literal, as code points (escapes may make lone surrogates).
    Str(Vec<u32>),
    /// A `bytes` literal.
    Bytes(Vec<u8>),
    /// An f-string: valid Python, never a literal (`ast.JoinedStr`).
    FString,
    /// A `str` literal holding an escape dr cannot decode (`\N{...}`).
    Undecodable(String),
    Name(String),
    Ellipsis,
    /// `( ) [ ] { } , : + -`.
    Punct(char),
}

/// Why a text is not a sequence of tokens.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Lex {
    /// Python would raise `SyntaxError` (or reject a null byte): the value stays a string.
    NotPython,
}

/// The tokenizer's limit on nested brackets (`MAXLEVEL` in CPython).
const MAX_LEVEL: usize = 200;

/// Splits `text` into tokens, as `ast.parse(text, mode="eval")` would.
pub(super) fn tokenize(text: &str) -> Result<Vec<Tok>, Lex> {
    if text.contains('\0') {
        return Err(Lex::NotPython);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut level = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\x0c' => i += 1,
            '#' => break,
            '0'..='9' => out.push(number(&chars, &mut i)?),
            '.' if chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                out.push(number(&chars, &mut i)?)
            }
            '.' if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') => {
                out.push(Tok::Ellipsis);
                i += 3;
            }
            '\'' | '"' => out.push(string(&chars, &mut i, "")?),
            '(' | '[' | '{' => {
                level += 1;
                if level > MAX_LEVEL {
                    return Err(Lex::NotPython);
                }
                out.push(Tok::Punct(c));
                i += 1;
            }
            ')' | ']' | '}' => {
                level = level.checked_sub(1).ok_or(Lex::NotPython)?;
                out.push(Tok::Punct(c));
                i += 1;
            }
            ',' | ':' | '+' | '-' => {
                out.push(Tok::Punct(c));
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if matches!(chars.get(i), Some('\'' | '"')) && is_string_prefix(&word) {
                    out.push(string(&chars, &mut i, &word)?);
                } else if word.is_ascii() {
                    out.push(Tok::Name(word));
                } else {
                    // A non-ASCII identifier is either invalid or a plain name: not a literal
                    // in both cases, and never a keyword.
                    return Err(Lex::NotPython);
                }
            }
            _ => return Err(Lex::NotPython),
        }
    }
    Ok(out)
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()
}

fn is_string_prefix(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf"
    )
}

/// `digit (["_"] digit)*` in `radix`, from `chars[*i]`; the digits without underscores
/// (empty when there is no digit there).
fn digit_part(chars: &[char], i: &mut usize, radix: u32) -> Result<String, Lex> {
    let mut digits = String::new();
    loop {
        match chars.get(*i) {
            Some(&c) if c.is_digit(radix) => {
                digits.push(c);
                *i += 1;
            }
            Some('_') if !digits.is_empty() => match chars.get(*i + 1) {
                Some(d) if d.is_digit(radix) => *i += 1,
                _ => return Err(Lex::NotPython),
            },
            _ => return Ok(digits),
        }
    }
}

fn number(chars: &[char], i: &mut usize) -> Result<Tok, Lex> {
    let radix = match (chars[*i], chars.get(*i + 1)) {
        ('0', Some('x' | 'X')) => Some(16),
        ('0', Some('o' | 'O')) => Some(8),
        ('0', Some('b' | 'B')) => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        *i += 2;
        if chars.get(*i) == Some(&'_') {
            *i += 1;
        }
        let digits = digit_part(chars, i, radix)?;
        if digits.is_empty() || chars.get(*i).is_some_and(|&c| is_ident_char(c)) {
            return Err(Lex::NotPython);
        }
        return Ok(Tok::Int(int_value(&digits, radix)));
    }
    let whole = digit_part(chars, i, 10)?;
    let mut float = false;
    let mut text = whole.clone();
    if chars.get(*i) == Some(&'.') {
        *i += 1;
        float = true;
        text.push('.');
        if chars.get(*i).is_some_and(char::is_ascii_digit) {
            text.push_str(&digit_part(chars, i, 10)?);
        }
    }
    if matches!(chars.get(*i), Some('e' | 'E')) {
        *i += 1;
        float = true;
        text.push('e');
        if let Some(&sign @ ('+' | '-')) = chars.get(*i) {
            text.push(sign);
            *i += 1;
        }
        let exp = digit_part(chars, i, 10)?;
        if exp.is_empty() {
            return Err(Lex::NotPython);
        }
        text.push_str(&exp);
    }
    let imaginary = matches!(chars.get(*i), Some('j' | 'J'));
    if imaginary {
        *i += 1;
    }
    if chars.get(*i).is_some_and(|&c| is_ident_char(c)) {
        return Err(Lex::NotPython);
    }
    if !float && !imaginary {
        if whole.starts_with('0') && whole.chars().any(|c| c != '0') {
            return Err(Lex::NotPython);
        }
        // Python 3.11 refuses to convert decimal literals over 4300 digits.
        if whole.len() > 4300 {
            return Err(Lex::NotPython);
        }
        return Ok(Tok::Int(int_value(&whole, 10)));
    }
    let value: f64 = text.parse().map_err(|_| Lex::NotPython)?;
    Ok(if imaginary {
        Tok::Imag(value)
    } else {
        Tok::Float(value)
    })
}

fn int_value(digits: &str, radix: u32) -> PyInt {
    match i128::from_str_radix(digits, radix) {
        Ok(n) => PyInt::Small(n),
        Err(_) => PyInt::Big(
            digits
                .chars()
                .filter_map(|c| c.to_digit(radix))
                .fold(0.0, |acc, d| acc * f64::from(radix) + f64::from(d)),
        ),
    }
}

/// A string literal starting at the quote `chars[*i]`, with `prefix` already read.
fn string(chars: &[char], i: &mut usize, prefix: &str) -> Result<Tok, Lex> {
    let prefix = prefix.to_ascii_lowercase();
    let (raw, bytes, fstring) = (
        prefix.contains('r'),
        prefix.contains('b'),
        prefix.contains('f'),
    );
    let quote = chars[*i];
    let triple = chars.get(*i + 1) == Some(&quote) && chars.get(*i + 2) == Some(&quote);
    *i += if triple { 3 } else { 1 };
    let mut body = Vec::new();
    loop {
        let c = *chars.get(*i).ok_or(Lex::NotPython)?;
        if c == '\\' {
            body.push(c);
            body.push(*chars.get(*i + 1).ok_or(Lex::NotPython)?);
            *i += 2;
        } else if c == quote
            && (!triple || (chars.get(*i + 1) == Some(&quote) && chars.get(*i + 2) == Some(&quote)))
        {
            *i += if triple { 3 } else { 1 };
            break;
        } else {
            body.push(c);
            *i += 1;
        }
    }
    if fstring {
        return Ok(Tok::FString);
    }
    if bytes {
        if body.iter().any(|c| !c.is_ascii()) {
            return Err(Lex::NotPython);
        }
        if raw {
            return Ok(Tok::Bytes(body.iter().map(|&c| c as u8).collect()));
        }
        return bytes_escapes(&body).map(Tok::Bytes);
    }
    if raw {
        return Ok(Tok::Str(body.iter().map(|&c| c as u32).collect()));
    }
    str_escapes(&body)
}

fn hex_value(chars: &[char], at: usize, len: usize) -> Option<u32> {
    let digits: String = chars.get(at..at + len)?.iter().collect();
    (digits.len() == len && digits.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(&digits, 16).ok())
        .flatten()
}

/// The escapes common to `str` and `bytes`: the code, and how many characters it took.
fn common_escape(body: &[char], at: usize) -> Option<(u32, usize)> {
    let simple = match body[at] {
        '\\' => Some(0x5c),
        '\'' => Some(0x27),
        '"' => Some(0x22),
        'a' => Some(7),
        'b' => Some(8),
        'f' => Some(12),
        'n' => Some(10),
        'r' => Some(13),
        't' => Some(9),
        'v' => Some(11),
        _ => None,
    };
    if let Some(code) = simple {
        return Some((code, 1));
    }
    let octal: String = body[at..]
        .iter()
        .take(3)
        .take_while(|c| ('0'..='7').contains(c))
        .collect();
    if !octal.is_empty() {
        return u32::from_str_radix(&octal, 8)
            .ok()
            .map(|v| (v, octal.len()));
    }
    None
}

fn str_escapes(body: &[char]) -> Result<Tok, Lex> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] != '\\' {
            out.push(body[i] as u32);
            i += 1;
            continue;
        }
        i += 1;
        if let Some((code, used)) = common_escape(body, i) {
            out.push(code);
            i += used;
            continue;
        }
        let len = match body[i] {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            'N' => {
                let rest: String = body[i..].iter().collect();
                if rest.starts_with("N{") && rest.contains('}') {
                    return Ok(Tok::Undecodable(
                        "`\\N{...}` escapes (Unicode character names)".into(),
                    ));
                }
                return Err(Lex::NotPython);
            }
            other => {
                out.push('\\' as u32);
                out.push(other as u32);
                i += 1;
                continue;
            }
        };
        let code = hex_value(body, i + 1, len).ok_or(Lex::NotPython)?;
        if code > 0x10ffff {
            return Err(Lex::NotPython);
        }
        out.push(code);
        i += 1 + len;
    }
    Ok(Tok::Str(out))
}

fn bytes_escapes(body: &[char]) -> Result<Vec<u8>, Lex> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] != '\\' {
            out.push(body[i] as u8);
            i += 1;
            continue;
        }
        i += 1;
        if let Some((code, used)) = common_escape(body, i) {
            // Octal escapes above `\377` keep their low byte, as CPython 3.11 does.
            out.push((code & 0xff) as u8);
            i += used;
        } else if body[i] == 'x' {
            out.push(hex_value(body, i + 1, 2).ok_or(Lex::NotPython)? as u8);
            i += 3;
        } else {
            out.push(b'\\');
            out.push(body[i] as u8);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Tok {
        let mut toks = tokenize(text).unwrap();
        assert_eq!(toks.len(), 1, "{text}: {toks:?}");
        toks.remove(0)
    }

    #[test]
    fn numbers_follow_python_literal_rules() {
        assert_eq!(one("0x_1f"), Tok::Int(PyInt::Small(31)));
        assert_eq!(one("0O17"), Tok::Int(PyInt::Small(15)));
        assert_eq!(one("1_000"), Tok::Int(PyInt::Small(1000)));
        assert_eq!(one("0_0"), Tok::Int(PyInt::Small(0)));
        assert_eq!(one("09.5"), Tok::Float(9.5));
        assert_eq!(one("1.e5"), Tok::Float(100000.0));
        assert_eq!(one(".5j"), Tok::Imag(0.5));
        assert_eq!(one("09j"), Tok::Imag(9.0));
        for bad in [
            "0777", "0_7", "1__0", "1_", "0b", "0o8", "0xfg", "1e", "1abc", "1.__x", "0x__1",
            "1e_5",
        ] {
            assert_eq!(tokenize(bad), Err(Lex::NotPython), "{bad}");
        }
        assert_eq!(tokenize(&"1".repeat(4301)), Err(Lex::NotPython));
    }

    #[test]
    fn strings_decode_escapes_like_python() {
        let s = |t: &str| match one(t) {
            Tok::Str(cps) => cps
                .into_iter()
                .map(|c| char::from_u32(c).unwrap())
                .collect::<String>(),
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(s(r"'a\nb'"), "a\nb");
        assert_eq!(s(r"'\q'"), "\\q");
        assert_eq!(s(r"'\777'"), "\u{1ff}");
        assert_eq!(s(r"u'\u00e9'"), "é");
        assert_eq!(s(r"r'\''"), "\\'");
        assert_eq!(s("'''a'b'''"), "a'b");
        assert_eq!(one(r"b'\777'"), Tok::Bytes(vec![0xff]));
        assert_eq!(one(r"b'\u0041'"), Tok::Bytes(b"\\u0041".to_vec()));
        assert_eq!(one("f'x'"), Tok::FString);
        for bad in [r"'\x4'", r"'\U00110000'", r"r'\'", "'a", "b'é'", r"'\N'"] {
            assert_eq!(tokenize(bad), Err(Lex::NotPython), "{bad}");
        }
    }

    #[test]
    fn nesting_is_limited_to_two_hundred_brackets() {
        assert!(tokenize(&format!("{}{}", "[".repeat(200), "]".repeat(200))).is_ok());
        assert_eq!(
            tokenize(&format!("{}{}", "[".repeat(201), "]".repeat(201))),
            Err(Lex::NotPython)
        );
    }
}

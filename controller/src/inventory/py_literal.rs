//! `ast.literal_eval`, as Ansible's INI inventory applies it to every value (`_parse_value`).
//!
//! A value that is a Python literal (numbers, `True`/`False`/`None`, quoted strings, lists,
//! tuples, dicts, sets) becomes that value; anything else, a syntax error or an expression
//! that is not a literal (`yes`, `true`, `a-b`), stays the string as written. Ansible catches
//! only `ValueError` and `SyntaxError`: an unhashable set member or dict key (`TypeError`)
//! fails the inventory, and does so here too.

use serde_json::Value;

use super::py_token::{PyInt, Tok, tokenize};
use super::py_value::{Py, PySet, Unhashable, to_json};

/// Why a value fails the inventory.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum LiteralError {
    /// Python raises `TypeError: unhashable type: '<kind>'`.
    Unhashable(&'static str),
    /// A literal dr cannot hold as a variable (an infinite float, a lone surrogate, ...).
    Unrepresentable(String),
}

/// The variable Ansible's INI plugin makes of `text`.
pub(super) fn parse_value(text: &str) -> Result<Value, LiteralError> {
    let as_string = || Ok(Value::String(text.to_owned()));
    let Ok(tokens) = tokenize(text.trim_start_matches([' ', '\t'])) else {
        return as_string();
    };
    let mut parser = Parser {
        toks: &tokens,
        pos: 0,
    };
    let Some(node) = parser.top() else {
        return as_string();
    };
    match convert(&node) {
        Ok(value) => to_json(value).map_err(LiteralError::Unrepresentable),
        Err(Fail::Malformed) => as_string(),
        Err(Fail::Unhashable(Unhashable(kind))) => Err(LiteralError::Unhashable(kind)),
    }
}

/// The expression forms a literal can be built from; anything else is a syntax error here
/// (Python may parse it, but `literal_eval` rejects it all the same).
#[derive(Debug)]
enum Node {
    Const(Py),
    /// A name other than `True`, `False`, `None`: valid Python, not a literal.
    Name,
    /// An f-string or a call other than `set()`: valid Python, not a literal.
    Other,
    Tuple(Vec<Node>),
    List(Vec<Node>),
    Set(Vec<Node>),
    Dict(Vec<(Node, Node)>),
    /// `set()`.
    EmptySet,
    /// Unary `+`/`-` (`true` = minus), outermost first, around an operand.
    Unary(Vec<bool>, Box<Node>),
    /// Binary `+`/`-` (`true` = minus).
    Bin(bool, Box<Node>, Box<Node>),
}

const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn at(&self, punct: char) -> bool {
        self.peek() == Some(&Tok::Punct(punct))
    }

    fn eat(&mut self, punct: char) -> bool {
        let found = self.at(punct);
        if found {
            self.pos += 1;
        }
        found
    }

    /// `eval_input`: an expression, or a bare tuple (`1, 2`), and nothing after it.
    fn top(&mut self) -> Option<Node> {
        let (mut items, comma) = self.items(None)?;
        (self.pos == self.toks.len()).then_some(())?;
        Some(if comma || items.len() != 1 {
            if items.is_empty() {
                return None;
            }
            Node::Tuple(items)
        } else {
            items.remove(0)
        })
    }

    /// Comma-separated expressions up to `close` (consumed) or the end; whether a comma
    /// was seen.
    fn items(&mut self, close: Option<char>) -> Option<(Vec<Node>, bool)> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            let done = match close {
                Some(c) => self.at(c),
                None => self.peek().is_none(),
            };
            if done {
                break;
            }
            items.push(self.expr()?);
            if !self.eat(',') {
                break;
            }
            comma = true;
        }
        if let Some(c) = close {
            self.eat(c).then_some(())?;
        }
        Some((items, comma))
    }

    fn expr(&mut self) -> Option<Node> {
        let mut left = self.unary()?;
        while let Some(Tok::Punct(op @ ('+' | '-'))) = self.peek() {
            let minus = *op == '-';
            self.pos += 1;
            let right = self.unary()?;
            left = Node::Bin(minus, Box::new(left), Box::new(right));
        }
        Some(left)
    }

    fn unary(&mut self) -> Option<Node> {
        let mut ops = Vec::new();
        while let Some(Tok::Punct(op @ ('+' | '-'))) = self.peek() {
            ops.push(*op == '-');
            self.pos += 1;
        }
        let atom = self.atom()?;
        Some(if ops.is_empty() {
            atom
        } else {
            Node::Unary(ops, Box::new(atom))
        })
    }

    fn atom(&mut self) -> Option<Node> {
        let tok = self.peek()?.clone();
        self.pos += 1;
        Some(match tok {
            Tok::Int(n) => Node::Const(Py::Int(n)),
            Tok::Float(f) => Node::Const(Py::Float(f)),
            Tok::Imag(f) => Node::Const(Py::Complex(0.0, f)),
            Tok::Ellipsis => Node::Const(Py::Ellipsis),
            Tok::Str(_) | Tok::Bytes(_) | Tok::FString | Tok::Undecodable(_) => {
                self.pos -= 1;
                self.strings()?
            }
            Tok::Name(name) => match name.as_str() {
                "True" => Node::Const(Py::Bool(true)),
                "False" => Node::Const(Py::Bool(false)),
                "None" => Node::Const(Py::None),
                n if KEYWORDS.contains(&n) => return None,
                _ if self.at('(') => {
                    self.pos += 1;
                    self.eat(')').then_some(())?;
                    if name == "set" {
                        Node::EmptySet
                    } else {
                        Node::Other
                    }
                }
                _ => Node::Name,
            },
            Tok::Punct('(') => {
                let (mut items, comma) = self.items(Some(')'))?;
                if comma || items.len() != 1 {
                    Node::Tuple(items)
                } else {
                    items.remove(0)
                }
            }
            Tok::Punct('[') => Node::List(self.items(Some(']'))?.0),
            Tok::Punct('{') => self.braces()?,
            Tok::Punct(_) => return None,
        })
    }

    /// Adjacent string literals, concatenated: all `str` or all `bytes`.
    fn strings(&mut self) -> Option<Node> {
        let (mut text, mut bytes) = (Vec::new(), Vec::new());
        let (mut saw_str, mut saw_bytes, mut fstring) = (false, false, false);
        let mut undecodable = None;
        loop {
            match self.peek() {
                Some(Tok::Str(cps)) => {
                    saw_str = true;
                    text.extend_from_slice(cps);
                }
                Some(Tok::Undecodable(why)) => {
                    saw_str = true;
                    undecodable.get_or_insert_with(|| why.clone());
                }
                Some(Tok::FString) => fstring = true,
                Some(Tok::Bytes(b)) => {
                    saw_bytes = true;
                    bytes.extend_from_slice(b);
                }
                _ => break,
            }
            self.pos += 1;
        }
        if saw_bytes && (saw_str || fstring) {
            return None;
        }
        Some(if fstring {
            Node::Other
        } else if saw_bytes {
            Node::Const(Py::Bytes(bytes))
        } else if let Some(why) = undecodable {
            Node::Const(Py::Undecodable(why))
        } else {
            Node::Const(Py::Str(text))
        })
    }

    /// `{}`, a dict display or a set display.
    fn braces(&mut self) -> Option<Node> {
        if self.eat('}') {
            return Some(Node::Dict(Vec::new()));
        }
        let first = self.expr()?;
        if !self.eat(':') {
            let mut items = vec![first];
            while self.eat(',') && !self.at('}') {
                items.push(self.expr()?);
            }
            self.eat('}').then_some(())?;
            return Some(Node::Set(items));
        }
        let mut pairs = vec![(first, self.expr()?)];
        while self.eat(',') && !self.at('}') {
            let key = self.expr()?;
            self.eat(':').then_some(())?;
            pairs.push((key, self.expr()?));
        }
        self.eat('}').then_some(())?;
        Some(Node::Dict(pairs))
    }
}

/// How `literal_eval`'s `_convert` fails.
enum Fail {
    /// `ValueError: malformed node or string`.
    Malformed,
    /// `TypeError: unhashable type`.
    Unhashable(Unhashable),
}

impl From<Unhashable> for Fail {
    fn from(u: Unhashable) -> Self {
        Fail::Unhashable(u)
    }
}

/// `_convert`, in Python's evaluation order (the first failure decides).
fn convert(node: &Node) -> Result<Py, Fail> {
    match node {
        Node::Const(value) => Ok(value.clone()),
        Node::Tuple(items) => Ok(Py::Tuple(
            items.iter().map(convert).collect::<Result<_, _>>()?,
        )),
        Node::List(items) => Ok(Py::List(
            items.iter().map(convert).collect::<Result<_, _>>()?,
        )),
        Node::Set(items) => {
            let mut set = PySet::default();
            for item in items {
                set.add(convert(item)?)?;
            }
            Ok(set.finish())
        }
        Node::EmptySet => Ok(Py::Set(Vec::new())),
        Node::Dict(pairs) => {
            let mut entries: Vec<(Py, Py)> = Vec::new();
            for (k, v) in pairs {
                let (key, value) = (convert(k)?, convert(v)?);
                key.check_hashable()?;
                match entries
                    .iter_mut()
                    .find(|(existing, _)| existing.py_eq(&key))
                {
                    Some(entry) => entry.1 = value,
                    None => entries.push((key, value)),
                }
            }
            Ok(Py::Dict(entries))
        }
        Node::Bin(minus, left, right) => {
            let (left, right) = (signed_num(left)?, num(right)?);
            let real = match left {
                Py::Int(PyInt::Small(n)) => n as f64,
                Py::Int(PyInt::Big(f)) | Py::Float(f) => f,
                _ => return Err(Fail::Malformed),
            };
            let Py::Complex(re, im) = right else {
                return Err(Fail::Malformed);
            };
            Ok(if *minus {
                Py::Complex(real - re, 0.0 - im)
            } else {
                Py::Complex(real + re, 0.0 + im)
            })
        }
        _ => signed_num(node),
    }
}

/// `_convert_signed_num`: a number, or one `+`/`-` applied to a number.
fn signed_num(node: &Node) -> Result<Py, Fail> {
    let Node::Unary(ops, operand) = node else {
        return num(node);
    };
    if ops.len() != 1 {
        return Err(Fail::Malformed);
    }
    let value = num(operand)?;
    if !ops[0] {
        return Ok(value);
    }
    Ok(match value {
        Py::Int(PyInt::Small(n)) => Py::Int(PyInt::Small(-n)),
        Py::Int(PyInt::Big(f)) => Py::Int(PyInt::Big(-f)),
        Py::Float(f) => Py::Float(-f),
        Py::Complex(re, im) => Py::Complex(-re, -im),
        _ => return Err(Fail::Malformed),
    })
}

/// `_convert_num`: an `int`, `float` or `complex` constant (not a `bool`).
fn num(node: &Node) -> Result<Py, Fail> {
    match node {
        Node::Const(v @ (Py::Int(_) | Py::Float(_) | Py::Complex(..))) => Ok(v.clone()),
        _ => Err(Fail::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(text: &str) -> Value {
        parse_value(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    #[test]
    fn literals_become_typed_values() {
        let cases = [
            ("1", json!(1)),
            ("1.5", json!(1.5)),
            ("-5", json!(-5)),
            ("0x1F", json!(31)),
            ("1e3", json!(1000.0)),
            ("True", json!(true)),
            ("None", json!(null)),
            ("'quoted'", json!("quoted")),
            ("'a' 'b'", json!("ab")),
            ("u'\\u00e9'", json!("é")),
            ("b'by'", json!("{% raw %}by{% endraw %}")),
            ("[1, 'a']", json!([1, "a"])),
            ("(1,)", json!([1])),
            ("1, 2", json!([1, 2])),
            ("()", json!([])),
            ("set()", json!([])),
            ("{3, 1, 2}", json!([1, 2, 3])),
            ("{'k': [None]}", json!({"k": [null]})),
            (
                "{1: 'a', True: 'b', 2.5: 'c', None: 'n'}",
                json!({"1": "b", "2.5": "c", "null": "n"}),
            ),
            ("1j", json!("1j")),
            ("-1j", json!("(-0-1j)")),
            ("1+2j", json!("(1+2j)")),
            ("-1-2j", json!("(-1-2j)")),
            ("...", json!("...")),
            ("[...]", json!(["..."])),
            ("1 # comment", json!(1)),
            ("\t 7", json!(7)),
            ("99999999999999999999999", json!(1e23)),
        ];
        for (text, want) in cases {
            assert_eq!(v(text), want, "{text}");
        }
    }

    #[test]
    fn everything_else_stays_the_string_as_written() {
        for text in [
            "true",
            "yes",
            "hello # comment",
            "{k:v}",
            "-True",
            "+True",
            "--1",
            "1+2",
            "2j+1",
            "1+2j+3j",
            "(1,2)+3j",
            "f'x'",
            "'a' b'b'",
            "set(1)",
            "foo()",
            "[1][0]",
            "0777",
            "1 2",
            "",
            "# only",
            "'unterminated",
            "1 \\",
            "a=b",
            "x*2",
            "not 1",
            "{**{}}",
            "{x: 1, [1]: 2}",
            "{[1]: foo}",
            "Ellipsis",
            " ",
        ] {
            assert_eq!(v(text), Value::String(text.into()), "{text:?}");
        }
    }

    #[test]
    fn unhashable_keys_fail_like_python_type_errors() {
        assert_eq!(
            parse_value("{[1]: 2}"),
            Err(LiteralError::Unhashable("list"))
        );
        assert_eq!(
            parse_value("{[1]: 1, 2: foo}"),
            Err(LiteralError::Unhashable("list"))
        );
        assert_eq!(
            parse_value("{(1, {})}"),
            Err(LiteralError::Unhashable("dict"))
        );
    }

    #[test]
    fn values_dr_cannot_hold_are_refused() {
        assert!(matches!(
            parse_value("1e400"),
            Err(LiteralError::Unrepresentable(_))
        ));
        assert!(matches!(
            parse_value("'\\ud800'"),
            Err(LiteralError::Unrepresentable(_))
        ));
        assert!(matches!(
            parse_value("'\\N{BULLET}'"),
            Err(LiteralError::Unrepresentable(_))
        ));
        assert_eq!(v("'\\ud83d\\ude00'"), json!("😀"));
    }
}

//! A YAML document as a tree of nodes that remember where they came from.
//!
//! Playbooks and inventories are parsed into this tree first, so every later error (unknown
//! keyword, unknown host, cycle) can point at `file:line:col`.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::diagnostic::Loc;

/// A YAML value with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// Where the value starts.
    pub loc: Loc,
}

/// The shape of a YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `~`, `null` or nothing.
    Null,
    /// `true`, `yes`, ...
    Bool(bool),
    /// An integer (`0644` is octal, as in YAML 1.1).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

thread_local! {
    /// The file the reader on this thread is reading: each node's location names it as the
    /// node is made (one shared name, no walk over the tree afterwards).
    static READING: RefCell<Arc<str>> = RefCell::new(Arc::from(""));
    /// The first repeated mapping key the reader met: where it repeats, where it was first.
    static REPEATED: RefCell<Option<(Node, Loc)>> = const { RefCell::new(None) };
}

/// Runs `read` with every [`Node`] it deserializes located in `file`; gives what `read`
/// returned and the first repeated mapping key it met (the key, where it was first given).
pub(crate) fn reading<T>(file: &Arc<str>, read: impl FnOnce() -> T) -> (T, Option<(Node, Loc)>) {
    let previous = READING.replace(file.clone());
    REPEATED.take();
    let out = read();
    READING.set(previous);
    (out, REPEATED.take())
}

impl Node {
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// True for `~`/`null`/empty.
    pub fn is_null(&self) -> bool {
        matches!(self.value, NodeValue::Null)
    }

    /// A scalar as text, the way Ansible stringifies keys and names (`1` → "1").
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::Str(s) => Some(s.clone()),
            NodeValue::Int(i) => Some(i.to_string()),
            NodeValue::Float(f) => Some(f.to_string()),
            NodeValue::Bool(b) => Some(b.to_string()),
            NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => None,
        }
    }

    /// What kind of value this is, for error messages ("a mapping", "a string").
    pub fn kind(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// [`Node::to_json`], moving the strings out instead of copying them.
    pub fn into_json(self) -> Json {
        match self.value {
            NodeValue::Str(s) => Json::String(s),
            NodeValue::Seq(items) => Json::Array(items.into_iter().map(Node::into_json).collect()),
            NodeValue::Map(entries) => Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_text().unwrap_or_default(), v.into_json()))
                    .collect(),
            ),
            _ => self.to_json(),
        }
    }

    /// [`Node::scalar_text`], moving a string out.
    pub fn into_text(self) -> Option<String> {
        match self.value {
            NodeValue::Str(s) => Some(s),
            _ => self.scalar_text(),
        }
    }

    /// Converts to JSON (locations dropped). Mapping keys become strings.
    pub fn to_json(&self) -> Json {
        match &self.value {
            NodeValue::Null => Json::Null,
            NodeValue::Bool(b) => Json::Bool(*b),
            NodeValue::Int(i) => Json::from(*i),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number)
            }
            NodeValue::Str(s) => Json::String(s.clone()),
            NodeValue::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

// A node is read through the YAML reader's span-aware newtype (what its `Spanned<T>` asks
// for), read leanly: the reader yields a map of its marker, `value`, `referenced` and
// `defined`, in that order, and a location as `line`, `column`, `span`, `source_id`. Only
// the value and where it is referenced (an alias copy's location is the alias's) are read;
// `Spanned<T>` itself allocates its marker key and reads both locations whole, for every
// node of a file.
impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(SPANNED, SpannedNode)
    }
}

const SPANNED: &str = "__yaml_spanned";

struct SpannedNode;

impl<'de> Visitor<'de> for SpannedNode {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML node with its location")
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        map.next_key_seed(Key("__serde_saphyr_private_spanned"))?;
        map.next_value::<de::IgnoredAny>()?;
        map.next_key_seed(Key("value"))?;
        let value = map.next_value::<NodeValue>()?;
        map.next_key_seed(Key("referenced"))?;
        let (line, col) = map.next_value::<Position>()?.0;
        let file = READING.with_borrow(Arc::clone);
        Ok(Node {
            value,
            loc: Loc::new(file, line, col),
        })
    }
}

/// A key of the reader's span-aware map, checked to be the one expected next.
struct Key(&'static str);

impl<'de> de::DeserializeSeed<'de> for Key {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "the key `{}`", self.0)
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<(), E> {
        if key == self.0 {
            Ok(())
        } else {
            Err(E::custom(format!(
                "the YAML reader gave `{key}` where `{}` was expected (a bug in dr)",
                self.0
            )))
        }
    }
}

/// The line and column of a reader location (its span and source are not read).
struct Position((u32, u32));

impl<'de> Deserialize<'de> for Position {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("Location", &["line", "column"], PositionVisitor)
    }
}

struct PositionVisitor;

impl<'de> Visitor<'de> for PositionVisitor {
    type Value = Position;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML location")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Position, A::Error> {
        map.next_key_seed(Key("line"))?;
        let line = map.next_value::<u32>()?;
        map.next_key_seed(Key("column"))?;
        let col = map.next_value::<u32>()?;
        Ok(Position((line, col)))
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<NodeValue, E> {
        Ok(i64::try_from(u).map_or(NodeValue::Float(u as f64), NodeValue::Int))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(f))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut seen = super::seen_keys::SeenKeys::default();
        while let Some((key, value)) = map.next_entry::<Node, Node>()? {
            // Kept out of the tree and reported once the file is read, where it repeats
            // (an error from here would be located where the parser stands).
            if let Some(first) = seen.first_of(&key, &entries) {
                let first = first.clone();
                REPEATED.with_borrow_mut(|r| {
                    r.get_or_insert((key, first));
                });
                continue;
            }
            seen.add(&key, &entries);
            entries.push((key, value));
        }
        Ok(NodeValue::Map(entries))
    }
}

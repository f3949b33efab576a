//! A variable map many requests carry (the run's `hostvars`: every host's variables, in
//! every host's request). The controller holds it once for all the requests that share it
//! and encodes it once, however many requests are written: a copy per host would make the
//! controller's memory and encoding time grow with the square of the host count.
//!
//! On the wire it is packed: one JSON string holding the map's JSON, gzip-compressed, in
//! base64. Every host's entry repeats the same keys, so at 300 hosts 84 KB of JSON packs
//! into ~7 KB, and the controller's SSH buffers, which take each request whole and keep
//! that size per connection, hold that much less for every host. The agent takes the plain
//! map too.
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A shared, read-only variable map; cheap to clone.
#[derive(Clone, Default)]
pub struct SharedVars(Arc<Inner>);

#[derive(Default)]
struct Inner {
    map: Arc<Map<String, Value>>,
    /// Its JSON, made the first time a request carrying it is encoded.
    encoded: OnceLock<Result<Box<RawValue>, String>>,
}

impl SharedVars {
    /// Shares `map`.
    pub fn new(map: Map<String, Value>) -> Self {
        SharedVars(Arc::new(Inner {
            map: Arc::new(map),
            encoded: OnceLock::new(),
        }))
    }

    /// The variables.
    pub fn map(&self) -> &Map<String, Value> {
        &self.0.map
    }

    /// The variables, shared: the agent's templates read them without a copy.
    pub fn shared_map(&self) -> Arc<Map<String, Value>> {
        self.0.map.clone()
    }

    /// Puts the variables in `vars`, each in place of the null that keeps its place (a
    /// name without one goes at the end): how a host's variables get `groups` and the
    /// play's host lists, on the agent and for what the controller renders itself.
    pub fn join_into(&self, vars: &mut Map<String, Value>) {
        for (k, v) in self.map() {
            vars.insert(k.clone(), v.clone());
        }
    }

    /// Whether `self` and `other` are the same shared map (not merely equal).
    pub fn same(&self, other: &SharedVars) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for SharedVars {
    // The values may be secrets: a debug print names the keys' count only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedVars({} keys)", self.0.map.len())
    }
}

impl SharedVars {
    /// Its JSON, encoded the first time it is asked for.
    pub(super) fn encoded<E: serde::ser::Error>(&self) -> Result<&RawValue, E> {
        let encoded = self.0.encoded.get_or_init(|| pack(&self.0.map));
        match encoded {
            Ok(raw) => Ok(raw),
            Err(e) => Err(E::custom(e)),
        }
    }
}

impl Serialize for SharedVars {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Encoded once: a request line being written gets it from there (see
        // `request_line`), never a copy in each request's layout.
        let raw = self.encoded::<S::Error>()?;
        if super::request_line::leave_shared_hole(self) {
            return s.serialize_u8(0);
        }
        raw.serialize(s)
    }
}

/// The map's wire form: a JSON string, the base64 of its JSON gzip-compressed.
fn pack(map: &Map<String, Value>) -> Result<Box<RawValue>, String> {
    use base64::Engine as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    serde_json::to_writer(&mut gz, map).map_err(|e| e.to_string())?;
    let packed = gz.finish().map_err(|e| e.to_string())?;
    let mut text = String::with_capacity(packed.len() * 4 / 3 + 8);
    text.push('"');
    base64::engine::general_purpose::STANDARD.encode_string(&packed, &mut text);
    text.push('"');
    RawValue::from_string(text).map_err(|e| e.to_string())
}

/// The map back from its packed form (see [`pack`]).
fn unpack(text: &str) -> Result<Map<String, Value>, String> {
    use base64::Engine as _;
    let packed = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("the shared variables are not base64: {e}"))?;
    serde_json::from_reader(flate2::read::GzDecoder::new(&packed[..]))
        .map_err(|e| format!("the shared variables do not unpack: {e}"))
}

/// The two wire forms: packed (what the controller sends), or the plain map.
#[derive(Deserialize)]
#[serde(untagged)]
enum Form {
    Packed(String),
    Plain(Map<String, Value>),
}

impl<'de> Deserialize<'de> for SharedVars {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Form::deserialize(d)? {
            Form::Packed(text) => unpack(&text)
                .map(SharedVars::new)
                .map_err(serde::de::Error::custom),
            Form::Plain(map) => Ok(SharedVars::new(map)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shared(v: Value) -> SharedVars {
        match v {
            Value::Object(map) => SharedVars::new(map),
            other => panic!("not a map: {other}"),
        }
    }

    #[test]
    fn encodes_packed_the_same_every_time_and_decodes_back() {
        let vars = shared(json!({"h1": {"a": 1, "b": "x\"y"}, "h2": {}}));
        let copy = vars.clone();
        let once = serde_json::to_string(&vars).unwrap_or_default();
        let twice = serde_json::to_string(&copy).unwrap_or_default();
        let text: String = serde_json::from_str(&once).unwrap_or_default();
        assert_eq!(
            unpack(&text).ok(),
            json!({"h1": {"a": 1, "b": "x\"y"}, "h2": {}})
                .as_object()
                .cloned()
        );
        assert_eq!(once, twice);
        assert!(vars.same(&copy));
        let back: SharedVars = serde_json::from_str(&once).unwrap_or_default();
        assert_eq!(back.map(), vars.map());
        assert!(!back.same(&vars));
        // Inside another value too (the request's field).
        let outer = serde_json::to_string(&json!({"hostvars": serde_json::to_value(&vars).ok()}))
            .unwrap_or_default();
        #[derive(Deserialize)]
        struct Outer {
            hostvars: SharedVars,
        }
        let back: Outer = serde_json::from_str(&outer).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.hostvars.map()["h1"]["a"], json!(1));
    }

    #[test]
    fn takes_the_plain_map_too() {
        let back: SharedVars =
            serde_json::from_str(r#"{"h1":{"a":1}}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.map()["h1"]["a"], json!(1));
        let bad = serde_json::from_str::<SharedVars>(r#""not base64!""#);
        assert!(bad.is_err());
    }

    #[test]
    fn many_hosts_pack_small() {
        let mut map = Map::new();
        for i in 0..300 {
            map.insert(
                format!("h{i:03}"),
                json!({"ansible_host": "127.0.0.1", "ansible_port": 40000 + i % 10,
                       "root": format!("/srv/roots/h{i:03}"), "group_names": ["ungrouped"],
                       "inventory_hostname": format!("h{i:03}")}),
            );
        }
        let plain = serde_json::to_string(&map).unwrap_or_default().len();
        let packed = serde_json::to_string(&SharedVars::new(map))
            .unwrap_or_default()
            .len();
        assert!(packed * 5 < plain, "{packed} packed against {plain}");
    }

    #[test]
    fn debug_shows_no_values() {
        let vars = shared(json!({"h1": {"password": "s3cret"}}));
        let shown = format!("{vars:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}

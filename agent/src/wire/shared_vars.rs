//! A variable map many requests carry (the run's `hostvars`: every host's variables, in
//! every host's request). The controller holds it once for all the requests that share it
//! and encodes it once, however many requests are written: a copy per host would make the
//! controller's memory and encoding time grow with the square of the host count.

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
        let encoded = self.0.encoded.get_or_init(|| {
            serde_json::value::to_raw_value(&*self.0.map).map_err(|e| e.to_string())
        });
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

impl<'de> Deserialize<'de> for SharedVars {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::deserialize(d).map(SharedVars::new)
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
    fn encodes_as_its_map_every_time_and_decodes_back() {
        let vars = shared(json!({"h1": {"a": 1, "b": "x\"y"}, "h2": {}}));
        let copy = vars.clone();
        let once = serde_json::to_string(&vars).unwrap_or_default();
        let twice = serde_json::to_string(&copy).unwrap_or_default();
        assert_eq!(once, r#"{"h1":{"a":1,"b":"x\"y"},"h2":{}}"#);
        assert_eq!(once, twice);
        assert!(vars.same(&copy));
        let back: SharedVars = serde_json::from_str(&once).unwrap_or_default();
        assert_eq!(back.map(), vars.map());
        assert!(!back.same(&vars));
        // Inside another value too (the request's field).
        let outer = serde_json::to_value(json!({"hostvars": serde_json::to_value(&vars).ok()}))
            .unwrap_or_default();
        assert_eq!(outer["hostvars"]["h1"]["a"], json!(1));
    }

    #[test]
    fn debug_shows_no_values() {
        let vars = shared(json!({"h1": {"password": "s3cret"}}));
        let shown = format!("{vars:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}

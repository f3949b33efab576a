//! A host's variables for what the controller renders before its request goes (names of
//! dynamic includes, controller lookups, templated `src` paths, `include_vars` names): its
//! own variables with `hostvars`, `groups` and the play's host lists in their places, as
//! the agent will render with. The request carries those shared, so this copy is made only
//! when something is rendered.

use std::cell::OnceCell;

use dr_agent::wire::SharedVars;
use serde_json::{Map, Value};

/// A host's own variables and the shared `hostvars` and batch lists, joined on first use.
pub struct RenderVars<'a> {
    vars: &'a Map<String, Value>,
    hostvars: &'a SharedVars,
    play_vars: &'a SharedVars,
    joined: OnceCell<Map<String, Value>>,
}

impl<'a> RenderVars<'a> {
    /// `vars` (whose `hostvars` and batch lists may be nulls keeping their places) with
    /// `hostvars` and `play_vars`.
    pub fn new(
        vars: &'a Map<String, Value>,
        hostvars: &'a SharedVars,
        play_vars: &'a SharedVars,
    ) -> Self {
        RenderVars {
            vars,
            hostvars,
            play_vars,
            joined: OnceCell::new(),
        }
    }

    /// Every variable, `hostvars` and the batch lists included (copied the first time).
    pub fn get(&self) -> &Map<String, Value> {
        self.joined.get_or_init(|| {
            let mut joined = self.vars.clone();
            joined.insert(
                "hostvars".into(),
                Value::Object(self.hostvars.map().clone()),
            );
            self.play_vars.join_into(&mut joined);
            joined
        })
    }

    /// Whether a variable's value (`hostvars` as one value) satisfies `test`, without the
    /// copy.
    pub fn any_value(&self, test: impl Fn(&Value) -> bool) -> bool {
        let shared = self.play_vars.map();
        self.vars
            .iter()
            .filter(|(k, _)| *k != "hostvars" && !shared.contains_key(*k))
            .any(|(_, v)| test(v))
            || self.hostvars.map().values().any(&test)
            || shared.values().any(&test)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn joined_in_place_of_the_null() {
        let vars = map(json!({"a": 1, "hostvars": null, "groups": null, "z": 2}));
        let hostvars = SharedVars::new(map(json!({"h1": {"x": "{{ lookup('file', 'f') }}"}})));
        let play_vars = SharedVars::new(map(json!({"groups": {"all": ["h1"]}})));
        let joined = RenderVars::new(&vars, &hostvars, &play_vars);
        let keys: Vec<&String> = joined.get().keys().collect();
        assert_eq!(keys, ["a", "hostvars", "groups", "z"]);
        assert_eq!(joined.get()["groups"], json!({"all": ["h1"]}));
        assert_eq!(
            joined.get()["hostvars"]["h1"]["x"],
            json!("{{ lookup('file', 'f') }}")
        );
        let lookup = |v: &Value| v.to_string().contains("lookup(");
        assert!(joined.any_value(lookup));
        assert!(
            !RenderVars::new(&vars, &SharedVars::default(), &SharedVars::default())
                .any_value(lookup)
        );
        // As over the joined map, `hostvars` being one of its values.
        let whole = |v: &Value| v.is_object();
        assert_eq!(
            joined.any_value(whole),
            joined.get().values().any(|v| v.is_object())
        );
    }
}

//! `json_query` (community.general): JMESPath over a value.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use minijinja::{Environment, Error, Value};

use super::{invalid, json_of};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "json_query", json_query);
}

/// Compiled expressions, so a query used in a loop is parsed once.
static COMPILED: LazyLock<Mutex<HashMap<String, Arc<jmespath::Expression<'static>>>>> =
    LazyLock::new(Default::default);

fn compiled(expr: &str) -> Result<Arc<jmespath::Expression<'static>>, Error> {
    let mut cache = COMPILED
        .lock()
        .map_err(|_| invalid("json_query: cache poisoned"))?;
    if let Some(e) = cache.get(expr) {
        return Ok(e.clone());
    }
    let e = Arc::new(
        jmespath::compile(expr)
            .map_err(|e| invalid(format!("JMESPathError in json_query filter plugin: {e}")))?,
    );
    if cache.len() > 1024 {
        cache.clear();
    }
    cache.insert(expr.to_owned(), e.clone());
    Ok(e)
}

fn json_query(data: Value, expr: String) -> Result<Value, Error> {
    let json = json_of(&data)?;
    let found = compiled(&expr)?
        .search(json)
        .map_err(|e| invalid(format!("JMESPathError in json_query filter plugin: {e}")))?;
    let out = serde_json::to_value(&*found).map_err(|e| invalid(format!("json_query: {e}")))?;
    Ok(Value::from(minijinja::value::Serde(&out)))
}

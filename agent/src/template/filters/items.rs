//! `dict2items` and `items2dict`, as Ansible's `plugins/filter/core.py` has them: keys keep
//! their types (`{1: 'a'} | dict2items` gives the integer key back), and the errors are
//! Ansible's sentences, which playbooks (and ansible-core's `filter_core` target) test for.

use std::collections::HashMap;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, Value};

use super::data::{is_sequence, py_key};
use super::{invalid, python_class};
use crate::template::pyrepr::python_repr;

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "dict2items", dict2items);
    super::strict::add(env, "items2dict", items2dict);
}

/// `key_name` and `value_name`, `key` and `value` unless given.
fn names(kwargs: &Kwargs) -> Result<(Value, Value), Error> {
    let key: Option<Value> = kwargs.get("key_name")?;
    let value: Option<Value> = kwargs.get("value_name")?;
    kwargs.assert_all_used()?;
    Ok((
        key.unwrap_or_else(|| Value::from("key")),
        value.unwrap_or_else(|| Value::from("value")),
    ))
}

fn dict2items(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (kn, vn) = names(&kwargs)?;
    if v.kind() != ValueKind::Map {
        return Err(invalid(format!(
            "dict2items requires a dictionary, got {} instead.",
            python_class(&v)
        )));
    }
    let items = v
        .try_iter()?
        .map(|k| {
            let value = v.get_item(&k)?;
            Ok(Value::from_pairs([(kn.clone(), k), (vn.clone(), value)]))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Value::from(items))
}

fn items2dict(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (kn, vn) = names(&kwargs)?;
    if !is_sequence(&v) {
        return Err(invalid(format!(
            "items2dict requires a list, got {} instead.",
            python_class(&v)
        )));
    }
    let missing = || {
        invalid(format!(
            "items2dict requires each dictionary in the list to contain the keys {} and {}, got {} instead.",
            python_repr(&kn),
            python_repr(&vn),
            python_repr(&v)
        ))
    };
    let not_dicts = || {
        invalid(format!(
            "items2dict requires a list of dictionaries, got {} instead.",
            python_repr(&v)
        ))
    };
    // Python's `dict(pairs)`: a later pair with an equal key (`1` and `True` are equal)
    // replaces the value and keeps the first key.
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    let mut index: HashMap<Value, usize> = HashMap::new();
    for item in v.try_iter()? {
        // `item[name]`: a mapping without it is a KeyError, anything else a TypeError.
        if item.kind() != ValueKind::Map {
            return Err(not_dicts());
        }
        let lookup = |name: &Value| match item.get_item(name) {
            Ok(found) if !found.is_undefined() => Ok(found),
            _ => Err(missing()),
        };
        let key = lookup(&kn)?;
        let value = lookup(&vn)?;
        if matches!(key.kind(), ValueKind::Seq | ValueKind::Map) && !key.is_tuple() {
            return Err(not_dicts()); // unhashable
        }
        match index.get(&py_key(&key)) {
            Some(&at) => pairs[at].1 = value,
            None => {
                index.insert(py_key(&key), pairs.len());
                pairs.push((key, value));
            }
        }
    }
    Ok(Value::from_pairs(pairs))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::template::Templater;

    fn eval(expr: &str) -> Result<String, String> {
        let serde_json::Value::Object(vars) = json!({}) else {
            unreachable!()
        };
        Templater::new()
            .scope(vars)
            .render_string(&format!("{{{{ {expr} }}}}"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn errors_are_ansibles() {
        for (expr, msg) in [
            (
                "True | dict2items",
                "dict2items requires a dictionary, got <class 'bool'> instead.",
            ),
            (
                "True | items2dict",
                "items2dict requires a list, got <class 'bool'> instead.",
            ),
            (
                "[True] | items2dict",
                "items2dict requires a list of dictionaries, got [True] instead.",
            ),
            (
                "[{'key': 'foo', 'value': 'bar'}, {'notkey': 'banana', 'value': 'fruit'}] | items2dict",
                "items2dict requires each dictionary in the list to contain the keys 'key' and 'value', \
                 got [{'key': 'foo', 'value': 'bar'}, {'notkey': 'banana', 'value': 'fruit'}] instead.",
            ),
        ] {
            let err = eval(expr).unwrap_err();
            assert!(err.contains(msg), "{expr}: {err}");
        }
    }

    #[test]
    fn keys_keep_their_types() {
        assert_eq!(
            eval("{1: 'a', 'b': 2} | dict2items").unwrap(),
            "[{'key': 1, 'value': 'a'}, {'key': 'b', 'value': 2}]"
        );
        assert_eq!(
            eval("[{'key': 1, 'value': 'a'}, {'key': True, 'value': 'b'}] | items2dict").unwrap(),
            "{1: 'b'}"
        );
        assert_eq!(
            eval("{'x': 1} | dict2items(key_name='k', value_name='v') | items2dict(key_name='k', value_name='v')")
                .unwrap(),
            "{'x': 1}"
        );
    }
}

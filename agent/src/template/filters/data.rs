//! Filters over lists and mappings: Ansible's `flatten`, set theory, combinatorics, `zip`,
//! `subelements`, `rekey_on_member`, `extract`, and the Jinja builtins whose Ansible
//! behaviour differs from minijinja's (`default`, `join`).

use minijinja::value::{Kwargs, Rest, Tuple, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, Value};

use super::{invalid, opt_arg, undefined_error};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "flatten", flatten);
    env.add_filter("ternary", ternary);
    super::strict::add(env, "union", union);
    super::strict::add(env, "intersect", intersect);
    super::strict::add(env, "difference", difference);
    super::strict::add(env, "symmetric_difference", symmetric_difference);
    super::strict::add(env, "product", product);
    super::strict::add(env, "permutations", permutations);
    super::strict::add(env, "combinations", combinations);
    super::strict::add(env, "zip", zip);
    super::strict::add(env, "zip_longest", zip_longest);
    super::strict::add(env, "subelements", subelements);
    super::strict::add(env, "rekey_on_member", rekey_on_member);
    super::strict::add(env, "extract", extract);
    env.add_filter("default", default);
    env.add_filter("d", default);
    super::strict::add(env, "join", join);
    env.add_filter("type_debug", type_debug);
    super::strict::add(env, "unique", unique);
    // Jinja's select/reject family stay minijinja's (registered strict, so an undefined
    // input stays undefined: `undefined | map('upper') is undefined`); `map` is dr's.
    super::strict::add(env, "map", map);
}

/// Jinja2's `map`, recording why an item lacks the `attribute` asked for (without a
/// `default`), for the error Ansible raises when the undefined item is used as data.
fn map(
    state: &mut minijinja::State,
    value: Value,
    args: Rest<ValueOrKwargs>,
) -> Result<Vec<Value>, Error> {
    let values: Vec<Value> = args
        .0
        .iter()
        .cloned()
        .map(ValueOrKwargs::into_value)
        .collect();
    let result = minijinja::filters::map(state, value.clone(), args)?;
    if result.iter().any(Value::is_undefined) {
        let (_, kwargs): (&[Value], Kwargs) = minijinja::value::from_args(&values)?;
        if let Ok(Some(attribute)) = kwargs.peek::<Option<Value>>("attribute") {
            super::missing_attr::record(&value, &attribute);
        }
    }
    Ok(result)
}

/// The key Python's hashing gives a value: `True`, `1` and `1.0` are the same key.
pub(super) fn py_key(v: &Value) -> Value {
    match v.kind() {
        ValueKind::Bool => Value::from(i64::from(v.is_true())),
        ValueKind::Number if !v.is_integer() => match f64::try_from(v.clone()) {
            Ok(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::from(f as i64),
            _ => v.clone(),
        },
        _ => v.clone(),
    }
}

/// Jinja2's `unique` as Ansible calls it: case-insensitive unless told otherwise, first
/// occurrence kept.
fn unique(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let case_sensitive = kwargs.get::<Option<bool>>("case_sensitive")?;
    let attribute = kwargs.get::<Option<Value>>("attribute")?;
    kwargs.assert_all_used()?;
    let list = items(&v, "unique")?;
    let key_of = |item: &Value| match &attribute {
        Some(a) => super::path_of(item, a),
        None => item.clone(),
    };
    // Jinja2 hashes the items; when one cannot be hashed (a list or mapping), Ansible
    // falls back to its own comparison, which knows no options.
    let unhashable = list
        .iter()
        .any(|i| matches!(key_of(i).kind(), ValueKind::Map | ValueKind::Seq));
    if unhashable {
        if case_sensitive == Some(false) || attribute.is_some() {
            return Err(invalid(
                "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied.",
            ));
        }
        let mut out: Vec<Value> = Vec::new();
        for item in list {
            if !out.contains(&item) {
                out.push(item);
            }
        }
        return Ok(Value::from(out));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for item in list {
        let key = key_of(&item);
        let key = match key.as_str() {
            Some(s) if !case_sensitive.unwrap_or(false) => Value::from(s.to_lowercase()),
            _ => py_key(&key),
        };
        if seen.insert(key) {
            out.push(item);
        }
    }
    Ok(Value::from(out))
}

/// A list, tuple or other non-string, non-mapping sequence (Ansible's `is_sequence`).
pub(super) fn is_sequence(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable)
}

/// The items of a list-like value, or an error naming `filter`.
pub(super) fn items(v: &Value, filter: &str) -> Result<Vec<Value>, Error> {
    if v.is_undefined() {
        return Err(undefined_error());
    }
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map | ValueKind::String => {
            Ok(v.try_iter()?.collect())
        }
        _ => Err(invalid(format!(
            "{filter}: '{}' object is not iterable",
            super::type_name(v)
        ))),
    }
}

fn flatten(v: Value, levels: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = opt_arg::<Value>(levels, &kwargs, "levels")?;
    let levels = match levels {
        Some(l) if !l.is_none() => Some(
            l.as_i64()
                .ok_or_else(|| invalid("flatten: `levels` must be an integer"))?,
        ),
        _ => None,
    };
    let skip_nulls: bool = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    flatten_into(&items(&v, "flatten")?, levels, skip_nulls, &mut out)?;
    Ok(Value::from(out))
}

fn flatten_into(
    list: &[Value],
    levels: Option<i64>,
    skip_nulls: bool,
    out: &mut Vec<Value>,
) -> Result<(), Error> {
    for element in list {
        if skip_nulls && (element.is_none() || matches!(element.as_str(), Some("None" | "null"))) {
            continue;
        }
        if is_sequence(element) {
            match levels {
                None => flatten_into(&items(element, "flatten")?, None, skip_nulls, out)?,
                Some(l) if l >= 1 => {
                    flatten_into(&items(element, "flatten")?, Some(l - 1), skip_nulls, out)?
                }
                Some(_) => out.push(element.clone()),
            }
        } else {
            out.push(element.clone());
        }
    }
    Ok(())
}

fn ternary(
    v: Value,
    true_val: Value,
    false_val: Value,
    none_val: Option<Value>,
) -> Result<Value, Error> {
    if v.is_none()
        && let Some(n) = none_val.filter(|n| !n.is_none())
    {
        return Ok(n);
    }
    if v.is_undefined() {
        return Err(undefined_error());
    }
    // As Ansible's, it takes undefined values and reads only the one it chooses; dr fails
    // when that one is undefined (Ansible passes it on, for a `default` after it).
    let chosen = if v.is_true() { true_val } else { false_val };
    if chosen.is_undefined() {
        return Err(Error::new(
            minijinja::ErrorKind::UndefinedError,
            "the value `ternary` chose is undefined",
        ));
    }
    Ok(chosen)
}

/// Items in first-seen order without repeats (Python's set semantics, stable order).
fn dedup(list: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    list.into_iter()
        .filter(|v| seen.insert(py_key(v)))
        .collect()
}

fn union(a: Value, b: Value) -> Result<Value, Error> {
    let mut all = items(&a, "union")?;
    all.extend(items(&b, "union")?);
    Ok(Value::from(dedup(all)))
}

fn intersect(a: Value, b: Value) -> Result<Value, Error> {
    let b = items(&b, "intersect")?;
    let a = items(&a, "intersect")?;
    Ok(Value::from(dedup(a.into_iter().filter(|x| b.contains(x)))))
}

fn difference(a: Value, b: Value) -> Result<Value, Error> {
    let b = items(&b, "difference")?;
    let a = items(&a, "difference")?;
    Ok(Value::from(dedup(a.into_iter().filter(|x| !b.contains(x)))))
}

fn symmetric_difference(a: Value, b: Value) -> Result<Value, Error> {
    let a = items(&a, "symmetric_difference")?;
    let b = items(&b, "symmetric_difference")?;
    let both: Vec<Value> = a.iter().filter(|x| b.contains(x)).cloned().collect();
    let all = dedup(a.into_iter().chain(b));
    Ok(Value::from(
        all.into_iter()
            .filter(|x| !both.contains(x))
            .collect::<Vec<_>>(),
    ))
}

/// Most items a combinatorial filter may produce, so a typo cannot exhaust memory.
const MAX_COMBINATIONS: usize = 1_000_000;

fn too_many(filter: &str) -> Error {
    invalid(format!(
        "{filter}: more than {MAX_COMBINATIONS} results; refusing"
    ))
}

/// A Python tuple: what `zip`, `itertools` and `subelements` yield in Ansible, equal to a
/// tuple literal (`(1, 'a')`) and not to a list.
fn tuple(items: Vec<Value>) -> Value {
    Value::from(Tuple::from(items))
}

fn product(v: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let repeat: usize = kwargs.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    let mut pools = vec![items(&v, "product")?];
    for o in others.iter() {
        pools.push(items(o, "product")?);
    }
    let pools: Vec<Vec<Value>> = (0..repeat).flat_map(|_| pools.iter().cloned()).collect();
    let mut result: Vec<Vec<Value>> = vec![Vec::new()];
    for pool in &pools {
        if result.len().saturating_mul(pool.len()) > MAX_COMBINATIONS {
            return Err(too_many("product"));
        }
        result = result
            .iter()
            .flat_map(|prefix| {
                pool.iter().map(move |x| {
                    let mut p = prefix.clone();
                    p.push(x.clone());
                    p
                })
            })
            .collect();
    }
    Ok(Value::from(
        result.into_iter().map(tuple).collect::<Vec<_>>(),
    ))
}

fn permutations(v: Value, r: Option<usize>) -> Result<Value, Error> {
    let pool = items(&v, "permutations")?;
    let r = r.unwrap_or(pool.len());
    let mut out = Vec::new();
    if r <= pool.len() {
        let mut used = vec![false; pool.len()];
        let mut current = Vec::with_capacity(r);
        permute(&pool, r, &mut used, &mut current, &mut out)?;
    }
    Ok(Value::from(out))
}

fn permute(
    pool: &[Value],
    r: usize,
    used: &mut [bool],
    current: &mut Vec<Value>,
    out: &mut Vec<Value>,
) -> Result<(), Error> {
    if current.len() == r {
        if out.len() >= MAX_COMBINATIONS {
            return Err(too_many("permutations"));
        }
        out.push(tuple(current.clone()));
        return Ok(());
    }
    for i in 0..pool.len() {
        if !used[i] {
            used[i] = true;
            current.push(pool[i].clone());
            permute(pool, r, used, current, out)?;
            current.pop();
            used[i] = false;
        }
    }
    Ok(())
}

fn combinations(v: Value, r: usize) -> Result<Value, Error> {
    let pool = items(&v, "combinations")?;
    let mut out = Vec::new();
    let mut current = Vec::with_capacity(r);
    combine_from(&pool, 0, r, &mut current, &mut out)?;
    Ok(Value::from(out))
}

fn combine_from(
    pool: &[Value],
    start: usize,
    r: usize,
    current: &mut Vec<Value>,
    out: &mut Vec<Value>,
) -> Result<(), Error> {
    if current.len() == r {
        if out.len() >= MAX_COMBINATIONS {
            return Err(too_many("combinations"));
        }
        out.push(tuple(current.clone()));
        return Ok(());
    }
    for i in start..pool.len() {
        current.push(pool[i].clone());
        combine_from(pool, i + 1, r, current, out)?;
        current.pop();
    }
    Ok(())
}

fn zip_lists(v: &Value, others: &[Value], filter: &str) -> Result<Vec<Vec<Value>>, Error> {
    let mut lists = vec![items(v, filter)?];
    for o in others {
        lists.push(items(o, filter)?);
    }
    Ok(lists)
}

fn zip(v: Value, others: Rest<Value>) -> Result<Value, Error> {
    let lists = zip_lists(&v, &others, "zip")?;
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::from(
        (0..n)
            .map(|i| tuple(lists.iter().map(|l| l[i].clone()).collect()))
            .collect::<Vec<_>>(),
    ))
}

fn zip_longest(v: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let fill: Value = kwargs
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    kwargs.assert_all_used()?;
    let lists = zip_lists(&v, &others, "zip_longest")?;
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(Value::from(
        (0..n)
            .map(|i| {
                tuple(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                        .collect(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

fn subelements(
    obj: Value,
    path: Value,
    skip_missing: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let skip_missing =
        opt_arg::<Value>(skip_missing, &kwargs, "skip_missing")?.is_some_and(|s| s.is_true());
    kwargs.assert_all_used()?;
    let elements: Vec<Value> = match obj.kind() {
        ValueKind::Map => obj
            .try_iter()?
            .map(|k| obj.get_item(&k))
            .collect::<Result<_, _>>()?,
        ValueKind::Seq => obj.try_iter()?.collect(),
        _ => return Err(invalid("obj must be a list of dicts or a nested dict")),
    };
    let keys: Vec<Value> = if let Some(s) = path.as_str() {
        s.split('.').map(Value::from).collect()
    } else if path.kind() == ValueKind::Seq {
        path.try_iter()?.collect()
    } else {
        return Err(invalid("subelements must be a list or a string"));
    };
    let mut out = Vec::new();
    for element in elements {
        let mut values = element.clone();
        for key in &keys {
            // Python indexes a list with integers only: any other key is a TypeError.
            let indexable = values.kind() == ValueKind::Map
                || (values.kind() == ValueKind::Seq && key.is_integer());
            if !indexable {
                return Err(invalid(format!(
                    "the key {key} should point to a dictionary, got '{values}'"
                )));
            }
            match values.get_item(key) {
                Ok(v) if !v.is_undefined() => values = v,
                _ if skip_missing => {
                    values = Value::from(Vec::<Value>::new());
                    break;
                }
                _ => {
                    return Err(invalid(format!(
                        "could not find '{key}' key in iterated item"
                    )));
                }
            }
        }
        if values.kind() != ValueKind::Seq {
            return Err(invalid(format!(
                "the key '{}' should point to a list",
                keys.last().map(Value::to_string).unwrap_or_default()
            )));
        }
        // Ansible yields Python tuples: `== [(item, 'x')]` holds, `== [[item, 'x']]` does not.
        for v in values.try_iter()? {
            out.push(tuple(vec![element.clone(), v]));
        }
    }
    Ok(Value::from(out))
}

fn rekey_on_member(
    data: Value,
    key: Value,
    duplicates: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let duplicates =
        opt_arg::<String>(duplicates, &kwargs, "duplicates")?.unwrap_or_else(|| "error".to_owned());
    kwargs.assert_all_used()?;
    if duplicates != "error" && duplicates != "overwrite" {
        return Err(invalid(format!(
            "duplicates parameter to rekey_on_member has unknown value '{duplicates}'"
        )));
    }
    let elements: Vec<Value> = match data.kind() {
        ValueKind::Map => data
            .try_iter()?
            .map(|k| data.get_item(&k))
            .collect::<Result<_, _>>()?,
        ValueKind::Seq | ValueKind::Iterable => data.try_iter()?.collect(),
        _ => return Err(invalid("Type is not a valid list, set, or dict")),
    };
    let mut out: Vec<(Value, Value)> = Vec::new();
    for item in elements {
        if item.kind() != ValueKind::Map {
            return Err(invalid("List item is not a valid dict"));
        }
        let k = item.get_item(&key)?;
        if k.is_undefined() {
            return Err(invalid(format!("Key '{key}' was not found.")));
        }
        if let Some(slot) = out.iter_mut().find(|(existing, _)| *existing == k) {
            if duplicates == "error" {
                return Err(invalid(format!(
                    "Key '{k}' is not unique, cannot convert to dict."
                )));
            }
            slot.1 = item;
        } else {
            out.push((k, item));
        }
    }
    Ok(Value::from_object(
        out.into_iter()
            .collect::<std::collections::BTreeMap<Value, Value>>(),
    ))
}

fn extract(item: Value, container: Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut keys = vec![item];
    match morekeys {
        None => {}
        Some(m) if m.kind() == ValueKind::Seq => keys.extend(m.try_iter()?),
        Some(m) => keys.push(m),
    }
    let mut value = container;
    for key in keys {
        value = value.get_item(&key).unwrap_or(Value::UNDEFINED);
    }
    Ok(value)
}

/// Ansible's `default`: only an undefined value is replaced (not `None`), or with
/// `boolean=true` (second argument) any false value.
fn default(
    v: Value,
    default_value: Option<Value>,
    boolean: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default_value = opt_arg::<Value>(default_value, &kwargs, "default_value")?
        .unwrap_or_else(|| Value::from(""));
    let boolean = opt_arg::<Value>(boolean, &kwargs, "boolean")?;
    kwargs.assert_all_used()?;
    let boolean = match boolean {
        None => false,
        Some(b) if b.kind() == ValueKind::Bool => b.is_true(),
        Some(_) => return Err(invalid("`boolean` must be a bool")),
    };
    if v.is_undefined() || (boolean && !v.is_true()) {
        Ok(default_value)
    } else {
        Ok(v)
    }
}

/// Jinja2's `join`: each item as Python's `str()` prints it (`True`, `None`, `1.0`).
fn join(
    v: Value,
    d: Option<String>,
    attribute: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let d = opt_arg::<String>(d, &kwargs, "d")?.unwrap_or_default();
    let attribute = opt_arg::<Value>(attribute, &kwargs, "attribute")?;
    kwargs.assert_all_used()?;
    if v.is_undefined() {
        return Err(undefined_error());
    }
    let mut out = String::new();
    for (i, item) in v.try_iter()?.enumerate() {
        let item = match &attribute {
            Some(a) => super::path_of(&item, a),
            None => item,
        };
        if item.is_undefined() {
            return Err(undefined_error());
        }
        if i > 0 {
            out.push_str(&d);
        }
        match item.as_str() {
            Some(s) => out.push_str(s),
            None if item.is_none() => out.push_str("None"),
            None => out.push_str(&super::super::pyrepr::python_str(&item)),
        }
    }
    Ok(out)
}

/// The Python type name Ansible reports for a value.
fn type_debug(v: Value) -> String {
    super::type_name(&v).to_owned()
}

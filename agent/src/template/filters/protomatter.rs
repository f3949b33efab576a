//! Filters of Ansible's internal `ansible._protomatter` collection that have a meaning for
//! dr's values. `finalize` turns what a template produced into plain data (a group of
//! `groupby` into a list, ...), as Ansible finalizes a template's result: dr's values are
//! plain data already, except such objects.

use minijinja::{Environment, Error, Value};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "ansible._protomatter.finalize", finalize);
}

fn finalize(value: Value) -> Result<Value, Error> {
    let data = super::json_of(&value)?;
    Ok(Value::from(minijinja::value::Serde(&data)))
}

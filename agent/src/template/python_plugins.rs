//! Filter and test plugins written in Python (a `filter_plugins/` or `test_plugins/`
//! directory beside a playbook or in a role): Ansible runs them on the controller, and so
//! does dr. The request names them; each is registered here as a filter (test) that asks
//! the controller, through the same answers as a controller lookup: the controller works
//! out what it can before the play is sent, the host asks for the rest on the live
//! connection and runs the task again.

use std::sync::Arc;

use minijinja::value::{Rest, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State, Value};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::lookup::{Resolver, to_json};
use crate::wire::LookupAnswer;

/// How a filter call is named among the controller's answers.
pub const FILTER_PREFIX: &str = "_dr_filter:";
/// How a test call is named among the controller's answers.
pub const TEST_PREFIX: &str = "_dr_test:";

/// The Python plugins a play may use, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonPlugins {
    /// Filter names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// Test names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<String>,
}

impl PythonPlugins {
    /// No plugin.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty() && self.tests.is_empty()
    }
}

/// The plugin a controller answer name stands for: `("filter", name)` or `("test", name)`.
pub fn split(name: &str) -> Option<(&'static str, &str)> {
    name.strip_prefix(FILTER_PREFIX)
        .map(|n| ("filter", n))
        .or_else(|| name.strip_prefix(TEST_PREFIX).map(|n| ("test", n)))
}

/// Registers `plugins` in `env` (over a filter or test of the same name, as Ansible lets a
/// plugin directory override a built-in), answered by `resolver`.
pub(super) fn register(
    env: &mut Environment<'static>,
    resolver: &Arc<dyn Resolver>,
    plugins: &PythonPlugins,
) {
    for name in &plugins.filters {
        let (resolver, key) = (resolver.clone(), format!("{FILTER_PREFIX}{name}"));
        env.add_filter(name.clone(), move |_: &State, args: Rest<ValueOrKwargs>| {
            call(&*resolver, &key, args)
        });
    }
    for name in &plugins.tests {
        let (resolver, key) = (resolver.clone(), format!("{TEST_PREFIX}{name}"));
        env.add_test(
            name.clone(),
            move |_: &State, args: Rest<ValueOrKwargs>| -> Result<bool, Error> {
                Ok(call(&*resolver, &key, args)?.is_true())
            },
        );
    }
}

/// Runs plugin `key` with the value and arguments `args` (its keyword arguments last).
fn call(resolver: &dyn Resolver, key: &str, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let mut terms = Vec::new();
    let mut kwargs = Map::new();
    for arg in args.into_values() {
        if arg.is_kwargs() {
            for k in arg.try_iter()? {
                let v = arg.get_item(&k)?;
                if v.is_undefined() {
                    return Ok(v);
                }
                kwargs.insert(k.to_string(), to_json(&v)?);
            }
        } else if arg.is_undefined() {
            // As Ansible's plugins that do not take undefined values: not called, the
            // result is the undefined value.
            return Ok(arg);
        } else {
            terms.push(to_json(&arg)?);
        }
    }
    match resolver.resolve(key, &terms, &kwargs) {
        LookupAnswer::Values(mut values) if values.len() == 1 => {
            Ok(Value::from(minijinja::value::Serde(&values.remove(0))))
        }
        LookupAnswer::Error(msg) => Err(Error::new(ErrorKind::InvalidOperation, msg)),
        other => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("the controller answered `{key}` with {other:?}"),
        )),
    }
}

//! Why a `map(attribute=...)` result holds undefined items: Jinja2 yields an undefined
//! value for an item without the attribute and the error surfaces only when the result is
//! used as data, where Ansible reports `object of type 'dict' has no attribute 'name'`.
//! minijinja's undefined value carries no such reason, so the filter records it here and
//! the conversion of a result to data reads it back.

use std::cell::RefCell;

use minijinja::Value;

thread_local! {
    static FIRST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records, unless one is already recorded, why `attribute` (dotted or an index) is
/// undefined on the first of `items` lacking it.
pub(super) fn record(items: &Value, attribute: &Value) {
    if FIRST.with(|f| f.borrow().is_some()) {
        return;
    }
    let Ok(iter) = items.try_iter() else { return };
    let path: Vec<Value> = match attribute.as_str() {
        Some(s) => s
            .split('.')
            .map(|p| {
                p.parse::<i64>()
                    .map_or_else(|_| Value::from(p), Value::from)
            })
            .collect(),
        None => vec![attribute.clone()],
    };
    for item in iter {
        let mut current = item;
        for part in &path {
            let next = current.get_item(part).unwrap_or(Value::UNDEFINED);
            if next.is_undefined() {
                let reason = format!(
                    "object of type '{}' has no attribute '{part}'",
                    super::type_name(&current)
                );
                FIRST.with(|f| *f.borrow_mut() = Some(reason));
                return;
            }
            current = next;
        }
    }
}

/// Takes the recorded reason, leaving none.
pub fn take() -> Option<String> {
    FIRST.with(|f| f.borrow_mut().take())
}

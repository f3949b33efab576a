//! What a render printed: in Ansible a template that outputs nothing at all (only comments,
//! or an `if` whose branch is not taken) is `None`, while one that prints an empty string is
//! `''`; and a `template` lookup whose output is one value that is not a string (`{{ [1] }}`,
//! a macro whose body is one such value) is that value.

use std::cell::RefCell;

use minijinja::Value;
use minijinja::value::ValueKind;

/// What one render printed so far.
#[derive(Default)]
struct Printed {
    any: bool,
    /// The first value printed that is not a string.
    first_value: Option<Value>,
}

thread_local! {
    /// One record per render in progress on this thread, innermost last (a variable
    /// rendered while another template renders has its own).
    static RENDERS: RefCell<Vec<Printed>> = const { RefCell::new(Vec::new()) };
}

/// Runs `render`, telling whether it printed a value.
pub(super) fn tracking<T>(render: impl FnOnce() -> T) -> (T, bool) {
    let (out, printed, _) = tracking_values(render);
    (out, printed)
}

/// Runs `render`, telling whether it printed a value, and the first value it printed that
/// is not a string.
pub(super) fn tracking_values<T>(render: impl FnOnce() -> T) -> (T, bool, Option<Value>) {
    RENDERS.with(|r| r.borrow_mut().push(Printed::default()));
    let out = render();
    let printed = RENDERS.with(|r| r.borrow_mut().pop());
    match printed {
        Some(p) => (out, p.any, p.first_value),
        None => (out, true, None),
    }
}

/// Notes that the innermost render printed `value`.
pub(super) fn printed(value: &Value) {
    RENDERS.with(|r| {
        if let Some(last) = r.borrow_mut().last_mut() {
            last.any = true;
            if last.first_value.is_none()
                && !matches!(value.kind(), ValueKind::String | ValueKind::Undefined)
            {
                last.first_value = Some(value.clone());
            }
        }
    });
}

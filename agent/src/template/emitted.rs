//! Whether a render printed anything: in Ansible a template that outputs nothing at all (only
//! comments, or an `if` whose branch is not taken) is `None`, while one that prints an empty
//! string is `''`.

use std::cell::RefCell;

thread_local! {
    /// One flag per render in progress on this thread, innermost last (a variable rendered
    /// while another template renders has its own).
    static RENDERS: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) };
}

/// Runs `render`, telling whether it printed a value.
pub(super) fn tracking<T>(render: impl FnOnce() -> T) -> (T, bool) {
    RENDERS.with(|r| r.borrow_mut().push(false));
    let out = render();
    let printed = RENDERS.with(|r| r.borrow_mut().pop()).unwrap_or(true);
    (out, printed)
}

/// Notes that the innermost render printed a value.
pub(super) fn printed() {
    RENDERS.with(|r| {
        if let Some(last) = r.borrow_mut().last_mut() {
            *last = true;
        }
    });
}

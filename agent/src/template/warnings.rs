//! Warnings a test or filter gives while a task runs (Ansible's `display.warning` inside a
//! plugin, which the task's `DeferredWarningContext` collects into the result's
//! `warnings`, each once). Collected per thread; the engine takes them after each item.

use std::cell::RefCell;

thread_local! {
    static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records `msg` (once, however often it is given).
pub(crate) fn warn(msg: String) {
    WARNINGS.with(|w| {
        let mut w = w.borrow_mut();
        if !w.contains(&msg) {
            w.push(msg);
        }
    });
}

/// The warnings given since the last call, in order.
pub fn take() -> Vec<String> {
    WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

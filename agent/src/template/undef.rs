//! Ansible 2.19's `undef(hint)`: an undefined value that says why when it is used
//! (`defaults/main.yml: port: "{{ undef(hint='set the port') }}"` makes a role's variable
//! required). Used through `default`/`is defined` it is an undefined value like any
//! other; used otherwise, the template fails with the hint instead of `'x' is undefined`.

use std::cell::RefCell;

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, Value};

/// Ansible's hint when none is given.
const DEFAULT_HINT: &str = "Mandatory variable has not been overridden";

thread_local! {
    /// One slot per top-level render in progress on this thread: the hint of the last
    /// `undef()` any render within it made.
    static HINTS: RefCell<Vec<Option<String>>> = const { RefCell::new(Vec::new()) };
}

/// Adds the `undef` global.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_function("undef", undef);
}

fn undef(hint: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let hint = match hint {
        Some(h) => Some(h),
        None => kwargs.get::<Option<Value>>("hint")?,
    };
    kwargs.assert_all_used()?;
    let hint = match &hint {
        None => DEFAULT_HINT.to_owned(),
        Some(v) if v.is_none() => DEFAULT_HINT.to_owned(),
        Some(v) => match v.as_str() {
            Some("") => DEFAULT_HINT.to_owned(),
            Some(s) => s.to_owned(),
            None => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("`undef`'s hint must be a string, not `{v}`"),
                ));
            }
        },
    };
    HINTS.with(|h| {
        for slot in h.borrow_mut().iter_mut() {
            *slot = Some(hint.clone());
        }
    });
    Ok(Value::UNDEFINED)
}

/// Records `hint` as why the value is undefined for every render in progress, as `undef()`
/// does: a template the `template` lookup rendered names its undefined variable so.
pub(super) fn explain(hint: String) {
    HINTS.with(|h| {
        for slot in h.borrow_mut().iter_mut() {
            *slot = Some(hint.clone());
        }
    });
}

/// Runs `render` (a top-level render and what it renders within).
pub(super) fn tracking<T>(render: impl FnOnce() -> T) -> T {
    HINTS.with(|h| h.borrow_mut().push(None));
    let out = render();
    HINTS.with(|h| h.borrow_mut().pop());
    out
}

/// Whether the last `undef()` made within the innermost render in progress had no hint
/// (Ansible's default undefined, which the `env` lookup replaces with its own reason).
pub(super) fn last_is_default() -> bool {
    hint().as_deref() == Some(DEFAULT_HINT)
}

/// The hint of the last `undef()` made within the innermost render in progress.
pub(super) fn hint() -> Option<String> {
    HINTS.with(|h| h.borrow().last().cloned().flatten())
}

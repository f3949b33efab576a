//! Templates in a lookup's string constants: Ansible 2.19 renders a term written as a
//! string constant in the template that calls the lookup (`lookup('pipe', 'echo {{ x }}')`)
//! before the lookup runs (`_trust_jinja_constants`: the playbook's own text is trusted);
//! a term that comes from a variable or a filter is data and is passed as it is.
//!
//! Which terms are constants: the renders in progress on this thread note their source
//! text; a string term with template syntax is a constant when one of them holds it quoted.

use std::cell::RefCell;
use std::collections::BTreeMap;

use minijinja::{Error, State, Value};

use super::{guards, is_template, single_expression};

thread_local! {
    /// The sources of the renders in progress on this thread, innermost last.
    static SOURCES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Runs `render` of `source`, noting the source for lookups it calls.
pub(super) fn within<T>(source: &str, render: impl FnOnce() -> T) -> T {
    SOURCES.with(|s| s.borrow_mut().push(source.to_owned()));
    let out = render();
    SOURCES.with(|s| s.borrow_mut().pop());
    out
}

/// Whether `term` is written as a string constant in a render in progress.
fn is_constant(term: &str) -> bool {
    let quoted = [
        format!("'{}'", term.replace('\'', "\\'")),
        format!("\"{}\"", term.replace('"', "\\\"")),
    ];
    SOURCES.with(|s| {
        s.borrow()
            .iter()
            .any(|src| quoted.iter().any(|q| src.contains(q.as_str())))
    })
}

/// `terms` with each constant template rendered with the variables `state` sees; an
/// undefined variable the template uses makes that term undefined.
pub(super) fn render(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    terms
        .iter()
        .map(|term| match term.as_str() {
            Some(s) if is_template(s) && is_constant(s) => render_one(state, s),
            _ => Ok(term.clone()),
        })
        .collect()
}

fn render_one(state: &State, source: &str) -> Result<Value, Error> {
    let env = state.env();
    let template = env.template_from_str(source)?;
    let mut ctx = BTreeMap::new();
    for name in template.undeclared_variables(false) {
        match state.lookup(&name).filter(|v| !v.is_undefined()) {
            Some(v) => {
                ctx.insert(name, v);
            }
            None if guards::unguarded(source, &name) => return Ok(Value::UNDEFINED),
            None => {}
        }
    }
    match single_expression(source) {
        Some(expr) => env.compile_expression(expr)?.eval(&ctx),
        None => template.render(&ctx).map(Value::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_is_constant_only_inside_a_render_that_quotes_it() {
        assert!(!is_constant("echo {{ x }}"));
        within(r#"{{ lookup('pipe', 'echo {{ x }}') }}"#, || {
            assert!(is_constant("echo {{ x }}"));
            assert!(!is_constant("{{ x }}y"));
        });
        within(r#"lookup("pipe", "echo {{ \"x\" }}")"#, || {
            assert!(is_constant(r#"echo {{ "x" }}"#));
        });
        assert!(!is_constant("echo {{ x }}"));
    }
}

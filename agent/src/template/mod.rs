//! Jinja templating with Ansible's semantics, on top of minijinja.
//!
//! - Variables are rendered lazily: a variable whose value holds a template is rendered
//!   when (and each time) it is used, so an unused broken variable does no harm, and a
//!   variable that refers to itself is reported as a loop instead of overflowing.
//! - A string that is exactly one `{{ expr }}` keeps the expression's native type.
//! - Printing an undefined value is an error naming the variable; `a.b.c | default(..)`
//!   works because undefined lookups chain.
//! - Ansible's usual filters and tests are available ([`filters`]).

mod backslashes;
pub(crate) mod bytes;
mod code_blocks;
pub mod conditional;
mod const_terms;
mod emitted;
mod failed_lookup;
mod file_vars;
pub(crate) mod filters;
mod guards;
pub mod includes;
pub mod lookup;
mod lookup_data;
mod lookup_template;
mod macro_includes;
mod nested_undefined;
pub mod overrides;
mod overrides_header;
mod percent;
pub mod pyjson;
pub mod pyrepr;
pub mod python_plugins;
mod scope;
mod taint;
mod unary_plus;
pub mod undecryptable;
mod undef;
pub mod warnings;
mod yaml;

use std::sync::Arc;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};

pub use file_vars::file_vars;
pub use filters::names as filter_names;
pub use filters::{python_replacement, shell_quote};
pub use scope::Scope;

/// The value of Ansible's `omit`: a module argument rendering to exactly this is dropped.
pub const OMIT: &str = "__omit_place_holder__dr__";

/// Deepest nesting of variables referring to variables before rendering gives up.
pub const MAX_DEPTH: usize = 64;

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A variable (or attribute of one) that does not exist was used.
    #[error("{}{}", undefined_message(name, hint.as_deref()), at_line(*line))]
    Undefined {
        /// The variable, dotted when it is an attribute (`db.host`).
        name: String,
        /// Line in a multi-line template (template files).
        line: Option<usize>,
        /// What `undef(hint)` said about the value, when it came from there.
        hint: Option<String>,
    },
    /// Variables refer to each other in a loop (or nest deeper than [`MAX_DEPTH`]).
    #[error("recursive loop detected while rendering `{name}`")]
    Recursion {
        /// The variable being rendered when the loop was detected.
        name: String,
    },
    /// Syntax errors, failing filters and every other template failure.
    #[error("template error in `{source_text}`{}: {detail}", at_line(*line))]
    Render {
        /// Line in a multi-line template (template files).
        line: Option<usize>,
        /// The template text (shortened).
        source_text: String,
        /// minijinja's explanation.
        detail: String,
    },
}

impl TemplateError {
    /// The error as Jinja words it, for results Ansible's own tests read: an undefined
    /// name is `'x' is undefined`, an attribute the object lacks (`x.y`) is `object of
    /// type 'dict' has no attribute 'y'`; other errors as they are.
    pub fn in_jinja_words(&self) -> String {
        match self {
            TemplateError::Undefined {
                hint: Some(hint), ..
            } => hint.clone(),
            TemplateError::Undefined { name, .. } => match name.rsplit_once('.') {
                Some((_, attr)) => format!("object of type 'dict' has no attribute '{attr}'"),
                None => format!("'{name}' is undefined"),
            },
            other => other.to_string(),
        }
    }
}

/// `'x' is undefined`, or the hint of the `undef()` the value came from.
fn undefined_message(name: &str, hint: Option<&str>) -> String {
    match hint {
        Some(hint) => hint.to_owned(),
        None => format!("{} is undefined", quoted_name(name)),
    }
}

/// A variable name as Jinja quotes it (`'x'`); a description of one as it is.
fn quoted_name(name: &str) -> String {
    if name.starts_with("a variable in ") {
        name.to_owned()
    } else {
        format!("'{name}'")
    }
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

/// The shared template environment: filters, tests and Ansible's whitespace rules.
///
/// Build one per play with [`Templater::new`] and make a [`Scope`] from it for each set of
/// variables.
#[derive(Debug, Clone)]
pub struct Templater {
    env: Arc<Environment<'static>>,
    lookups: Arc<dyn lookup::Resolver>,
    /// The run's sensitive strings, shared with every scope (see [`Templater::tracking`]).
    sensitive: crate::mask::Masker,
}

impl Default for Templater {
    fn default() -> Self {
        Self::new()
    }
}

impl Templater {
    /// Builds the environment Ansible users expect: `trim_blocks` and a kept trailing
    /// newline (as Ansible's templar and `template` module do), chainable undefined
    /// lookups that fail when printed, Python-style methods (`.items()`, `.split()`),
    /// Jinja2's `True`/`False`/`None` when printing.
    pub fn new() -> Self {
        Self::with_lookups(Arc::new(lookup::Table::default()))
    }

    /// The same environment, with controller lookups answered by `lookups`.
    pub fn with_lookups(lookups: Arc<dyn lookup::Resolver>) -> Self {
        Self::with_plugins(lookups, &python_plugins::PythonPlugins::default())
    }

    /// The same environment, with controller lookups and the Python filter and test
    /// `plugins` answered by `lookups`.
    pub fn with_plugins(
        lookups: Arc<dyn lookup::Resolver>,
        plugins: &python_plugins::PythonPlugins,
    ) -> Self {
        let mut env = Environment::new();
        if let Ok(syntax) = SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(false)
            .build()
        {
            env.set_syntax(syntax);
        }
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_recursion_limit(MAX_DEPTH * 4);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_formatter(format_value);
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(list_methods);
        filters::register(&mut env);
        env.add_global("omit", OMIT);
        lookup::register(&mut env, lookups.clone());
        python_plugins::register(&mut env, &lookups, plugins);
        undecryptable::register(&mut env);
        undef::register(&mut env);
        Templater {
            env: Arc::new(env),
            lookups,
            sensitive: crate::mask::Masker::default(),
        }
    }

    /// This environment, with Ansible's `ALLOW_BROKEN_CONDITIONALS` (a conditional whose
    /// result is not a boolean is its truthiness, with a deprecation) when `allow`.
    pub fn allowing_broken_conditionals(mut self, allow: bool) -> Self {
        if allow {
            let mut env = (*self.env).clone();
            env.add_global(conditional::ALLOW_BROKEN, true);
            self.env = Arc::new(env);
        }
        self
    }

    /// This environment, telling secrets by `sensitive` and adding to it what renders
    /// derive from them, so the derived text is masked wherever it is shown later.
    pub fn tracking(mut self, sensitive: crate::mask::Masker) -> Self {
        self.sensitive = sensitive;
        self
    }

    /// The items of a `with_<name>` loop over rendered `terms`, in a task whose action is
    /// `action` (as the task names it).
    pub fn loop_lookup(
        &self,
        name: &str,
        terms: serde_json::Value,
        action: &str,
        scope: &Scope,
    ) -> Result<Vec<serde_json::Value>, String> {
        lookup::loop_items(name, terms, action, &*self.lookups, &|var| {
            Ok(scope
                .vars()
                .contains_key(var)
                .then(|| scope.eval(var).ok())
                .flatten())
        })
    }

    /// A scope over these variables.
    pub fn scope(&self, vars: serde_json::Map<String, serde_json::Value>) -> Scope {
        Scope::new(
            self.env.clone(),
            vars,
            Default::default(),
            self.sensitive.clone(),
        )
    }

    /// A scope where the top-level variables named in `raw` are data: strings inside them
    /// are never rendered, as Ansible treats registered results and loop items.
    pub fn scope_with_raw(
        &self,
        vars: serde_json::Map<String, serde_json::Value>,
        raw: std::collections::HashSet<String>,
    ) -> Scope {
        Scope::new(self.env.clone(), vars, raw, self.sensitive.clone())
    }

    /// [`Templater::scope_with_raw`] that also reads the shared `hostvars` (never copied
    /// into `vars`: at thousands of hosts a copy per task was most of a run's time).
    pub fn scope_sharing(
        &self,
        vars: serde_json::Map<String, serde_json::Value>,
        hostvars: Option<Arc<serde_json::Map<String, serde_json::Value>>>,
        raw: std::collections::HashSet<String>,
    ) -> Scope {
        Scope::sharing(
            self.env.clone(),
            vars,
            hostvars,
            raw,
            self.sensitive.clone(),
        )
    }
}

/// Prints values as Jinja2 does under Ansible, and refuses to print undefined ones.
fn format_value(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), Error> {
    emitted::printed(value);
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "an undefined value was printed",
        ));
    }
    match value.kind() {
        ValueKind::String => minijinja::escape_formatter(out, state, value),
        _ if let Some(b) = bytes::of(value) => {
            out.write_str(bytes::printed(b)?).map_err(Error::from)
        }
        _ => {
            let text = pyrepr::python_str(value);
            if let Some(e) = undecryptable::shown_inside(value) {
                return Err(e);
            }
            out.write_str(&text).map_err(Error::from)
        }
    }
}

/// Ansible's trailing newlines: templates render without their last newline (included ones
/// too), then a string result gets back as many as its template ended with beyond its own.
pub(crate) fn preserve_trailing_newlines(
    template: &str,
    mut result: String,
    newline: &str,
) -> String {
    let count = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let missing = count(template).saturating_sub(count(&result));
    for _ in 0..missing {
        result.push_str(newline);
    }
    result
}

/// When `s` is exactly one `{{ expr }}` (surrounding whitespace allowed), the expression.
pub fn single_expression(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    // Delimiters inside the expression's string constants (`{{ "{{ x }}" }}`) leave it
    // one expression; anywhere else they end it (`{{ a }} == {{ b }}`).
    if (inner.contains("{{") || inner.contains("}}") || inner.contains("{%"))
        && Environment::new().compile_expression(inner).is_err()
    {
        return None;
    }
    Some(inner.trim().trim_start_matches('-').trim_end_matches('-'))
}

/// Whether `s` contains template syntax at all.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

#[cfg(test)]
mod tests;

/// Python's list methods `index` and `count`, which templates call on lists, then the
/// other Python methods minijinja-contrib provides.
fn list_methods(
    state: &mut minijinja::State<'_, '_>,
    value: &minijinja::Value,
    method: &str,
    args: &[minijinja::Value],
) -> Result<minijinja::Value, minijinja::Error> {
    use minijinja::value::ValueKind;
    if value.kind() == ValueKind::Seq
        && let ("index" | "count", [needle]) = (method, args)
    {
        let items: Vec<minijinja::Value> = value.try_iter()?.collect();
        let mut hits = items.iter().enumerate().filter(|(_, v)| *v == needle);
        return if method == "count" {
            Ok(minijinja::Value::from(hits.count()))
        } else {
            hits.next()
                .map(|(i, _)| minijinja::Value::from(i))
                .ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("{needle} is not in list"),
                    )
                })
        };
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

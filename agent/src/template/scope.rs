//! A set of variables that renders templated values lazily, on use.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use minijinja::value::{Enumerator, Object, ObjectRepr, ValueKind};
use minijinja::{Environment, ErrorKind, Value};
use serde_json::{Map, Value as Json};

use super::taint::{sensitive_json, sensitive_text};
use super::{MAX_DEPTH, TemplateError, is_template, single_expression};
use crate::mask::Masker;

/// Variables plus the environment to render them with.
///
/// Cheap to clone. Rendering is synchronous; a scope may be used from several threads but
/// each render call reports only its own errors when used from one thread at a time.
#[derive(Debug, Clone)]
pub struct Scope {
    inner: Arc<Inner>,
    /// Strings a template made (a loop's rendered items): as data they are fine, as a
    /// conditional they are untrusted (see [`Scope::with_made`]).
    made: Arc<HashSet<String>>,
}

#[derive(Debug)]
struct Inner {
    env: Arc<Environment<'static>>,
    vars: Arc<Map<String, Json>>,
    /// The run's `hostvars`, shared by every scope of the host (thousands of hosts'
    /// variables: never copied into `vars`); read as the variable `hostvars` when `vars`
    /// has none.
    hostvars: Option<Arc<Map<String, Json>>>,
    /// Top-level variables whose strings are data, never templates (registered results,
    /// loop items: Ansible's "unsafe" values).
    raw: HashSet<String>,
    /// The run's sensitive strings: read to tell which values are secret, grown with
    /// what renders derive from them (see `taint.rs`).
    sensitive: Masker,
    /// The newline a render's output uses (`newline_sequence`).
    newline: &'static str,
    state: Mutex<ResolveState>,
}

/// Book-keeping of nested variable renders during one top-level call.
#[derive(Debug, Default)]
struct ResolveState {
    /// Names of the variables being rendered, outermost first.
    stack: Vec<String>,
    /// The first error met while rendering a nested variable.
    error: Option<TemplateError>,
    /// A secret was read since the top-level call began.
    touched: bool,
    /// Secrets read now give their decoys (the second render of `Inner::tracked`).
    decoys: bool,
    /// Top-level names looked up and not found (globals and functions included: they are
    /// found after), in the order they were asked for; and variables whose template failed.
    missing: Vec<String>,
    /// Why each variable in `missing` whose template failed did (`x: "{{ nope }}"`).
    causes: Vec<(String, TemplateError)>,
}

impl Scope {
    /// A scope over `vars`, rendered with `env`.
    pub(super) fn new(
        env: Arc<Environment<'static>>,
        vars: Map<String, Json>,
        raw: HashSet<String>,
        sensitive: Masker,
    ) -> Self {
        Scope::sharing(env, vars, None, raw, sensitive)
    }

    /// A scope over `vars` and the shared `hostvars`.
    pub(super) fn sharing(
        env: Arc<Environment<'static>>,
        vars: Map<String, Json>,
        hostvars: Option<Arc<Map<String, Json>>>,
        raw: HashSet<String>,
        sensitive: Masker,
    ) -> Self {
        Scope {
            made: Arc::default(),
            inner: Arc::new(Inner {
                env,
                vars: Arc::new(vars),
                hostvars,
                raw,
                sensitive,
                newline: "\n",
                state: Mutex::new(ResolveState::default()),
            }),
        }
    }

    /// This scope with `data` added as variables that are data (never rendered), as
    /// the `template` module adds `ansible_managed` and friends.
    pub fn with_data(&self, data: Map<String, Json>) -> Scope {
        let mut vars = (*self.inner.vars).clone();
        let mut raw = self.inner.raw.clone();
        raw.extend(data.keys().cloned());
        vars.extend(data);
        Scope::sharing(
            self.inner.env.clone(),
            vars,
            self.inner.hostvars.clone(),
            raw,
            self.inner.sensitive.clone(),
        )
    }

    /// This scope, rendering a template file with `templates` as the templates that include,
    /// import and extend load (see [`super::includes`]) and with Jinja's settings changed by
    /// `overrides`.
    pub fn for_template(
        &self,
        templates: Option<Arc<std::collections::BTreeMap<String, String>>>,
        overrides: &super::overrides::Overrides,
    ) -> Result<Scope, String> {
        if templates.is_none() && overrides.is_default() {
            return Ok(self.clone());
        }
        let mut env = (*self.inner.env).clone();
        if let Some(templates) = templates {
            super::includes::set_loader(&mut env, templates, overrides);
        }
        if !overrides.is_default() {
            env.set_syntax(overrides.syntax()?);
        }
        Ok(Scope {
            made: self.made.clone(),
            inner: Arc::new(Inner {
                env: Arc::new(env),
                vars: self.inner.vars.clone(),
                hostvars: self.inner.hostvars.clone(),
                raw: self.inner.raw.clone(),
                sensitive: self.inner.sensitive.clone(),
                newline: overrides.newline(),
                state: Mutex::new(ResolveState::default()),
            }),
        })
    }

    /// This scope, knowing `made`: the strings its loop item holds that rendering a
    /// template made. In Ansible a template's result is a new string, untrusted, so one
    /// of them evaluated as a conditional is an error.
    pub fn with_made(mut self, made: HashSet<String>) -> Scope {
        self.made = Arc::new(made);
        self
    }

    /// Whether Ansible's `ALLOW_BROKEN_CONDITIONALS` is on (see
    /// [`super::Templater::allowing_broken_conditionals`]).
    pub(super) fn allows_broken(&self) -> bool {
        self.inner
            .env
            .globals()
            .any(|(k, _)| k == super::conditional::ALLOW_BROKEN)
    }

    /// Whether `text` is one of the strings [`Scope::with_made`] noted (stripped, as
    /// conditionals are).
    pub fn is_made(&self, text: &str) -> bool {
        self.made.contains(text.trim())
    }

    /// The raw (unrendered) variables, without the shared `hostvars` (see
    /// [`Scope::hostvars`]).
    pub fn vars(&self) -> &Map<String, Json> {
        &self.inner.vars
    }

    /// The shared `hostvars` the scope reads, when `vars` has none.
    pub fn hostvars(&self) -> Option<&Arc<Map<String, Json>>> {
        self.inner.hostvars.as_ref()
    }

    /// Every variable, `hostvars` included, as one map (a copy: for what leaves the
    /// host, such as a sync point's variables).
    pub fn all_vars(&self) -> Map<String, Json> {
        let mut vars = (*self.inner.vars).clone();
        if let Some(hostvars) = &self.inner.hostvars
            && !vars.contains_key("hostvars")
        {
            vars.insert("hostvars".into(), Json::Object((**hostvars).clone()));
        }
        vars
    }

    /// The names of the variables that are data, never rendered.
    pub fn raw_names(&self) -> &HashSet<String> {
        &self.inner.raw
    }

    /// Renders `s` as a template, always producing a string.
    pub fn render_string(&self, s: &str) -> Result<String, TemplateError> {
        if !is_template(s) {
            return Ok(s.to_owned());
        }
        self.inner.tracked(
            s,
            &super::guards::code_of(s),
            |i, s| i.render_str(s, &None, true),
            |r, d, out| sensitive_text(r, d.map(String::as_str), out),
        )
    }

    /// Renders a template file's text (the `template` module): as Ansible, its expressions'
    /// string constants read escape sequences as Jinja does.
    pub fn render_file(&self, s: &str) -> Result<String, TemplateError> {
        // Rendered even without `{{`: the scope may use other delimiters.
        self.inner.tracked(
            s,
            &super::guards::code_of(s),
            |i, s| i.render_str(s, &None, false),
            |r, d, out| sensitive_text(r, d.map(String::as_str), out),
        )
    }

    /// [`Scope::render_file`], `None` when the template output nothing at all (Ansible's
    /// `template` lookup gives `None` then).
    pub fn render_file_or_none(&self, s: &str) -> Result<Option<String>, TemplateError> {
        self.inner.tracked(
            s,
            &super::guards::code_of(s),
            |i, s| i.render_output(s, &None, false),
            |r, d, out| {
                if let Some(r) = r {
                    sensitive_text(r, d.and_then(Option::as_ref).map(String::as_str), out)
                }
            },
        )
    }

    /// Renders every string inside `v`; a string that is exactly one `{{ expr }}` becomes
    /// the expression's value with its native type.
    pub fn render_value(&self, v: &Json) -> Result<Json, TemplateError> {
        match v {
            Json::String(s) if is_template(s) => self.inner.tracked(
                s,
                &super::guards::code_of(s),
                |i, s| {
                    super::filters::missing_attr::take();
                    to_json(&i.render_native(s, &None)?, s)
                },
                sensitive_json,
            ),
            Json::Array(items) => items.iter().map(|i| self.render_value(i)).collect(),
            Json::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(self.render_string(k)?, self.render_value(v)?);
                }
                Ok(Json::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// [`Scope::render_value`] for a lookup plugin that takes undefined values (Ansible's
    /// `accept_args_markers`, `first_found`): an undefined value inside a list or mapping
    /// the template makes is the lookups' undefined marker instead of an error.
    pub fn render_marking_undefined(&self, v: &Json) -> Result<Json, TemplateError> {
        let before = MARKING_UNDEFINED.with(|m| m.replace(true));
        let out = self.render_value(v);
        MARKING_UNDEFINED.with(|m| m.set(before));
        out
    }

    /// Evaluates a bare Jinja expression (`when:`, `debug: var=`); an undefined result is
    /// an error naming the variable.
    pub fn eval(&self, expr: &str) -> Result<Json, TemplateError> {
        let expr = single_expression(expr).unwrap_or(expr);
        self.inner.tracked(
            expr,
            expr,
            |i, e| {
                super::filters::missing_attr::take();
                to_json(&i.eval_expr(e, &None, true)?, e)
            },
            sensitive_json,
        )
    }

    /// Evaluates a condition with Jinja truthiness; `yes`/`no`/`on`/`off` are accepted as
    /// YAML 1.1 booleans.
    pub fn eval_bool(&self, expr: &str) -> Result<bool, TemplateError> {
        let trimmed = expr.trim();
        match trimmed.to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" => return Ok(true),
            "no" | "off" | "false" | "" => return Ok(false),
            _ => {}
        }
        self.check_trusted_conditional(trimmed)?;
        let expr = single_expression(trimmed).unwrap_or(trimmed);
        self.eval_checked(expr).map(|v| v.is_true())
    }

    /// One top-level evaluation of the expression `expr`: a recursion or a nested
    /// variable's failure wins, and an undefined variable it uses unguarded is an error.
    fn eval_checked(&self, expr: &str) -> Result<Value, TemplateError> {
        super::undecryptable::tracking(|| {
            super::undef::tracking(|| {
                self.inner.clear_missing();
                let r = self.inner.eval_expr(expr, &None, false);
                let missing = std::mem::take(&mut self.inner.lock().missing);
                let value = self.inner.finish(r)?;
                self.inner.used_undefined(expr, missing)?;
                Ok(value)
            })
        })
    }

    /// The value of a conditional's expression: as [`Scope::eval_bool`] reads it (its
    /// backslashes as written, an undefined variable it uses an error), not its truth.
    pub fn eval_condition(&self, expr: &str) -> Result<Json, TemplateError> {
        to_json(&self.eval_checked(expr)?, expr)
    }

    /// Ansible evaluates the string a `{{ ... }}` conditional renders to as an expression
    /// only when the string is trusted (it came from the playbook's own data); a string
    /// the template makes from constants alone never is, and fails the conditional.
    pub fn check_trusted_conditional(&self, cond: &str) -> Result<(), TemplateError> {
        let untrusted = || TemplateError::Render {
            line: None,
            source_text: shorten(cond.trim()),
            detail: "Encountered untrusted template or expression.".to_owned(),
        };
        // A conditional marked `!unsafe` (the loader wraps it in `raw`) is untrusted.
        let trimmed = cond.trim();
        if trimmed.starts_with("{% raw %}") && trimmed.ends_with("{% endraw %}") {
            return Err(untrusted());
        }
        let Some(expr) = single_expression(cond) else {
            return Ok(());
        };
        if !self.uses_no_names(expr) {
            return Ok(());
        }
        match self.inner.eval_expr(expr, &None, false) {
            Ok(value) if value.kind() == ValueKind::String => Err(untrusted()),
            _ => Ok(()),
        }
    }

    /// A conditional template whose value is a list (`that: '{{ checks }}'`): each item is
    /// a conditional, trusted only as the variables hold it. An item marked `!unsafe`, or
    /// one the template renders from a template of its own (a new string), is untrusted,
    /// as in Ansible, and fails the conditional.
    pub fn check_trusted_items(&self, cond: &str) -> Result<(), TemplateError> {
        let Some(expr) = single_expression(cond) else {
            return Ok(());
        };
        let Ok(compiled) = self.inner.env.compile_expression(expr) else {
            return Ok(());
        };
        let root = self.unrendered_root();
        let evaluated = compiled.eval(root);
        let Ok(value) = evaluated else {
            return Ok(());
        };
        if value.kind() != ValueKind::Seq {
            return Ok(());
        }
        // A templated item that renders to text is a new string (untrusted); one that
        // renders to a boolean or number is no conditional text at all.
        let untrusted = value.try_iter().into_iter().flatten().any(|item| {
            item.as_str().is_some_and(|s| {
                super::is_template(s)
                    && (s.trim_start().starts_with("{% raw %}")
                        || matches!(
                            self.render_value(&Json::String(s.to_owned())),
                            Ok(Json::String(_))
                        ))
            })
        });
        if untrusted {
            return Err(TemplateError::Render {
                line: None,
                source_text: shorten(cond.trim()),
                detail: "Encountered untrusted template or expression.".to_owned(),
            });
        }
        Ok(())
    }

    /// The variables as written, templates inside them left unrendered.
    fn unrendered_root(&self) -> Value {
        Value::from_object(LazyMap {
            inner: self.inner.clone(),
            map: self.inner.vars.clone(),
            path: String::new(),
            raw: true,
            ctx: None,
        })
    }

    /// The value of the single-expression template `cond` with the variables as written,
    /// templates inside them left unrendered (Ansible's `resolve_to_container`: the
    /// container a template names, its contents not templated); `None` when `cond` is no
    /// single expression or does not evaluate.
    pub fn resolve_unrendered(&self, cond: &str) -> Option<Json> {
        let expr = single_expression(cond)?;
        let compiled = self.inner.env.compile_expression(expr).ok()?;
        let root = self.unrendered_root();
        let value = compiled.eval(root).ok()?;
        serde_json::to_value(&value).ok()
    }

    /// Whether the expression refers to no variable, function or other name at all.
    fn uses_no_names(&self, expr: &str) -> bool {
        self.inner
            .env
            .compile_expression(expr)
            .is_ok_and(|e| e.undeclared_variables(false).is_empty())
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, ResolveState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A top-level evaluation starts: no name is missing yet.
    fn clear_missing(&self) {
        let mut state = self.lock();
        state.missing.clear();
        state.causes.clear();
    }

    /// The context object: the variables (or another host's, see [`Ctx`]), rendered on
    /// lookup.
    fn root(self: &Arc<Self>, ctx: &Ctx) -> Value {
        Value::from_object(LazyMap {
            inner: self.clone(),
            map: ctx.clone().unwrap_or_else(|| self.vars.clone()),
            path: String::new(),
            raw: false,
            ctx: ctx.clone(),
        })
    }

    /// Ends a top-level call: a recursion error always wins (a default filter must not
    /// hide it), and an undefined error is replaced by the nested cause when there is one.
    fn finish<T>(&self, r: Result<T, TemplateError>) -> Result<T, TemplateError> {
        let recorded = {
            let mut state = self.lock();
            state.stack.clear();
            state.error.take()
        };
        match (r, recorded) {
            (_, Some(e @ TemplateError::Recursion { .. })) => Err(e),
            (Err(TemplateError::Undefined { .. }), Some(inner)) => Err(inner),
            (r, _) => r,
        }
    }

    /// As Ansible 2.19: an undefined variable the template or condition `code` used
    /// (`nope == 'x'`, `not nope`, `nope ~ 'x'`) fails it; one a branch never reached
    /// (`flag and nope`), or that only a `defined` test or a `default` filter read, does not.
    /// `missing`: the top-level names the render looked up and did not find.
    fn used_undefined(&self, code: &str, missing: Vec<String>) -> Result<(), TemplateError> {
        if missing.is_empty() || MARKING_UNDEFINED.with(std::cell::Cell::get) {
            return Ok(());
        }
        let globals: Vec<&str> = self.env.globals().map(|(k, _)| k).collect();
        match missing
            .into_iter()
            .find(|n| !globals.contains(&n.as_str()) && super::guards::unguarded(code, n))
        {
            Some(name) => {
                // A variable whose own template failed: that failure, as Ansible reports it.
                let cause = self
                    .lock()
                    .causes
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, e)| e.clone());
                Err(cause.unwrap_or(TemplateError::Undefined {
                    name,
                    line: None,
                    hint: super::undef::hint(),
                }))
            }
            None => Ok(()),
        }
    }

    /// One top-level render of `src`. When it read a secret (or `src` holds one), it is
    /// done again with decoys, and what differs is added to the sensitive set. Costs one
    /// flag check per value read when the run has no secrets.
    fn tracked<T>(
        self: &Arc<Self>,
        src: &str,
        code: &str,
        render: impl Fn(&Arc<Self>, &str) -> Result<T, TemplateError>,
        compare: impl FnOnce(&T, Option<&T>, &mut Vec<String>),
    ) -> Result<T, TemplateError> {
        super::undecryptable::tracking(|| {
            super::undef::tracking(|| self.tracked_once(src, code, render, compare))
        })
    }

    fn tracked_once<T>(
        self: &Arc<Self>,
        src: &str,
        code: &str,
        render: impl Fn(&Arc<Self>, &str) -> Result<T, TemplateError>,
        compare: impl FnOnce(&T, Option<&T>, &mut Vec<String>),
    ) -> Result<T, TemplateError> {
        {
            let mut state = self.lock();
            state.touched = false;
            state.missing.clear();
            state.causes.clear();
        }
        let r = render(self, src);
        let (touched, missing) = {
            let mut state = self.lock();
            (
                std::mem::take(&mut state.touched),
                std::mem::take(&mut state.missing),
            )
        };
        for opened in super::filters::vault::take_opened() {
            self.sensitive.add(&opened);
        }
        let value = self.finish(r)?;
        self.used_undefined(code, missing)?;
        if touched || self.sensitive.is_sensitive(src) {
            let decoy_src = self.sensitive.decoy(src);
            self.lock().decoys = true;
            let r = render(self, &decoy_src);
            self.lock().decoys = false;
            // What the decoy render opened is not the run's text.
            drop(super::filters::vault::take_opened());
            let decoy = self.finish(r).ok();
            let mut parts = Vec::new();
            compare(&value, decoy.as_ref(), &mut parts);
            for part in parts {
                self.sensitive.add(&part);
            }
        }
        Ok(value)
    }

    /// `s` as a template reads it: marks the render as touched when `s` holds a secret,
    /// and gives its decoy during the decoy render.
    fn taint<'s>(&self, s: &'s str) -> Cow<'s, str> {
        if !self.sensitive.is_sensitive(s) {
            return Cow::Borrowed(s);
        }
        let decoys = {
            let mut state = self.lock();
            state.touched = true;
            state.decoys
        };
        if decoys {
            self.sensitive.decoy(s)
        } else {
            Cow::Borrowed(s)
        }
    }

    /// Renders template `s`; `escape`: its expressions' string constants keep their
    /// backslashes (Ansible's `escape_backslashes`, on for what YAML gave).
    fn render_str(
        self: &Arc<Self>,
        s: &str,
        ctx: &Ctx,
        escape: bool,
    ) -> Result<String, TemplateError> {
        self.render_output(s, ctx, escape)
            .map(Option::unwrap_or_default)
    }

    /// [`Inner::render_str`], `None` when the template output nothing at all (Ansible's
    /// `None` for a template of only comments or untaken branches).
    fn render_output(
        self: &Arc<Self>,
        s: &str,
        ctx: &Ctx,
        escape: bool,
    ) -> Result<Option<String>, TemplateError> {
        let source = if escape {
            super::backslashes::escape_in_template(s)
        } else {
            Cow::Borrowed(s)
        };
        let render = |text: &str| {
            super::filters::protomatter::tracking(text, || {
                super::emitted::tracking(|| self.env.render_str(text, self.root(ctx)))
            })
        };
        let (mut out, mut printed) = super::const_terms::within(&source, || render(&source));
        if let Err(e) = &out
            && e.kind() == ErrorKind::SyntaxError
            && let Some(plus) = super::unary_plus::rewrite_template(&source)
        {
            (out, printed) = render(&plus);
        }
        if let Err(e) = &out
            && super::percent::is_refused(e)
            && let Some(formatted) = super::percent::rewrite_template(&source)
        {
            (out, printed) = render(&formatted);
        }
        if out.is_err()
            && let Some(held) = super::undecryptable::hold_for_unvault(&source)
            && self.failed_on_undecryptable()
        {
            (out, printed) = render(&held);
            super::undecryptable::release();
        }
        let out = out.map_err(|e| self.convert_error(e, s, false, ctx))?;
        if out.is_empty() && !printed {
            return Ok(None);
        }
        Ok(Some(super::preserve_trailing_newlines(
            s,
            out,
            self.newline,
        )))
    }

    /// Evaluates a bare expression; `escape` as for [`Inner::render_str`] (off for
    /// conditionals, as in Ansible).
    fn eval_expr(
        self: &Arc<Self>,
        expr: &str,
        ctx: &Ctx,
        escape: bool,
    ) -> Result<Value, TemplateError> {
        let source = if escape {
            super::backslashes::escape_in_expression(expr)
        } else {
            Cow::Borrowed(expr)
        };
        let compiled = match self.env.compile_expression(&source) {
            Err(e) if e.kind() == ErrorKind::SyntaxError => {
                match super::unary_plus::rewrite_expression(&source) {
                    Some(plus) => self.env.compile_expression_owned(plus),
                    None => Err(e),
                }
            }
            other => other,
        }
        .map_err(|e| self.convert_error(e, expr, true, ctx))?;
        let eval = |compiled: &minijinja::Expression<'_, '_>| {
            super::const_terms::within(&source, || {
                super::filters::protomatter::tracking(&source, || compiled.eval(self.root(ctx)))
            })
        };
        let mut value = eval(&compiled);
        if let Err(e) = &value
            && super::percent::is_refused(e)
            && let Some(formatted) = super::percent::rewrite_expression(&source)
            && let Ok(again) = self.env.compile_expression_owned(formatted)
        {
            value = eval(&again);
        }
        if value.is_err()
            && let Some(held) = super::undecryptable::hold_for_unvault(&source)
            && let Ok(again) = self.env.compile_expression_owned(held)
            && self.failed_on_undecryptable()
        {
            value = eval(&again);
            super::undecryptable::release();
        }
        let value = value.map_err(|e| self.convert_error(e, expr, true, ctx))?;
        if value.is_undefined() {
            return Err(self.undefined_error(expr, true, None, ctx));
        }
        Ok(value)
    }

    fn render_native(self: &Arc<Self>, s: &str, ctx: &Ctx) -> Result<Value, TemplateError> {
        // As Ansible: one trailing newline is not part of the template; text around the
        // expression (spaces too) makes the result a string; a string result gets back the
        // newlines its template ended with beyond its own.
        let body = s.strip_suffix('\n').unwrap_or(s);
        let alone = body.len() == body.trim().len();
        match single_expression(body).filter(|_| alone) {
            Some(expr) => {
                let value = self.eval_expr(expr, ctx, true)?;
                match value.as_str() {
                    Some(text) if body.len() < s.len() => Ok(Value::from(
                        super::preserve_trailing_newlines(s, text.to_owned(), self.newline),
                    )),
                    _ => Ok(value),
                }
            }
            None => self
                .render_output(s, ctx, true)
                .map(|out| out.map_or(Value::from(()), Value::from)),
        }
    }

    /// Whether the render that just failed failed on an inline vault value the run could
    /// not open; if so, what it recorded is forgotten, for a retry.
    fn failed_on_undecryptable(&self) -> bool {
        let mut state = self.lock();
        let failed = state
            .error
            .as_ref()
            .is_some_and(|e| super::undecryptable::names_one(&e.to_string()));
        if failed {
            state.error = None;
            state.stack.clear();
            state.missing.clear();
            state.causes.clear();
        }
        failed
    }

    /// Turns a variable's raw value into a template value, rendering templated strings.
    fn resolve(self: &Arc<Self>, v: &Json, name: String, raw: bool, ctx: &Ctx) -> Value {
        match v {
            // A bytes value (`!!binary`), never a template.
            Json::String(s) if let Some(bytes) = crate::pybytes::decode(s) => {
                super::bytes::value(bytes)
            }
            // An inline vault value's plaintext is data, never a template, as in Ansible.
            Json::String(s) if self.sensitive.is_vaulted(s) => {
                super::filters::protomatter::mark_vaulted(&self.taint(s), !raw)
            }
            Json::String(s) if !raw && is_template(s) => {
                if let Some(vault) = super::undecryptable::held_vault(&name, s) {
                    return Value::from(vault);
                }
                {
                    let mut state = self.lock();
                    if state.stack.len() >= MAX_DEPTH || state.stack.contains(&name) {
                        state.error = Some(TemplateError::Recursion { name });
                        return Value::UNDEFINED;
                    }
                    state.stack.push(name.clone());
                }
                let r = self.render_native(&self.taint(s), ctx);
                let mut state = self.lock();
                state.stack.pop();
                match r {
                    Ok(v) => v,
                    Err(e) => {
                        // Used unguarded (`x == 1`), a variable whose template failed fails
                        // the condition too, as in Ansible (not a false comparison).
                        if ctx.is_none() && (!name.contains('.') || is_dotted_path(&name)) {
                            state.missing.push(name.clone());
                            state.causes.push((name, e.clone()));
                        }
                        super::undecryptable::record(&e.to_string());
                        if state.error.is_none() {
                            state.error = Some(e);
                        }
                        Value::UNDEFINED
                    }
                }
            }
            Json::String(s) if raw => Value::from(self.taint(s).as_ref()),
            Json::String(s) => super::filters::protomatter::mark_trusted(&self.taint(s)),
            Json::Number(n) if !self.sensitive.is_empty() => {
                let text = n.to_string();
                match self.taint(&text) {
                    Cow::Borrowed(_) => Value::from(minijinja::value::Serde(v)),
                    Cow::Owned(d) => d
                        .parse::<i64>()
                        .map(Value::from)
                        .or_else(|_| d.parse::<f64>().map(Value::from))
                        .unwrap_or_else(|_| Value::from(d)),
                }
            }
            Json::Object(m) => Value::from_object(LazyMap {
                inner: self.clone(),
                map: Arc::new(m.clone()),
                path: name,
                raw,
                ctx: ctx.clone(),
            }),
            Json::Array(a) => Value::from_object(LazySeq {
                inner: self.clone(),
                items: Arc::new(a.clone()),
                path: name,
                raw,
                ctx: ctx.clone(),
            }),
            other => Value::from(minijinja::value::Serde(other)),
        }
    }

    fn convert_error(
        self: &Arc<Self>,
        e: minijinja::Error,
        src: &str,
        is_expr: bool,
        ctx: &Ctx,
    ) -> TemplateError {
        // Lines only help in multi-line templates (files); inline strings are shown whole.
        let line = e.line().filter(|_| src.contains('\n'));
        if e.kind() == ErrorKind::UndefinedError {
            return self.undefined_error(src, is_expr, line, ctx);
        }
        // An include or import that failed on an undefined variable names it.
        let vars = ctx.as_ref().unwrap_or(&self.vars);
        let defined = |n: &str| vars.contains_key(n) || n == "vars" || n == "hostvars";
        if let Some(name) = super::nested_undefined::name(&self.env, &e, src, defined) {
            return TemplateError::Undefined {
                name,
                line,
                hint: None,
            };
        }
        let mut detail = e.kind().to_string();
        // A filter or test no plugin has, in Ansible's words (the task fails when it runs
        // only when its failure is ignored; otherwise it is refused when the playbook is read).
        let unknown = match e.kind() {
            ErrorKind::UnknownFilter => Some("filter"),
            ErrorKind::UnknownTest => Some("test"),
            _ => None,
        };
        if let Some(what) = unknown
            && let Some(name) = e
                .detail()
                .and_then(|d| d.strip_prefix(what))
                .and_then(|d| d.strip_suffix("is unknown"))
        {
            detail = format!("No {what} named '{}'.", name.trim());
        } else if e.detail() == Some(super::filters::MANDATORY_UNDEFINED) {
            detail = format!(
                "Mandatory variable '{}' not defined.",
                self.undefined_name(src, is_expr)
            );
        } else if let Some(d) = e.detail() {
            // A division by zero in Python's words, as Ansible shows it (playbooks test for
            // them): `/` and the integer `//`, `%` say it differently.
            let by_zero =
                d.starts_with("unable to calculate") && (d.ends_with("/ 0") || d.ends_with("% 0"));
            if by_zero && (d.ends_with("// 0") || d.ends_with("% 0")) {
                detail = "Error rendering template: integer division or modulo by zero".into();
            } else if by_zero {
                detail = "Error rendering template: division by zero".into();
            } else {
                detail.push_str(": ");
                detail.push_str(d);
            }
        }
        TemplateError::Render {
            line,
            source_text: super::undecryptable::source_text(src).unwrap_or_else(|| shorten(src)),
            detail,
        }
    }

    /// `src` gave an undefined value: the first missing variable it uses, or else the
    /// lookup that gave nothing in Ansible's words (`list object has no element 0`),
    /// unless an `undef()` said why.
    fn undefined_error(
        self: &Arc<Self>,
        src: &str,
        is_expr: bool,
        line: Option<usize>,
        ctx: &Ctx,
    ) -> TemplateError {
        let name = self.undefined_name(src, is_expr);
        let hint = super::undef::hint().or_else(|| {
            if name.starts_with("a variable in ") {
                self.failed_lookup(src, is_expr, ctx)
            } else {
                None
            }
        });
        TemplateError::Undefined { name, line, hint }
    }

    /// [`super::failed_lookup::explain`] over these variables. Its evaluations leave no
    /// trace: what they look up and fail on is not this render's.
    fn failed_lookup(self: &Arc<Self>, src: &str, is_expr: bool, ctx: &Ctx) -> Option<String> {
        let saved = std::mem::take(&mut *self.lock());
        let root = self.root(ctx);
        let explained = super::failed_lookup::explain(
            src,
            is_expr,
            |expr| {
                self.env
                    .compile_expression(expr)
                    .ok()?
                    .eval(root.clone())
                    .ok()
            },
            |v| {
                v.downcast_object_ref::<LazySeq>().is_some()
                    || v.downcast_object_ref::<LazyMap>().is_some()
            },
        );
        *self.lock() = saved;
        explained
    }

    /// The first variable path used in `src` that does not exist.
    fn undefined_name(&self, src: &str, is_expr: bool) -> String {
        let mut names: Vec<String> = if is_expr {
            self.env
                .compile_expression(src)
                .map(|e| e.undeclared_variables(true).into_iter().collect())
                .unwrap_or_default()
        } else {
            self.env
                .template_from_str(src)
                .map(|t| t.undeclared_variables(true).into_iter().collect())
                .unwrap_or_default()
        };
        // The first one the template uses, as Jinja fails on it first.
        names.sort_by_key(|n| (first_use(src, n), n.clone()));
        let globals: Vec<&str> = self.env.globals().map(|(k, _)| k).collect();
        let missing: Vec<String> = names
            .iter()
            .filter(|n| {
                let head = n.split('.').next().unwrap_or(n);
                !globals.contains(&head)
            })
            .filter_map(|n| missing_prefix(&self.vars, n))
            .collect();
        // A name every use of which is guarded (`| default(..)`, `is defined`) is not the
        // one that failed when another missing name is used bare.
        missing
            .iter()
            .find(|n| !always_guarded(src, n))
            .or(missing.first())
            .cloned()
            .unwrap_or_else(|| format!("a variable in `{}`", shorten(src)))
    }
}

/// Whether `path` is a variable and its attributes only (`db.conn`), no indexes.
fn is_dotted_path(path: &str) -> bool {
    path.split('.')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// Where `name` is first used in `src` as a whole name (not inside a longer one).
fn first_use(src: &str, name: &str) -> usize {
    src.match_indices(name)
        .find(|(i, _)| {
            let before = src[..*i].chars().next_back();
            let after = src[i + name.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .map_or(usize::MAX, |(i, _)| i)
}

/// Whether every use of `name` in `src` is followed by a `default` filter or a
/// `defined`/`undefined` test.
fn always_guarded(src: &str, name: &str) -> bool {
    let mut uses = src.match_indices(name).filter(|(i, _)| {
        let before = src[..*i].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
    });
    uses.all(|(i, _)| {
        let rest = &src[i + name.len()..];
        let rest = rest.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
        let rest = rest.trim_start();
        let guarded_filter = rest
            .strip_prefix('|')
            .map(str::trim_start)
            .is_some_and(|r| {
                r.starts_with("default") || r.starts_with("d(") || r.starts_with("d ")
            });
        let guarded_test = rest.strip_prefix("is ").is_some_and(|r| {
            let r = r.trim_start();
            let r = r.strip_prefix("not ").map_or(r, str::trim_start);
            r.starts_with("defined") || r.starts_with("undefined")
        });
        guarded_filter || guarded_test
    })
}

/// The shortest prefix of the dotted `path` that does not exist in `vars`, if any.
fn missing_prefix(vars: &Map<String, Json>, path: &str) -> Option<String> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    let Some(mut current) = vars.get(first) else {
        return Some(first.to_owned());
    };
    let mut seen = first.to_owned();
    for part in parts {
        seen.push('.');
        seen.push_str(part);
        current = match current {
            Json::Object(m) => match m.get(part) {
                Some(v) => v,
                None => return Some(seen),
            },
            // Templated or non-mapping values cannot be walked without rendering.
            _ => return None,
        };
    }
    None
}

fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

fn to_json(value: &Value, src: &str) -> Result<Json, TemplateError> {
    // Jinja2 keeps an undefined item (`map(attribute=..)` over an item without it) until
    // the result is used; Ansible then fails with the reason, as here.
    if let Some(reason) = super::filters::missing_attr::take()
        && holds_undefined(value)
    {
        return Err(TemplateError::Render {
            line: None,
            source_text: shorten(src),
            detail: reason,
        });
    }
    // A value inside that failed to render (undefined, or an inline vault value the run
    // cannot open) fails the result, as in Ansible, rather than becoming null; the
    // caller's `finish` puts the nested cause in its place. A plugin that takes undefined
    // values is given a marker for each instead (see `Scope::render_marking_undefined`).
    if holds_undefined(value) && MARKING_UNDEFINED.with(std::cell::Cell::get) {
        return Ok(marking_undefined(value));
    }
    if holds_undefined(value) {
        return Err(TemplateError::Undefined {
            name: format!("a variable in `{}`", shorten(src)),
            line: None,
            hint: super::undef::hint(),
        });
    }
    super::bytes::to_json(value).map_err(|e| TemplateError::Render {
        line: None,
        source_text: shorten(src),
        detail: format!("cannot convert the result to data: {e}"),
    })
}

thread_local! {
    /// A render whose undefined values inside its result become markers.
    static MARKING_UNDEFINED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `value` as data, each undefined value inside it the lookups' undefined marker.
fn marking_undefined(value: &Value) -> Json {
    if value.is_undefined() {
        return super::lookup::undefined_term();
    }
    match value.kind() {
        ValueKind::Seq => Json::Array(
            value
                .try_iter()
                .into_iter()
                .flatten()
                .map(|v| marking_undefined(&v))
                .collect(),
        ),
        ValueKind::Map => Json::Object(
            value
                .try_iter()
                .into_iter()
                .flatten()
                .map(|k| {
                    let v = value.get_item(&k).unwrap_or(Value::UNDEFINED);
                    (k.to_string(), marking_undefined(&v))
                })
                .collect(),
        ),
        _ => super::bytes::to_json(value).unwrap_or(Json::Null),
    }
}

/// Whether an undefined value is nested in a list or mapping `value`.
pub(super) fn holds_undefined(value: &Value) -> bool {
    match value.kind() {
        ValueKind::Seq | ValueKind::Map => value.try_iter().is_ok_and(|items| {
            items.into_iter().any(|k| {
                let v = if value.kind() == ValueKind::Map {
                    value.get_item(&k).unwrap_or(Value::UNDEFINED)
                } else {
                    k
                };
                v.is_undefined() || holds_undefined(&v)
            })
        }),
        _ => false,
    }
}

/// The variables templates are rendered with: `None` for the scope's own, or another
/// host's (inside `hostvars`).
type Ctx = Option<Arc<Map<String, Json>>>;

/// A mapping whose templated values render when looked up.
#[derive(Debug)]
struct LazyMap {
    inner: Arc<Inner>,
    map: Arc<Map<String, Json>>,
    /// Dotted path of this mapping, for error messages (empty at the root).
    path: String,
    /// Strings inside are data, not templates.
    raw: bool,
    /// Whose variables templates inside are rendered with.
    ctx: Ctx,
}

impl Object for LazyMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        // Ansible's `vars`: every variable of the host at this point, as a mapping
        // (`vars[item]`, `'name' in vars`).
        if k == "vars" && self.path.is_empty() && !self.map.contains_key(k) {
            return Some(Value::from_object(LazyMap {
                inner: self.inner.clone(),
                map: self.map.clone(),
                path: String::new(),
                raw: self.raw,
                ctx: self.ctx.clone(),
            }));
        }
        if let Some(hostvars) = self.shared_hostvars(k) {
            return Some(Value::from_object(LazyMap {
                inner: self.inner.clone(),
                map: hostvars.clone(),
                path: k.to_owned(),
                raw: self.raw || self.inner.raw.contains(k),
                ctx: None,
            }));
        }
        let Some(v) = self.map.get(k) else {
            if self.ctx.is_none() {
                if self.path.is_empty() {
                    self.inner.lock().missing.push(k.to_owned());
                } else if is_dotted_path(&self.path) {
                    // A missing key of a defined mapping (`known.zz`): used unguarded, it
                    // fails as in Ansible 2.19.
                    self.inner.lock().missing.push(format!("{}.{k}", self.path));
                }
            }
            return None;
        };
        let (name, raw) = if self.path.is_empty() {
            (k.to_owned(), self.raw || self.inner.raw.contains(k))
        } else {
            (format!("{}.{k}", self.path), self.raw)
        };
        // `hostvars.<host>`: that host's variables render in that host's context, as in
        // Ansible (`ansible_host: "{{ inventory_hostname }}.lan"` names that host).
        if self.path == "hostvars"
            && self.ctx.is_none()
            && let Json::Object(host_vars) = v
        {
            let ctx: Ctx = Some(Arc::new(host_vars.clone()));
            return Some(self.inner.resolve(v, name, raw, &ctx));
        }
        Some(self.inner.resolve(v, name, raw, &self.ctx))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = self.map.keys().map(|k| Value::from(k.as_str())).collect();
        if self.shared_hostvars("hostvars").is_some() {
            keys.push(Value::from("hostvars"));
        }
        Enumerator::Values(keys)
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.map.len() + usize::from(self.shared_hostvars("hostvars").is_some()))
    }
}

impl LazyMap {
    /// The scope's shared `hostvars` when `key` names it here: at the root of the scope's
    /// own variables, which hold none of their own.
    fn shared_hostvars(&self, key: &str) -> Option<&Arc<Map<String, Json>>> {
        match (key, self.path.is_empty(), &self.ctx) {
            ("hostvars", true, None) if !self.map.contains_key(key) => self.inner.hostvars.as_ref(),
            _ => None,
        }
    }
}

/// A list whose templated items render when looked up.
#[derive(Debug)]
struct LazySeq {
    inner: Arc<Inner>,
    items: Arc<Vec<Json>>,
    path: String,
    raw: bool,
    ctx: Ctx,
}

impl Object for LazySeq {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let idx = key.as_usize()?;
        let v = self.items.get(idx)?;
        Some(
            self.inner
                .resolve(v, format!("{}[{idx}]", self.path), self.raw, &self.ctx),
        )
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.items.len())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.items.len())
    }
}

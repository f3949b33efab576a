//! Masking of secrets in everything the agent sends back.
//!
//! Every message, diff, debug output and registered output passes through a [`Masker`]
//! before it leaves the agent, so vault values, values derived from them and URL passwords
//! never reach the controller's terminal, logs or journal.
//!
//! The set of sensitive strings grows during a run: the template engine adds the text a
//! render derived from a secret (see `docs/secrets.md`), and every clone of a masker sees
//! what any clone learnt.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, RwLock, RwLockReadGuard};

use regex::Regex;
use serde_json::Value;

/// The shortest leaf of a `no_log` result that becomes a secret ([`Masker::add_leaves`]).
pub const MIN_LEAF: usize = 4;

/// What a masked secret is replaced with.
pub const MASK: &str = "********";

/// Lines of a multi-line secret shorter than this (trimmed) are not masked on their own:
/// a lone `}` or `==` is not worth hiding every occurrence of.
const MIN_LINE: usize = 4;

/// The password part of `scheme://user:password@host`; a password holding an unencoded
/// `@` is masked up to the last `@` before the host.
static URL_PASSWORD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^\s/]+)@").ok()
});

/// Byte ranges of the URL passwords in `s` (`scheme://user:PASSWORD@`): masked wherever
/// they are shown, whatever the masker knows.
pub fn url_passwords(s: &str) -> Vec<std::ops::Range<usize>> {
    if !s.contains("://") {
        return Vec::new();
    }
    URL_PASSWORD.as_ref().map_or_else(Vec::new, |re| {
        re.captures_iter(s)
            .filter_map(|c| c.name("pw").map(|m| m.range()))
            .collect()
    })
}

/// Replaces secrets (and URL passwords) with [`MASK`].
///
/// Every non-empty secret is masked, however short: a one-character secret masks that
/// character everywhere, which over-masks but never leaks. Longer secrets are matched
/// first, so a secret that contains another is masked whole. Each line of a multi-line
/// secret is a secret too (a diff shows them one by one), and so is the JSON-escaped form
/// of a secret holding quotes, backslashes or newlines.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// False while the set is empty: lets the template engine skip all tracking cheaply.
    any: AtomicBool,
    set: RwLock<Set>,
}

#[derive(Debug, Default)]
struct Set {
    /// The secrets, longest first.
    literals: Vec<String>,
    known: HashSet<String>,
    /// One alternation of all secrets, longest first; `None` when there are none (or,
    /// for absurdly many secrets, when the pattern is too big: then `literals` is used).
    regex: Option<Regex>,
    /// `literals` changed since `regex` was built.
    stale: bool,
    /// Strings added after construction ([`Masker::add`]), in order.
    derived: Vec<String>,
    /// The secrets that are inline `!vault` values' plaintexts ([`Masker::with_vaulted`]).
    vaulted: HashSet<String>,
}

impl Masker {
    /// Builds a masker for these secrets (empty strings are ignored).
    pub fn new(secrets: &[String]) -> Self {
        let masker = Masker::default();
        {
            let mut set = masker.write();
            for s in secrets {
                set.insert(s);
            }
        }
        masker.refresh_empty();
        masker
    }

    /// This masker, knowing which of its secrets are inline `!vault` values' plaintexts.
    pub fn with_vaulted(self, vaulted: &[String]) -> Self {
        {
            let mut set = self.write();
            for v in vaulted {
                set.insert(v);
                set.vaulted.insert(v.clone());
            }
        }
        self.refresh_empty();
        self
    }

    /// Whether `s` is an inline `!vault` value's plaintext.
    pub fn is_vaulted(&self, s: &str) -> bool {
        !self.is_empty() && self.read().vaulted.contains(s)
    }

    /// Adds a sensitive string found during the run (text derived from a secret); every
    /// clone of this masker masks it from now on. Returns whether it was new.
    pub fn add(&self, s: &str) -> bool {
        if s.is_empty() || s == MASK {
            return false;
        }
        let added = {
            let mut set = self.write();
            let added = set.insert(s);
            if added {
                set.derived.push(s.to_owned());
            }
            added
        };
        self.refresh_empty();
        added
    }

    /// Adds every string and number inside `value` ([`Masker::add`]) of at least
    /// [`MIN_LEAF`] characters. Shorter leaves of a result are its counts, codes and flags
    /// (a `no_log` query's `rowcount: 0`): masking them would mask every `0` shown later,
    /// host names and times included, and hide nothing secret.
    pub fn add_leaves(&self, value: &Value) {
        match value {
            Value::String(s) if s.chars().count() >= MIN_LEAF => {
                self.add(s);
            }
            Value::Number(n) if n.to_string().len() >= MIN_LEAF => {
                self.add(&n.to_string());
            }
            Value::String(_) | Value::Number(_) => {}
            Value::Array(items) => items.iter().for_each(|v| self.add_leaves(v)),
            Value::Object(map) => map.values().for_each(|v| self.add_leaves(v)),
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// The strings added with [`Masker::add`] so far, in order: what the controller must
    /// learn to mask its own output and to pass on to later plays.
    pub fn derived(&self) -> Vec<String> {
        self.read().derived.clone()
    }

    /// Whether `s` is, whole, one of the secrets (not merely text holding one).
    pub fn is_secret(&self, s: &str) -> bool {
        !self.is_empty() && self.read().known.contains(s)
    }

    /// Whether no secret is known (URL passwords are still masked).
    pub fn is_empty(&self) -> bool {
        !self.shared.any.load(Ordering::Relaxed)
    }

    /// Whether `s` holds a secret or a URL password. Cheap when there are no secrets and
    /// `s` holds no URL.
    pub fn is_sensitive(&self, s: &str) -> bool {
        if !self.is_empty() {
            let set = self.compiled();
            let found = match &set.regex {
                Some(re) => re.is_match(s),
                None => set.literals.iter().any(|l| s.contains(l.as_str())),
            };
            if found {
                return true;
            }
        }
        s.contains("://") && URL_PASSWORD.as_ref().is_some_and(|re| re.is_match(s))
    }

    /// Returns `s` with every secret and every URL password replaced by [`MASK`].
    pub fn mask<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.replace(s, &|_| MASK.to_owned())
    }

    /// Returns `s` with every secret and URL password replaced by a decoy of the same
    /// length that differs from it in every character (see [`decoy`]). Rendering a
    /// template once with secrets and once with decoys shows which output depends on them.
    pub fn decoy<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.replace(s, &decoy)
    }

    fn replace<'a>(&self, s: &'a str, with: &dyn Fn(&str) -> String) -> Cow<'a, str> {
        let mut out: Cow<'a, str> = Cow::Borrowed(s);
        if !self.is_empty() {
            let set = self.compiled();
            match &set.regex {
                Some(re) => {
                    if re.is_match(&out) {
                        let replaced = re
                            .replace_all(&out, |caps: &regex::Captures<'_>| with(&caps[0]))
                            .into_owned();
                        out = Cow::Owned(replaced);
                    }
                }
                None => {
                    for secret in &set.literals {
                        if out.contains(secret.as_str()) {
                            out = Cow::Owned(out.replace(secret.as_str(), &with(secret)));
                        }
                    }
                }
            }
        }
        if out.contains("://")
            && let Some(re) = URL_PASSWORD.as_ref()
            && re.is_match(&out)
        {
            let replaced = re
                .replace_all(&out, |caps: &regex::Captures<'_>| {
                    let head = caps.name("head").map_or("", |m| m.as_str());
                    let pw = caps.name("pw").map_or("", |m| m.as_str());
                    if pw == MASK {
                        format!("{head}{pw}@")
                    } else {
                        format!("{head}{}@", with(pw))
                    }
                })
                .into_owned();
            out = Cow::Owned(replaced);
        }
        out
    }

    /// Masks every string (keys included) inside a JSON value.
    pub fn mask_value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.mask(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.mask_value(i)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.mask(k).into_owned(), self.mask_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn refresh_empty(&self) {
        let any = !self.read().literals.is_empty();
        self.shared.any.store(any, Ordering::Relaxed);
    }

    fn read(&self) -> RwLockReadGuard<'_, Set> {
        // A poisoned set still holds every secret recorded so far; masking must go on.
        self.shared.set.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Set> {
        self.shared.set.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The set with its pattern rebuilt if strings were added since it was built (once
    /// per batch of additions, not once per addition).
    fn compiled(&self) -> RwLockReadGuard<'_, Set> {
        {
            let set = self.read();
            if !set.stale {
                return set;
            }
        }
        self.write().rebuild();
        self.read()
    }
}

impl Set {
    /// Adds `s`, its non-trivial lines and its JSON-escaped form. Returns whether `s`
    /// was new.
    fn insert(&mut self, s: &str) -> bool {
        if s.is_empty() || self.known.contains(s) {
            return false;
        }
        let mut forms = vec![s.to_owned()];
        if s.contains('\n') {
            forms.extend(
                s.lines()
                    .map(str::trim)
                    .filter(|l| l.chars().count() >= MIN_LINE)
                    .map(str::to_owned),
            );
        }
        if let Ok(quoted) = serde_json::to_string(s) {
            let inner = &quoted[1..quoted.len() - 1];
            if inner != s {
                forms.push(inner.to_owned());
            }
        }
        for form in forms {
            if form != MASK && self.known.insert(form.clone()) {
                self.literals.push(form);
                self.stale = true;
            }
        }
        true
    }

    fn rebuild(&mut self) {
        if !self.stale {
            return;
        }
        self.literals
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.regex = if self.literals.is_empty() {
            None
        } else {
            let pattern = self
                .literals
                .iter()
                .map(|s| regex::escape(s))
                .collect::<Vec<_>>()
                .join("|");
            regex::RegexBuilder::new(&pattern)
                .size_limit(256 << 20)
                .build()
                .ok()
        };
        self.stale = false;
    }
}

/// A stand-in for `s`: same number of characters and the same line breaks, every other
/// character different from the original's, also ignoring case (so `upper`, `lower`,
/// slices, `replace` and encodings of the decoy all differ from those of the secret), and
/// digits stay digits (so `int` still works).
pub fn decoy(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' => c,
            '0'..='8' => char::from(c as u8 + 1),
            '9' => '0',
            'x' => 'q',
            'X' => 'Q',
            'A'..='Z' => 'X',
            _ => 'x',
        })
        .collect()
}

#[cfg(test)]
#[path = "mask_tests.rs"]
mod tests;

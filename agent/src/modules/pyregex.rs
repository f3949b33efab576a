//! A Python `re` pattern compiled by the engine that can run it.
//!
//! Modules match with the `regex` crate (linear time; what dr has always used) whenever it
//! accepts a pattern. Python's `re` also has constructs only a backtracking engine runs:
//! backreferences (`\1`, `(?P=name)`), lookarounds, conditionals, atomic groups and
//! possessive quantifiers, and playbooks use them (Ansible's own `lineinfile` tests do).
//! Such a pattern, and only such a pattern, goes to fancy-regex, spelled for it by
//! [`pyre::translate_backtracking`]. A module holds a [`PyRegex`] and searches it the same
//! way whichever engine it got; a pattern neither engine takes is refused with the words
//! dr always used.

use super::replace::pyre::{self, Groups, Template};

/// The flags a module compiles its pattern with, as Python's `re` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flags {
    /// `re.MULTILINE` (`replace`'s `regexp`).
    Multiline,
    /// `re.DOTALL` (`replace`'s `after`/`before` section).
    DotAll,
}

impl Flags {
    fn prefix(self) -> &'static str {
        match self {
            Flags::Multiline => "(?m)",
            Flags::DotAll => "(?s)",
        }
    }

    /// Whether `$` means what Python's does (see [`pyre::translate`]).
    fn dollar_ok(self) -> bool {
        self == Flags::Multiline
    }
}

/// A compiled Python pattern. `F` is the `regex` crate's engine for the text searched:
/// [`TextRegex`] for a whole file's text, [`LineRegex`] for a file's lines as bytes.
#[derive(Debug)]
pub struct PyRegex<F> {
    pattern: String,
    engine: Engine<F>,
}

/// A pattern `replace` searches a file's text with.
pub type TextRegex = PyRegex<regex::Regex>;

/// A pattern `lineinfile` searches a file's lines with (bytes: the file may not be utf-8;
/// a pattern that needs fancy-regex searches utf-8 only, see [`LineRegex::check_utf8`]).
pub type LineRegex = PyRegex<regex::bytes::Regex>;

#[derive(Debug)]
enum Engine<F> {
    Fast(F),
    Backtracking {
        re: fancy_regex::Regex,
        /// The construct that needed it ("a backreference"), for messages.
        uses: &'static str,
    },
}

/// Why a pattern could not be compiled, searched or expanded.
#[derive(Debug, thiserror::Error)]
pub enum PyRegexError {
    /// Neither engine accepts the pattern: the message dr gives for what the `regex` crate
    /// refuses.
    #[error("{0}")]
    Invalid(String),
    /// A pattern that needs fancy-regex, and bytes that are not utf-8 to search.
    #[error(
        "the regular expression `{pattern}` uses {uses}, which dr matches in utf-8 text only (Python's `re` matches bytes)"
    )]
    NotUtf8 { pattern: String, uses: &'static str },
    /// fancy-regex stopped backtracking (its step limit) where Python would go on.
    #[error(
        "the regular expression `{pattern}` uses {uses}, and matching it took too many backtracking steps: {reason}"
    )]
    GaveUp {
        pattern: String,
        uses: &'static str,
        reason: String,
    },
    /// A template Python's `match.expand` refuses (`lineinfile`'s `line` with `backrefs`).
    #[error("cannot expand `{template}` with the groups of `{pattern}`: {reason}")]
    Expand {
        pattern: String,
        template: String,
        reason: String,
    },
}

impl<F> PyRegex<F> {
    /// The two-engine choice: `fast` (the `regex` crate's compilation, or dr's message for
    /// its refusal) when it compiled; else, when the pattern uses a construct only a
    /// backtracking engine has, `build` applied to its fancy-regex spelling.
    fn choose(
        pattern: &str,
        dollar_ok: bool,
        fast: Result<F, String>,
        build: impl FnOnce(&str) -> Result<fancy_regex::Regex, fancy_regex::Error>,
    ) -> Result<Self, PyRegexError> {
        let refusal = match fast {
            Ok(re) => {
                return Ok(PyRegex {
                    pattern: pattern.to_owned(),
                    engine: Engine::Fast(re),
                });
            }
            Err(refusal) => refusal,
        };
        let Ok(Some(spelled)) = pyre::translate_backtracking(pattern, dollar_ok) else {
            return Err(PyRegexError::Invalid(refusal));
        };
        let re = build(&spelled.source).map_err(|_| PyRegexError::Invalid(refusal))?;
        Ok(PyRegex {
            pattern: pattern.to_owned(),
            engine: Engine::Backtracking {
                re,
                uses: spelled.uses,
            },
        })
    }

    /// The construct that sent the pattern to fancy-regex ("a backreference"); `None` when
    /// the `regex` crate runs it.
    pub fn backtracking(&self) -> Option<&'static str> {
        match &self.engine {
            Engine::Fast(_) => None,
            Engine::Backtracking { uses, .. } => Some(uses),
        }
    }

    /// fancy-regex's failure to finish a search, named.
    fn gave_up(&self, e: fancy_regex::Error) -> PyRegexError {
        PyRegexError::GaveUp {
            pattern: self.pattern.clone(),
            uses: self.backtracking().unwrap_or("backtracking"),
            reason: e.to_string(),
        }
    }
}

/// The groups of a fancy-regex match.
fn fancy_groups<S: fancy_regex::Input + ?Sized>(caps: &fancy_regex::Captures<'_, S>) -> Groups
where
    for<'t> S::Match<'t>: Into<std::ops::Range<usize>>,
{
    Groups(
        (0..caps.len())
            .map(|i| caps.get(i).map(Into::into))
            .collect(),
    )
}

/// The index of the group named `name` in fancy-regex's `re`.
fn fancy_group_index(re: &fancy_regex::Regex, name: &str) -> Option<usize> {
    re.capture_names().position(|n| n == Some(name))
}

impl PyRegex<regex::Regex> {
    /// `pattern` compiled as Python's `re.compile(pattern, flags)`, for text.
    pub fn text(pattern: &str, flags: Flags) -> Result<Self, PyRegexError> {
        let fast = pyre::translate(pattern, flags.dollar_ok()).and_then(|t| {
            regex::Regex::new(&format!("{}{t}", flags.prefix()))
                .map_err(|e| format!("invalid regular expression `{pattern}`: {e}"))
        });
        Self::choose(pattern, flags.dollar_ok(), fast, |source| {
            fancy_regex::Regex::new(&format!("{}{source}", flags.prefix()))
        })
    }

    /// How many groups a match has, the whole match counted.
    pub fn captures_len(&self) -> usize {
        match &self.engine {
            Engine::Fast(re) => re.captures_len(),
            Engine::Backtracking { re, .. } => re.captures_len(),
        }
    }

    /// The index of the group named `name`.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        match &self.engine {
            Engine::Fast(re) => re.capture_names().position(|n| n == Some(name)),
            Engine::Backtracking { re, .. } => fancy_group_index(re, name),
        }
    }

    /// The first match in `hay` at or after `pos`; anchors and lookbehinds see all of
    /// `hay`.
    pub fn captures_at(&self, hay: &str, pos: usize) -> Result<Option<Groups>, PyRegexError> {
        match &self.engine {
            Engine::Fast(re) => Ok(re.captures_at(hay, pos).map(|c| Groups::from(&c))),
            Engine::Backtracking { re, .. } => re
                .captures_from_pos(hay, pos)
                .map(|c| c.as_ref().map(fancy_groups))
                .map_err(|e| self.gave_up(e)),
        }
    }

    /// `repl` parsed as a Python replacement template for this pattern's groups.
    pub fn template(&self, repl: &str) -> Result<Template, String> {
        Template::parse(repl, self.captures_len(), |name| self.group_index(name))
    }

    /// Python's `re.subn(pattern, template, hay)`: the text and how many replacements.
    pub fn subn(&self, template: &Template, hay: &str) -> Result<(String, usize), PyRegexError> {
        pyre::subn(|pos| self.captures_at(hay, pos), template, hay)
    }
}

impl PyRegex<regex::bytes::Regex> {
    /// `pattern` compiled as `lineinfile` compiles it: as written for the `regex` crate
    /// (as dr always has); spelled for fancy-regex when it needs backtracking.
    pub fn line(pattern: &str) -> Result<Self, PyRegexError> {
        let fast = regex::bytes::Regex::new(pattern)
            .map_err(|e| format!("invalid regular expression `{pattern}`: {e}"));
        Self::choose(pattern, true, fast, fancy_regex::Regex::new)
    }

    /// Whether `hay` can be searched: fancy-regex matches utf-8 text only (its bytes mode
    /// skips start positions after a byte that is not utf-8), so a file is checked whole
    /// before any of its lines is searched, and refused naming the pattern.
    pub fn check_utf8(&self, hay: &[u8]) -> Result<(), PyRegexError> {
        match &self.engine {
            Engine::Fast(_) => Ok(()),
            Engine::Backtracking { uses, .. } => match std::str::from_utf8(hay) {
                Ok(_) => Ok(()),
                Err(_) => Err(PyRegexError::NotUtf8 {
                    pattern: self.pattern.clone(),
                    uses,
                }),
            },
        }
    }

    /// Python's `re.search` in `hay` (bytes for the `regex` crate, utf-8 text for
    /// fancy-regex: see [`LineRegex::check_utf8`]).
    pub fn search<'r, 'h>(&'r self, hay: &'h [u8]) -> Result<Option<Hit<'r, 'h>>, PyRegexError> {
        match &self.engine {
            Engine::Fast(re) => Ok(re.captures(hay).map(Hit::Fast)),
            Engine::Backtracking { re, uses } => {
                let text = std::str::from_utf8(hay).map_err(|_| PyRegexError::NotUtf8 {
                    pattern: self.pattern.clone(),
                    uses,
                })?;
                let caps = re.captures_from_pos(text, 0).map_err(|e| self.gave_up(e))?;
                Ok(caps.map(|c| Hit::Backtracking {
                    pattern: &self.pattern,
                    re,
                    groups: fancy_groups(&c),
                    hay,
                }))
            }
        }
    }
}

/// A match of a [`LineRegex`], whose groups `backrefs` puts in `line`.
pub enum Hit<'r, 'h> {
    /// Found by the `regex` crate.
    Fast(regex::bytes::Captures<'h>),
    /// Found by fancy-regex.
    Backtracking {
        /// The pattern as written, for messages.
        pattern: &'r str,
        re: &'r fancy_regex::Regex,
        groups: Groups,
        hay: &'h [u8],
    },
}

impl Hit<'_, '_> {
    /// Python's `match.expand(template)`. A `regex` crate match expands `\1`, `\g<name>`
    /// as dr always has; a fancy-regex one reads the template exactly as Python does,
    /// refusing what Python refuses (`invalid group reference 2 at position 1`).
    pub fn expand(&self, template: &str) -> Result<Vec<u8>, PyRegexError> {
        let mut out = Vec::new();
        match self {
            Hit::Fast(caps) => caps.expand(
                crate::template::python_replacement(template).as_bytes(),
                &mut out,
            ),
            Hit::Backtracking {
                pattern,
                re,
                groups,
                hay,
            } => {
                let parsed = Template::parse(template, re.captures_len(), |name| {
                    fancy_group_index(re, name)
                })
                .map_err(|reason| PyRegexError::Expand {
                    pattern: (*pattern).to_owned(),
                    template: template.to_owned(),
                    reason,
                })?;
                parsed.expand_bytes(groups, hay, &mut out);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;

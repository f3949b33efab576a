//! Jinja's settings a `template` task or lookup may change: the block, variable and comment
//! delimiters, `trim_blocks`, `lstrip_blocks` and `newline_sequence` (Ansible's
//! `TemplateOverrides`).

use minijinja::syntax::SyntaxConfig;
use serde::Deserialize;

use crate::modules::args::opt_bool_ish;

/// What a template changes of the environment's settings; `None` keeps Ansible's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Overrides {
    pub block_start_string: Option<String>,
    pub block_end_string: Option<String>,
    pub variable_start_string: Option<String>,
    pub variable_end_string: Option<String>,
    pub comment_start_string: Option<String>,
    pub comment_end_string: Option<String>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    pub trim_blocks: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    pub lstrip_blocks: Option<bool>,
    pub newline_sequence: Option<String>,
    /// Set only by a template's `#jinja2:` header line, never a task argument.
    #[serde(skip)]
    pub line_statement_prefix: Option<String>,
    /// Set only by a template's `#jinja2:` header line, never a task argument.
    #[serde(skip)]
    pub line_comment_prefix: Option<String>,
}

impl Overrides {
    /// The argument names, for modules that take them among their own.
    pub const NAMES: &'static [&'static str] = &[
        "block_start_string",
        "block_end_string",
        "variable_start_string",
        "variable_end_string",
        "comment_start_string",
        "comment_end_string",
        "trim_blocks",
        "lstrip_blocks",
        "newline_sequence",
    ];

    /// The overrides among `args` (other keys are ignored here).
    pub fn from_args(args: &serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        let picked: serde_json::Map<String, serde_json::Value> = args
            .iter()
            .filter(|(k, v)| Self::NAMES.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut o: Overrides =
            serde_json::from_value(serde_json::Value::Object(picked)).map_err(|e| e.to_string())?;
        // As Ansible's action: the escaped spellings (`'\r\n'` in single quotes) stand for
        // the sequences themselves.
        if let Some(seq) = &mut o.newline_sequence {
            match seq.as_str() {
                "\\n" => *seq = "\n".to_owned(),
                "\\r" => *seq = "\r".to_owned(),
                "\\r\\n" => *seq = "\r\n".to_owned(),
                _ => {}
            }
        }
        if let Some(seq) = &o.newline_sequence
            && !matches!(seq.as_str(), "\n" | "\r\n" | "\r")
        {
            return Err(format!(
                "newline_sequence must be one of \\n, \\r\\n or \\r, not {seq:?}"
            ));
        }
        Ok(o)
    }

    /// Whether nothing is changed.
    pub fn is_default(&self) -> bool {
        *self == Overrides::default()
    }

    /// The newline the output uses.
    pub fn newline(&self) -> &'static str {
        match self.newline_sequence.as_deref() {
            Some("\r\n") => "\r\n",
            Some("\r") => "\r",
            _ => "\n",
        }
    }

    /// The environment's syntax with these changes.
    pub(super) fn syntax(&self) -> Result<SyntaxConfig, String> {
        let pair = |s: &Option<String>, e: &Option<String>, d: (&'static str, &'static str)| {
            (
                s.clone().unwrap_or_else(|| d.0.to_owned()),
                e.clone().unwrap_or_else(|| d.1.to_owned()),
            )
        };
        let block = pair(
            &self.block_start_string,
            &self.block_end_string,
            ("{%", "%}"),
        );
        let variable = pair(
            &self.variable_start_string,
            &self.variable_end_string,
            ("{{", "}}"),
        );
        let comment = pair(
            &self.comment_start_string,
            &self.comment_end_string,
            ("{#", "#}"),
        );
        if block.0 == variable.0 || variable.0 == comment.0 || comment.0 == block.0 {
            return Err("Block, variable and comment start strings must be different.".into());
        }
        let mut builder = SyntaxConfig::builder();
        if let Some(prefix) = &self.line_statement_prefix {
            builder.line_statement_prefix(prefix.clone());
        }
        if let Some(prefix) = &self.line_comment_prefix {
            builder.line_comment_prefix(prefix.clone());
        }
        builder
            .block_delimiters(block.0, block.1)
            .variable_delimiters(variable.0, variable.1)
            .comment_delimiters(comment.0, comment.1)
            .trim_blocks(self.trim_blocks.unwrap_or(true))
            .lstrip_blocks(self.lstrip_blocks.unwrap_or(false))
            .keep_trailing_newline(false)
            .build()
            .map_err(|e| e.to_string())
    }

    /// Whether the delimiters are Jinja's own.
    fn default_delimiters(&self) -> bool {
        [
            &self.block_start_string,
            &self.block_end_string,
            &self.variable_start_string,
            &self.variable_end_string,
            &self.comment_start_string,
            &self.comment_end_string,
        ]
        .iter()
        .all(|d| d.is_none())
    }

    /// A template file's text as it is parsed: newlines as the output's, and what an
    /// include inside a macro sees as in Jinja2 (see [`Overrides::prepare_loaded`]).
    pub fn prepare<'a>(&self, source: &'a str) -> std::borrow::Cow<'a, str> {
        let normalised = self.normalise_newlines(source);
        match self.enclose(&normalised) {
            Some(enclosed) => enclosed.into(),
            None => normalised,
        }
    }

    /// A template that an include, import or extends loads, as it is parsed: an include
    /// inside one of its macros sees the names the template assigns, as in Jinja2
    /// (`super::macro_includes`).
    pub(super) fn prepare_loaded(&self, source: String) -> String {
        self.enclose(&source).unwrap_or(source)
    }

    fn enclose(&self, source: &str) -> Option<String> {
        if self.default_delimiters() {
            super::macro_includes::enclose(source)
        } else {
            None
        }
    }

    /// `source` with its newlines as the output's (Jinja's lexer normalises them).
    pub fn normalise_newlines<'a>(&self, source: &'a str) -> std::borrow::Cow<'a, str> {
        let seq = self.newline();
        if seq == "\n" && !source.contains('\r') {
            return source.into();
        }
        let unified = source.replace("\r\n", "\n").replace('\r', "\n");
        if seq == "\n" {
            unified.into()
        } else {
            unified.replace('\n', seq).into()
        }
    }
}

//! Templates that name other templates: `{% include %}`, `{% import %}`, `{% from %}` and
//! `{% extends %}`. The controller ships the texts of the templates a template names (found
//! along Ansible's search path); the agent renders with them as the environment's loader.

use std::collections::BTreeMap;
use std::sync::Arc;

/// The template names written as string constants in `source`'s include, import, from and
/// extends tags, in order, each once. A name computed at render time (`{% include x %}`) is
/// not known here; rendering it then fails naming it.
pub fn named(source: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("%}") else {
            break;
        };
        let tag = after[..end].trim_start_matches(['-', '+']).trim_start();
        let keyword = tag.split_whitespace().next().unwrap_or_default();
        if matches!(keyword, "include" | "import" | "from" | "extends") {
            for name in string_constants(&tag[keyword.len()..]) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        rest = &after[end + 2..];
    }
    names
}

/// The quoted strings of a tag's expression (`'a.j2'`, `["a.j2", "b.j2"]`).
fn string_constants(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        if c != '\'' && c != '"' {
            continue;
        }
        let mut s = String::new();
        let mut closed = false;
        while let Some(d) = chars.next() {
            match d {
                '\\' => {
                    if let Some(e) = chars.next() {
                        s.push(e);
                    }
                }
                d if d == c => {
                    closed = true;
                    break;
                }
                d => s.push(d),
            }
        }
        if closed && !s.is_empty() {
            out.push(s);
        }
    }
    out
}

/// Makes `templates` what `env`'s include, import and extends load, prepared for a
/// template with `overrides`.
pub(super) fn set_loader(
    env: &mut minijinja::Environment<'_>,
    templates: Arc<BTreeMap<String, String>>,
    overrides: &super::overrides::Overrides,
) {
    let overrides = overrides.clone();
    env.set_loader(move |name| {
        Ok(templates
            .get(name)
            .map(|t| overrides.prepare_loaded(t.clone())))
    });
}

#[cfg(test)]
mod tests {
    use super::named;

    #[test]
    fn names_in_every_kind_of_tag_once_in_order() {
        let src = "a {% include 'part.j2' %}\n{%- import \"macros.j2\" as m -%}\n\
                   {% from 'f.j2' import x %}{% extends ['base.j2', 'part.j2'] %}\n\
                   {% include name %}{% if 'x' %}{% endif %}{{ 'nope.j2' }}{% include 'it\\'s' %}";
        assert_eq!(
            named(src),
            ["part.j2", "macros.j2", "f.j2", "base.j2", "it's"]
        );
    }

    #[test]
    fn an_unclosed_tag_ends_the_scan() {
        assert_eq!(named("{% include 'a' %}{% include 'b'"), ["a"]);
    }
}

//! An `{% include %}` inside a macro (or a `{% call %}` block) sees the names the template
//! assigned, as in Jinja2. Jinja2 renders the included template with the template's
//! whole context, its `set`, `import`, `from` and `macro` names included; minijinja gives a
//! macro only the names its own body uses, captured when it is declared. So each macro
//! whose body includes a template is made to use, in a branch never taken, every name the
//! template assigns, which minijinja then captures:
//! `{% macro m() %}{% if false %}{{ vars }}{% endif %}{% include 'x.j2' %}{% endmacro %}`.
//! The inserted tags output nothing and keep the macro tag's whitespace control.
//! Templates with Jinja's default delimiters only.

/// A block tag: where it starts and ends, its keyword and the rest of its text, and how
/// it closes (`%}`, `-%}`, `+%}`).
struct Tag<'a> {
    end: usize,
    keyword: &'a str,
    rest: &'a str,
    close: &'a str,
}

/// `source` with the names enclosed in its macros that include a template; `None` when
/// it needs no change. Only what the template assigned at its top level before the macro
/// is enclosed: enclosing looks a name up when the macro is declared, and a name not yet
/// assigned would be looked up among the variables, and missing.
pub(super) fn enclose(source: &str) -> Option<String> {
    if !source.contains("include") || !(source.contains("macro") || source.contains("call")) {
        return None;
    }
    let tags = tags(source);
    let mut depth = 0usize;
    let mut assigned: Vec<&str> = Vec::new();
    // The top-level macro (or call block) open: its tag, the names assigned before it,
    // whether it includes a template.
    let mut open: Option<(usize, Vec<&str>, bool)> = None;
    let mut inserts: Vec<(usize, Vec<&str>)> = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        let opens = match tag.keyword {
            "set" => !tag.rest.contains('='),
            k => OPENERS.contains(&k),
        };
        let closes = tag
            .keyword
            .strip_prefix("end")
            .is_some_and(|k| k == "set" || OPENERS.contains(&k));
        if depth == 0 && matches!(tag.keyword, "macro" | "call") {
            open = Some((i, assigned.clone(), false));
        }
        if tag.keyword == "include"
            && let Some(m) = &mut open
        {
            m.2 = true;
        }
        if depth == 0 {
            for name in assigned_names(tag) {
                if !assigned.contains(&name) {
                    assigned.push(name);
                }
            }
        }
        if opens {
            depth += 1;
        } else if closes {
            depth = depth.saturating_sub(1);
            if depth == 0
                && let Some((at, names, true)) = open.take()
                && !names.is_empty()
            {
                inserts.push((at, names));
            }
        }
    }
    if inserts.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(source.len() + 64 * inserts.len());
    let mut from = 0;
    for (i, names) in inserts {
        let tag = &tags[i];
        out.push_str(&source[from..tag.end]);
        out.push_str("{% if false %}");
        for n in names {
            out.push_str(&format!("{{{{ {n} }}}}"));
        }
        out.push_str("{% endif ");
        out.push_str(tag.close);
        from = tag.end;
    }
    out.push_str(&source[from..]);
    Some(out)
}

/// Block tags that open a body closed by `end<keyword>` (a `set` without `=` too).
const OPENERS: [&str; 8] = [
    "for",
    "if",
    "macro",
    "call",
    "filter",
    "with",
    "block",
    "autoescape",
];

/// The block tags of `source`, outside comments, `{{ }}` and raw blocks.
fn tags(source: &str) -> Vec<Tag<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = source[at..].find('{') {
        let start = at + found;
        let close = match source.as_bytes().get(start + 1) {
            Some(b'%') => "%}",
            Some(b'#') => "#}",
            Some(b'{') => "}}",
            _ => {
                at = start + 1;
                continue;
            }
        };
        let Some(len) = source[start + 2..].find(close) else {
            break;
        };
        let end = start + 2 + len + 2;
        at = end;
        if close != "%}" {
            continue;
        }
        let inner = &source[start + 2..end - 2];
        let modifier = inner.chars().last().filter(|c| matches!(c, '-' | '+'));
        let body = inner
            .trim_start_matches(['-', '+'])
            .trim_end_matches(['-', '+'])
            .trim();
        let keyword = body.split_whitespace().next().unwrap_or_default();
        let rest = body[keyword.len()..].trim();
        let close = match modifier {
            Some('-') => "-%}",
            Some(_) => "+%}",
            None => "%}",
        };
        if keyword == "raw" {
            // Nothing up to `endraw` is a tag.
            match source[at..].find("endraw") {
                Some(e) => match source[at + e..].find("%}") {
                    Some(c) => at = at + e + c + 2,
                    None => break,
                },
                None => break,
            }
            continue;
        }
        out.push(Tag {
            end,
            keyword,
            rest,
            close,
        });
    }
    out
}

fn is_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The names a `set`, `import`, `from` or `macro` tag assigns.
fn assigned_names<'a>(tag: &Tag<'a>) -> Vec<&'a str> {
    let found: Vec<&str> = match tag.keyword {
        "set" => {
            let target = tag.rest.split_once('=').map_or(tag.rest, |(t, _)| t);
            target.split(',').map(str::trim).collect()
        }
        "import" => tag
            .rest
            .rsplit_once(" as ")
            .and_then(|(_, n)| n.split_whitespace().next())
            .into_iter()
            .collect(),
        "from" => tag
            .rest
            .split_once(" import ")
            .map(|(_, list)| {
                let list = list
                    .trim()
                    .trim_end_matches("without context")
                    .trim_end_matches("with context");
                list.split(',')
                    .filter_map(|item| item.split_whitespace().last())
                    .collect()
            })
            .unwrap_or_default(),
        "macro" => tag
            .rest
            .split('(')
            .next()
            .map(str::trim)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    found.into_iter().filter(|n| is_name(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::enclose;

    #[test]
    fn a_macro_that_includes_encloses_every_assigned_name() {
        let src = "{% import 'v.j2' as vars with context %}\n\
                   {% set a, b = 1, 2 %}{% from 'f.j2' import x as y, z with context %}\n\
                   {% macro inc() -%}\n{% include 'i.j2' %}{% endmacro %}\n\
                   {% macro plain() %}{{ a }}{% endmacro %}";
        // Not `inc` itself, not `plain`, declared after it.
        let uses = "{% if false %}{{ vars }}{{ a }}{{ b }}{{ y }}{{ z }}";
        assert_eq!(
            enclose(src).as_deref(),
            Some(
                format!(
                    "{{% import 'v.j2' as vars with context %}}\n\
                     {{% set a, b = 1, 2 %}}{{% from 'f.j2' import x as y, z with context %}}\n\
                     {{% macro inc() -%}}{uses}{{% endif -%}}\n{{% include 'i.j2' %}}{{% endmacro %}}\n\
                     {{% macro plain() %}}{{{{ a }}}}{{% endmacro %}}"
                )
                .as_str()
            )
        );
    }

    #[test]
    fn nothing_to_change_without_an_include_in_a_macro() {
        for src in [
            "{% set a = 1 %}{% macro m() %}{{ a }}{% endmacro %}{% include 'x' %}",
            "{% set a = 1 %}{% raw %}{% macro m() %}{% include 'x' %}{% endmacro %}{% endraw %}",
            "{# {% set a = 1 %}{% macro m() %}{% include 'x' %}{% endmacro %} #}",
            // Nothing assigned at the top level before the macro.
            "{% for i in l %}{% set a = 1 %}{% endfor %}{% macro m() %}{% include 'x' %}{% endmacro %}",
            "{% macro m() %}{% include 'x' %}{% endmacro %}{% set a = 1 %}",
        ] {
            assert_eq!(enclose(src), None, "{src}");
        }
    }
}

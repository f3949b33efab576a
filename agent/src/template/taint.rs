//! Which part of a rendered value was derived from a secret.
//!
//! A render that read a secret (a value the masker knows, or a URL password) is repeated
//! with every secret replaced by a decoy (`crate::mask::decoy`). Whatever differs between
//! the two results depends on the secret, whatever the filters in between (`upper`,
//! `b64encode`, slices, `replace`, `reverse`, `join`, `to_json`, ...): those parts are
//! added to the run's sensitive set, so they are masked wherever they are shown later.
//! Text that is the same in both renders (the rest of a URL, the other lines of a file)
//! stays readable.

use std::collections::HashSet;

use serde_json::Value as Json;

/// Parts of a line shorter than this are not added on their own; the whole line is.
const MIN_PART: usize = 4;

/// Differences closer than this are one part (`a,b,c` from `list | join(',')`).
const MAX_GAP: usize = 3;

/// Pushes onto `out` the parts of `real` that depend on a secret, given the same render
/// with decoys (`None` when that render failed: then every leaf of `real` is sensitive).
pub(super) fn sensitive_json(real: &Json, decoy: Option<&Json>, out: &mut Vec<String>) {
    match (real, decoy) {
        (Json::Bool(_) | Json::Null, _) => {}
        (Json::String(r), Some(Json::String(d))) => sensitive_text(r, Some(d), out),
        (Json::Number(r), Some(Json::Number(d))) => {
            if r != d {
                out.push(r.to_string());
            }
        }
        (Json::Array(r), Some(Json::Array(d))) if r.len() == d.len() => {
            for (r, d) in r.iter().zip(d) {
                sensitive_json(r, Some(d), out);
            }
        }
        (Json::Object(r), Some(Json::Object(d)))
            if r.len() == d.len() && r.keys().all(|k| d.contains_key(k)) =>
        {
            for (k, r) in r {
                sensitive_json(r, d.get(k), out);
            }
        }
        (other, _) => leaves(other, out),
    }
}

/// Pushes onto `out` the parts of the string `real` that depend on a secret.
///
/// Line by line: a line that differs from its decoy counterpart contributes the runs of
/// characters that differ (runs closer than [`MAX_GAP`] are one), each widened to the
/// whole word (letters, digits, `+ _ -`, trailing `=`) so an encoding or hash whose first
/// or last character happens to match the decoy's is still hidden whole; a URL keeps its
/// scheme, user and host. When every part is shorter than [`MIN_PART`], the whole line
/// is added instead.
pub(super) fn sensitive_text(real: &str, decoy: Option<&str>, out: &mut Vec<String>) {
    let Some(decoy) = decoy else {
        out.push(real.to_owned());
        return;
    };
    if decoy == real {
        return;
    }
    let real_lines: Vec<&str> = real.split('\n').collect();
    let decoy_lines: Vec<&str> = decoy.split('\n').collect();
    if real_lines.len() == decoy_lines.len() {
        for (r, d) in real_lines.iter().zip(&decoy_lines) {
            if r != d {
                let parts = spans(r, d);
                // A short part alone would mask that text everywhere: the line hides it,
                // unless every part is a URL's password, which is masked where it stands.
                let passwords = crate::mask::url_passwords(r);
                let in_password = |p: &str| {
                    let at = p.as_ptr() as usize - r.as_ptr() as usize;
                    passwords
                        .iter()
                        .any(|range| range.start <= at && at + p.len() <= range.end)
                };
                if parts.iter().all(|p| p.chars().count() < MIN_PART)
                    && !parts.iter().all(|p| in_password(p))
                {
                    out.push(r.trim().to_owned());
                }
                out.extend(
                    parts
                        .into_iter()
                        .filter(|p| p.chars().count() >= MIN_PART)
                        .map(str::to_owned),
                );
            }
        }
        return;
    }
    // The secret changed the shape of the output (a branch, a loop): every line that
    // does not appear in the decoy render is sensitive.
    let seen: HashSet<&str> = decoy_lines.iter().copied().collect();
    out.extend(
        real_lines
            .iter()
            .filter(|l| !seen.contains(*l) && !l.trim().is_empty())
            .map(|l| l.trim().to_owned()),
    );
}

/// The parts of `real` that differ from `decoy` (none when the decoy only adds text).
///
/// Decoys keep the length of what they replace, so a line of the same length is compared
/// character by character (two secrets on one line are two parts, the text between them
/// stays); otherwise the part is what lies between the common prefix and suffix.
fn spans<'a>(real: &'a str, decoy: &str) -> Vec<&'a str> {
    let r: Vec<(usize, char)> = real.char_indices().collect();
    let d: Vec<char> = decoy.chars().collect();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    if r.len() == d.len() {
        let mut i = 0;
        while i < r.len() {
            if r[i].1 == d[i] {
                i += 1;
                continue;
            }
            let from = i;
            while i < r.len() && r[i].1 != d[i] {
                i += 1;
            }
            runs.push((from, i));
        }
    } else {
        let mut start = 0;
        while start < r.len() && start < d.len() && r[start].1 == d[start] {
            start += 1;
        }
        let mut tail = 0;
        while tail < r.len() - start
            && tail < d.len() - start
            && r[r.len() - 1 - tail].1 == d[d.len() - 1 - tail]
        {
            tail += 1;
        }
        if start < r.len() - tail {
            runs.push((start, r.len() - tail));
        }
    }
    let mut close: Vec<(usize, usize)> = Vec::new();
    for run in runs {
        match close.last_mut() {
            Some(last) if run.0 - last.1 <= MAX_GAP => last.1 = run.1,
            _ => close.push(run),
        }
    }
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (mut start, mut end) in close {
        while start > 0 && is_word(r[start - 1].1) {
            start -= 1;
        }
        while end < r.len() && (is_word(r[end].1) || r[end].1 == '=') {
            end += 1;
        }
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let at = |i: usize| r.get(i).map_or(real.len(), |(b, _)| *b);
    merged.iter().map(|&(s, e)| &real[at(s)..at(e)]).collect()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '+' | '_' | '-')
}

fn leaves(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::String(s) => out.push(s.clone()),
        Json::Number(n) => out.push(n.to_string()),
        Json::Array(items) => items.iter().for_each(|i| leaves(i, out)),
        Json::Object(map) => map.values().for_each(|i| leaves(i, out)),
        Json::Bool(_) | Json::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(real: &str, decoy: &str) -> Vec<String> {
        let mut out = Vec::new();
        sensitive_text(real, Some(decoy), &mut out);
        out
    }

    #[test]
    fn url_keeps_all_but_the_password() {
        assert_eq!(
            parts(
                "postgres://app:hunter2@db:5432/x",
                "postgres://app:xxxxxx3@db:5432/x"
            ),
            ["hunter2"]
        );
    }

    #[test]
    fn a_short_url_password_leaves_the_rest_of_the_line_readable() {
        // The password is masked inside the URL wherever the line is shown; the host is
        // what a plan must show.
        assert_eq!(
            parts(
                "DATABASE_URL=postgres://app:pw@akira-db-03:5432/akira",
                "DATABASE_URL=postgres://app:xy@akira-db-03:5432/akira"
            ),
            Vec::<String>::new()
        );
        // A short secret elsewhere in the line still hides the line.
        assert_eq!(
            parts("token=ab host=x", "token=xy host=x"),
            ["token=ab host=x"]
        );
    }

    #[test]
    fn coincidences_at_the_edges_are_covered() {
        // b64encode of the secret and of its decoy share the first character.
        assert_eq!(parts("key: QUJD=", "key: QxYz="), ["QUJD="]);
    }

    #[test]
    fn only_changed_lines_of_a_file() {
        assert_eq!(
            parts(
                "[db]\npassword = hunter2\nport = 5432\n",
                "[db]\npassword = xxxxxx3\nport = 5432\n"
            ),
            ["hunter2"]
        );
    }

    #[test]
    fn two_secrets_on_a_line_are_two_parts() {
        assert_eq!(
            parts(
                "pw=hunter2 url=postgres://app:other@db",
                "pw=xxxxxx3 url=postgres://app:xxxxx@db"
            ),
            ["hunter2", "other"]
        );
        // A coincidence inside an encoding does not split it.
        assert_eq!(parts("k AbCd.", "k AxCz."), ["AbCd"]);
        // Interleaved characters are one part.
        assert_eq!(parts("[S,u,p,3]", "[X,x,x,4]"), ["S,u,p,3"]);
        // A short part: the line.
        assert_eq!(parts("  first=S\n", "  first=X\n"), ["first=S"]);
    }

    #[test]
    fn same_output_is_not_sensitive() {
        assert!(parts("length 7", "length 7").is_empty());
    }

    #[test]
    fn a_different_shape_marks_the_new_lines() {
        assert_eq!(parts("a\nyes\nb", "a\nb"), ["yes"]);
    }

    fn tracked(
        vars: serde_json::Value,
        secrets: &[&str],
    ) -> (crate::template::Scope, crate::mask::Masker) {
        let masker =
            crate::mask::Masker::new(&secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let serde_json::Value::Object(vars) = vars else {
            unreachable!("test vars are a mapping")
        };
        let scope = crate::template::Templater::new()
            .tracking(masker.clone())
            .scope(vars);
        (scope, masker)
    }

    #[test]
    fn renders_that_read_a_secret_grow_the_set() {
        let vars = serde_json::json!({
            "pw": "Hunter2pass",
            "url": "postgres://app:{{ pw | lower }}@db/x",
            "host": "db-01",
        });
        let (scope, masker) = tracked(vars, &["Hunter2pass"]);
        let out = scope
            .render_string("{{ pw | upper }} on {{ host }}")
            .unwrap();
        assert_eq!(masker.mask(&out), "******** on db-01");
        let url = scope.eval("url").unwrap();
        assert_eq!(
            masker.mask(url.as_str().unwrap_or_default()),
            "postgres://app:********@db/x"
        );
        let b64 = scope
            .render_value(&serde_json::json!("{{ pw | b64encode }}"))
            .unwrap();
        assert_eq!(masker.mask(b64.as_str().unwrap_or_default()), "********");
        assert_eq!(
            masker.derived(),
            ["HUNTER2PASS", "hunter2pass", "SHVudGVyMnBhc3M="]
        );
        // Reading no secret adds nothing.
        scope
            .render_string("{{ host | upper }} {{ pw | length }}")
            .unwrap();
        assert_eq!(masker.derived().len(), 3);
    }

    #[test]
    fn without_secrets_nothing_is_tracked() {
        let (scope, masker) = tracked(serde_json::json!({"a": "x"}), &[]);
        assert_eq!(scope.render_string("{{ a | upper }}").unwrap(), "X");
        assert!(masker.derived().is_empty() && masker.is_empty());
    }

    #[test]
    fn failed_decoy_render_marks_everything() {
        let mut out = Vec::new();
        sensitive_json(&serde_json::json!({"a": ["x", 1, true]}), None, &mut out);
        assert_eq!(out, ["x", "1"]);
    }
}

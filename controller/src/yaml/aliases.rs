//! The nodes an alias (`*name`) copies from its anchor carry the alias's location, so a fix
//! that reads the source where a node starts (PyYAML's booleans) would read `*name` there:
//! a `true` inside an aliased mapping became the string `*name`. Each alias copy is
//! replaced by its anchored node, as that node was read at its own place.

use std::collections::HashMap;

use super::node::{Node, NodeValue};

/// The source token starting at (`line`, `col`), 1-based (`col` counts characters), up to
/// a space or `,]}#`; empty past the end. Borrowed: it is read for every scalar of a file.
pub(super) fn token_at<'a>(lines: &[&'a str], line: u32, col: u32) -> &'a str {
    let Some(l) = lines.get((line as usize).saturating_sub(1)) else {
        return "";
    };
    let skip = col.saturating_sub(1) as usize;
    let start = l.char_indices().nth(skip).map_or(l.len(), |(at, _)| at);
    let rest = &l[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || ",]}#".contains(c))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Whether `node` starts at an alias in the source.
pub(super) fn is_alias(node: &Node, lines: &[&str]) -> bool {
    token_at(lines, node.loc.line, node.loc.col).starts_with('*')
}

/// Replaces every alias copy in `root` by its anchored node.
pub(super) fn resolve(root: &mut Node, lines: &[&str]) {
    let mut anchors: HashMap<(u32, u32), Node> = HashMap::new();
    collect(root, root, lines, &mut anchors);
    replace(root, lines, &anchors);
}

fn collect(node: &Node, root: &Node, lines: &[&str], out: &mut HashMap<(u32, u32), Node>) {
    let at = (node.loc.line, node.loc.col);
    if is_alias(node, lines) {
        if !out.contains_key(&at)
            && let Some(found) = anchor_value(lines, at).and_then(|pos| find(root, pos, lines))
        {
            out.insert(at, found.clone());
        }
        return;
    }
    match &node.value {
        NodeValue::Seq(items) => items.iter().for_each(|n| collect(n, root, lines, out)),
        NodeValue::Map(entries) => entries.iter().for_each(|(k, v)| {
            collect(k, root, lines, out);
            collect(v, root, lines, out);
        }),
        _ => {}
    }
}

fn replace(node: &mut Node, lines: &[&str], anchors: &HashMap<(u32, u32), Node>) {
    if let Some(anchored) = anchors.get(&(node.loc.line, node.loc.col))
        && is_alias(node, lines)
    {
        let loc = node.loc.clone();
        *node = anchored.clone();
        // The anchored node may hold aliases of its own (at other places).
        replace(node, lines, anchors);
        node.loc = loc;
        return;
    }
    match &mut node.value {
        NodeValue::Seq(items) => items.iter_mut().for_each(|n| replace(n, lines, anchors)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            replace(k, lines, anchors);
            replace(v, lines, anchors);
        }),
        _ => {}
    }
}

/// Where the value anchored as the alias at `at` names starts: after the last `&name`
/// before the alias, past spaces, line ends and comments.
fn anchor_value(lines: &[&str], at: (u32, u32)) -> Option<(u32, u32)> {
    let alias = token_at(lines, at.0, at.1);
    let name = alias.strip_prefix('*')?;
    let mark = format!("&{name}");
    let chars: Vec<Vec<char>> = lines.iter().map(|l| l.chars().collect()).collect();
    let is_mark_at = |l: usize, c: usize| {
        let line = &chars[l];
        let m: Vec<char> = mark.chars().collect();
        line.len() >= c + m.len()
            && line[c..c + m.len()] == m[..]
            && line
                .get(c + m.len())
                .is_none_or(|ch| ch.is_whitespace() || ",]}".contains(*ch))
    };
    let (alias_line, alias_col) = ((at.0 as usize).checked_sub(1)?, at.1 as usize - 1);
    let mut found = None;
    'search: for l in (0..=alias_line).rev() {
        let end = if l == alias_line {
            alias_col
        } else {
            chars[l].len()
        };
        for c in (0..end.min(chars[l].len())).rev() {
            if is_mark_at(l, c) {
                found = Some((l, c + mark.chars().count()));
                break 'search;
            }
        }
    }
    let (mut l, mut c) = found?;
    loop {
        let line = chars.get(l)?;
        match line.get(c) {
            Some(ch) if ch.is_whitespace() => c += 1,
            Some('#') | None => {
                l += 1;
                c = 0;
            }
            Some(_) => return Some((l as u32 + 1, c as u32 + 1)),
        }
    }
}

/// The outermost node starting at `pos` that is not itself an alias copy.
fn find<'a>(node: &'a Node, pos: (u32, u32), lines: &[&str]) -> Option<&'a Node> {
    if (node.loc.line, node.loc.col) == pos {
        return Some(node);
    }
    if is_alias(node, lines) {
        return None;
    }
    match &node.value {
        NodeValue::Seq(items) => items.iter().find_map(|n| find(n, pos, lines)),
        NodeValue::Map(entries) => entries
            .iter()
            .find_map(|(k, v)| find(k, pos, lines).or_else(|| find(v, pos, lines))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::load::parse_str;
    use super::super::node::{Node, NodeValue};

    fn get<'a>(node: &'a Node, path: &[&str]) -> &'a NodeValue {
        let mut n = node;
        for p in path {
            n = match &n.value {
                NodeValue::Map(m) => {
                    &m.iter()
                        .find(|(k, _)| matches!(&k.value, NodeValue::Str(s) if s == p))
                        .unwrap_or_else(|| panic!("no {p}"))
                        .1
                }
                NodeValue::Seq(items) => &items[p.parse::<usize>().unwrap_or_default()],
                _ => panic!("{p}: not a collection"),
            };
        }
        &n.value
    }

    #[test]
    fn values_copied_by_an_alias_are_read_as_at_their_anchor() {
        let text = "base: &base\n  flag: true\n  word: y\n  inner: &inner {on_off: off, n: n}\ncopy: *base\nflow: {c: *inner}\nlist:\n  - &e yes\n  - *e\n";
        let node = parse_str(Path::new("t.yml"), text).unwrap_or_else(|e| panic!("{e:?}"));
        // PyYAML: `true`, `off` and `yes` are booleans, `y` and `n` strings, wherever copied.
        assert_eq!(get(&node, &["copy", "flag"]), &NodeValue::Bool(true));
        assert_eq!(get(&node, &["copy", "word"]), &NodeValue::Str("y".into()));
        assert_eq!(
            get(&node, &["copy", "inner", "on_off"]),
            &NodeValue::Bool(false)
        );
        assert_eq!(get(&node, &["flow", "c", "n"]), &NodeValue::Str("n".into()));
        assert_eq!(get(&node, &["list", "1"]), &NodeValue::Bool(true));
    }
}

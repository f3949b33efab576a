//! Ansible's `!vault` tag. The reader drops tags, and dr opens an inline vault value by its
//! text (`$ANSIBLE_VAULT;...`), so a plain string holding such text (a ciphertext kept for
//! the `unvault` filter) would be opened too — Ansible leaves it as the string it is. A
//! pass over the parser's events finds the `!vault` scalars; a string with vault text that
//! is not one is recorded as plain ([`is_plain`]), and the vault code leaves it alone.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use super::node::{Node, NodeValue};

/// The start of an ansible-vault envelope.
const ENVELOPE: &str = "$ANSIBLE_VAULT;";

/// Plain strings (no `!vault` tag) whose text is a vault envelope, from every file read.
static PLAIN: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// Whether `text` was read as a plain string, not a `!vault` value.
pub fn is_plain(text: &str) -> bool {
    PLAIN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .contains(text)
}

/// Records the plain strings of `node` (parsed from `text`) that hold vault text.
pub(super) fn record_plain(text: &str, node: &Node) {
    if !text.contains(ENVELOPE) {
        return;
    }
    let tagged = tagged(text);
    let mut plain = Vec::new();
    let mut seen = HashSet::new();
    walk(node, &tagged, &mut plain, &mut seen);
    // Every `!vault` scalar must be a node found where the parser put it; otherwise which
    // strings are plain is not known, and every vault text is opened (as before).
    if seen.len() == tagged.len() && !plain.is_empty() {
        PLAIN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(plain);
    }
}

/// Where `!vault` scalars (and aliases to them) start: line and column, from 1.
fn tagged(text: &str) -> HashSet<(u32, u32)> {
    super::tag_scan::scalars(text, |t| Ok(t.handle() == "!" && t.suffix() == "vault"))
        .unwrap_or_default()
}

fn walk(
    node: &Node,
    tagged: &HashSet<(u32, u32)>,
    plain: &mut Vec<String>,
    seen: &mut HashSet<(u32, u32)>,
) {
    let at = (node.loc.line, node.loc.col);
    match &node.value {
        NodeValue::Str(_) if tagged.contains(&at) => {
            seen.insert(at);
        }
        NodeValue::Str(s) if s.trim_start().starts_with(ENVELOPE) => plain.push(s.clone()),
        NodeValue::Seq(items) => items.iter().for_each(|i| walk(i, tagged, plain, seen)),
        NodeValue::Map(entries) => entries
            .iter()
            .for_each(|(_, v)| walk(v, tagged, plain, seen)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::is_plain;

    #[test]
    fn only_untagged_vault_text_is_plain() {
        let text = "tagged: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3131\nplain: |\n  $ANSIBLE_VAULT;1.2;AES256;x\n  3232\nlist: [\"$ANSIBLE_VAULT;1.1;AES256\\n3333\"]\n";
        crate::yaml::parse_str(Path::new("t.yml"), text).unwrap();
        assert!(!is_plain("$ANSIBLE_VAULT;1.1;AES256\n3131\n"));
        assert!(is_plain("$ANSIBLE_VAULT;1.2;AES256;x\n3232\n"));
        assert!(is_plain("$ANSIBLE_VAULT;1.1;AES256\n3333"));
    }
}

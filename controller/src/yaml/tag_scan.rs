//! Where a file's tagged scalars are. The reader drops the tags it does not know, so a
//! pass over the parser's events finds the scalars with a given tag (and the aliases to
//! them), by where they start, which the tree's node locations give too.

use std::collections::{HashMap, HashSet};

use granit_parser::{Event, Parser, Tag};

/// Where the scalars whose tag `wanted` accepts start (line, column; both from 1), aliases
/// to them included; or the place and message of a tag `wanted` refuses.
pub(super) fn scalars(
    text: &str,
    wanted: impl Fn(&Tag) -> Result<bool, String>,
) -> Result<HashSet<(u32, u32)>, (u32, u32, String)> {
    let mut at = HashSet::new();
    let mut anchors: HashMap<usize, bool> = HashMap::new();
    for event in Parser::new_from_str(text) {
        // A syntax error is the reader's to report, with its own message.
        let Ok((event, span)) = event else { break };
        let pos = (
            u32::try_from(span.start.line()).unwrap_or(u32::MAX),
            u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        );
        match event {
            Event::Scalar(_, _, anchor, tag) => {
                let tagged = match tag.as_deref() {
                    Some(t) => wanted(t).map_err(|m| (pos.0, pos.1, m))?,
                    None => false,
                };
                if anchor != 0 {
                    anchors.insert(anchor, tagged);
                }
                if tagged {
                    at.insert(pos);
                }
            }
            Event::Alias(anchor) if anchors.get(&anchor) == Some(&true) => {
                at.insert(pos);
            }
            _ => {}
        }
    }
    Ok(at)
}

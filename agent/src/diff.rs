//! Diffs as the operator sees them: unified text diffs and one-line state changes.

use std::time::Duration;

use similar::TextDiff;

use crate::wire::Diff;

/// Longest time spent computing one diff; past it the diff is coarser, never wrong.
const DIFF_TIMEOUT: Duration = Duration::from_secs(2);

/// A unified diff of `before` → `after` with three lines of context and
/// `--- before: PATH` / `+++ after: PATH` headers.
pub fn unified(path: &str, before: &str, after: &str) -> Diff {
    let text = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("before: {path}"), &format!("after: {path}"))
        .to_string();
    Diff {
        target: path.to_owned(),
        text,
    }
}

/// A diff of file bytes: unified when both sides are UTF-8, a size summary otherwise.
pub fn content(path: &str, before: Option<&[u8]>, after: &[u8]) -> Diff {
    let size = |b: Option<&[u8]>| b.map_or_else(|| "absent".to_owned(), |b| b.len().to_string());
    if before.map_or(0, <[u8]>::len) > MAX_DIFF_BYTES || after.len() > MAX_DIFF_BYTES {
        return skipped(path, before.map(|b| b.len() as u64), after.len());
    }
    let b = before.map(std::str::from_utf8);
    match (b, std::str::from_utf8(after)) {
        (None, Ok(a)) => unified(path, "", a),
        (Some(Ok(b)), Ok(a)) => unified(path, b, a),
        _ => Diff {
            target: path.to_owned(),
            text: format!("binary content: {} -> {} bytes", size(before), after.len()),
        },
    }
}

/// The size summary that stands for a content diff too large to compute, as Ansible's
/// `max_diff_size` does (a 150 MB text file would otherwise cost several times its size in
/// memory). `before` is `None` when the file does not exist.
pub fn skipped(path: &str, before: Option<u64>, after: usize) -> Diff {
    Diff {
        target: path.to_owned(),
        text: format!(
            "content: {} -> {after} bytes (diff skipped: larger than {MAX_DIFF_BYTES} bytes)",
            before.map_or_else(|| "absent".to_owned(), |b| b.to_string()),
        ),
    }
}

/// Above this many bytes on either side a content diff is skipped, as Ansible's default
/// `max_diff_size`.
pub const MAX_DIFF_BYTES: usize = 104_448;

/// A one-line change of a named piece of state: `mode: 0644 -> 0600`.
pub fn line(target: &str, what: &str, before: &str, after: &str) -> Diff {
    Diff {
        target: target.to_owned(),
        text: format!("{what}: {before} -> {after}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_has_headers_and_context() {
        let d = unified("/etc/x", "a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(
            d.text,
            "--- before: /etc/x\n+++ after: /etc/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
    }

    #[test]
    fn a_large_file_is_summarised_as_ansible_does() {
        let big = "x\n".repeat(MAX_DIFF_BYTES);
        let d = content("/srv/big.txt", Some(b"a\n"), big.as_bytes());
        assert_eq!(
            d.text,
            "content: 2 -> 208896 bytes (diff skipped: larger than 104448 bytes)"
        );
        let at_limit = "x".repeat(MAX_DIFF_BYTES);
        assert!(
            content("/a", None, at_limit.as_bytes())
                .text
                .starts_with("--- before: /a")
        );
    }

    #[test]
    fn binary_is_summarised() {
        let d = content("/bin/x", Some(&[0xff, 0]), &[1, 2, 3]);
        assert_eq!(d.text, "binary content: 2 -> 3 bytes");
    }
}

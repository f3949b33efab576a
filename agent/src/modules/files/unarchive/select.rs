//! Which members a task touches: `include` and `exclude` as Ansible's handlers apply them
//! (GNU tar's member-name rules for tar archives, unzip's and Python's `fnmatch` for zip),
//! and the `files` list Ansible returns.

use super::archive::Handler;

/// The task's `include`/`exclude` lists.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these members (and, for tar, what is below them).
    pub include: Vec<String>,
    /// Never these members.
    pub exclude: Vec<String>,
}

impl Selection {
    /// Whether the handler extracts the member called `name` (as stored in the archive).
    pub fn extracts(&self, handler: Handler, name: &str) -> bool {
        if handler.is_tar() {
            let excluded = self
                .exclude
                .iter()
                .any(|p| tar_exclude_matches(p.trim_end_matches('/'), name));
            let included = self.include.is_empty()
                || self.include.iter().any(|p| tar_include_matches(p, name));
            included && !excluded
        } else {
            let excluded = self.exclude.iter().any(|p| fnmatch(p, name));
            let included = self.include.is_empty() || self.include.iter().any(|p| fnmatch(p, name));
            included && !excluded
        }
    }

    /// The entries `name` adds to Ansible's `files` list (zip lists a member once per
    /// `include` pattern it matches, as Ansible does).
    pub fn listed(&self, handler: Handler, name: &str) -> usize {
        if handler.is_tar() {
            let shown = name.trim_start_matches('/');
            let excluded = self
                .exclude
                .iter()
                .any(|p| fnmatch(p.trim_end_matches('/'), shown));
            usize::from(self.extracts(handler, name) && !excluded)
        } else if self.include.is_empty() {
            usize::from(!self.exclude.iter().any(|p| fnmatch(p, name)))
        } else {
            self.include.iter().filter(|p| fnmatch(p, name)).count()
        }
    }

    /// The `include` names a tar archive lacks (GNU tar fails on them).
    pub fn missing_includes<'a>(&'a self, names: &[String]) -> Vec<&'a str> {
        self.include
            .iter()
            .filter(|p| !names.iter().any(|n| tar_include_matches(p, n)))
            .map(String::as_str)
            .collect()
    }
}

/// GNU tar's default for `--exclude`: wildcards that match `/` too, not anchored (the
/// pattern may match from any component on), and a match on a directory covers
/// everything below it.
fn tar_exclude_matches(pattern: &str, name: &str) -> bool {
    let name = name.trim_end_matches('/');
    let starts = std::iter::once(0).chain(name.match_indices('/').map(|(i, _)| i + 1));
    for start in starts {
        let rest = &name[start..];
        let ends = rest
            .match_indices('/')
            .map(|(i, _)| i)
            .chain(std::iter::once(rest.len()));
        for end in ends {
            if fnmatch(pattern, &rest[..end]) {
                return true;
            }
        }
    }
    false
}

/// GNU tar's default for member names given on its command line: literal, anchored, and
/// a directory's name selects what is below it.
fn tar_include_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('/');
    let name = name.trim_end_matches('/');
    name == pattern
        || name
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Python's `fnmatch.fnmatch` on POSIX: `*` and `?` match any character including `/`,
/// `[...]` and `[!...]` are character classes, case-sensitive.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches_from(&p, &n)
}

fn matches_from(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|i| matches_from(&p[1..], &n[i..])),
        Some('?') => !n.is_empty() && matches_from(&p[1..], &n[1..]),
        Some('[') => match class(&p[1..]) {
            Some((set, len)) => {
                !n.is_empty() && set.matches(n[0]) && matches_from(&p[1 + len..], &n[1..])
            }
            // An unclosed `[` is a literal, as in Python.
            None => n.first() == Some(&'[') && matches_from(&p[1..], &n[1..]),
        },
        Some(c) => n.first() == Some(c) && matches_from(&p[1..], &n[1..]),
    }
}

/// A `[...]` class: its members and how many pattern characters it took (with `]`).
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != self.negated
    }
}

fn class(p: &[char]) -> Option<(Class, usize)> {
    let mut i = 0;
    let negated = p.first() == Some(&'!');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    while i < p.len() {
        let c = p[i];
        if c == ']' && !first {
            return Some((Class { negated, ranges }, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            ranges.push((c, p[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_is_pythons() {
        assert!(fnmatch("*.txt", "dir/a.txt"));
        assert!(fnmatch("dir/*", "dir/sub/c"));
        assert!(fnmatch("[ab].txt", "b.txt"));
        assert!(!fnmatch("[!ab].txt", "b.txt"));
        assert!(fnmatch("a?c", "abc"));
        assert!(!fnmatch("a.txt", "dir/a.txt"));
        assert!(fnmatch("[x", "[x"));
    }

    #[test]
    fn tar_excludes_are_unanchored_and_cover_directories() {
        assert!(tar_exclude_matches("a.txt", "./a.txt"));
        assert!(tar_exclude_matches("a.txt", "dir/a.txt"));
        assert!(tar_exclude_matches("dir", "dir/sub/c.txt"));
        assert!(tar_exclude_matches("dir/s*", "./dir/sub/c.txt"));
        assert!(tar_exclude_matches("*.txt", "x/y.txt"));
        assert!(!tar_exclude_matches("di", "dir/b.txt"));
        assert!(!tar_exclude_matches("*.txt", "dir/"));
    }

    #[test]
    fn tar_includes_are_literal_and_recursive() {
        assert!(tar_include_matches("dir", "dir/"));
        assert!(tar_include_matches("dir/", "dir/b.txt"));
        assert!(!tar_include_matches("dir", "dirt/b.txt"));
        assert!(!tar_include_matches("dir/*", "dir/b.txt"));
    }

    #[test]
    fn zip_lists_a_member_once_per_matching_include() {
        let s = Selection {
            include: vec!["*.txt".into(), "a*".into()],
            exclude: vec![],
        };
        assert_eq!(s.listed(Handler::Zip, "a.txt"), 2);
        assert_eq!(s.listed(Handler::Zip, "b.bin"), 0);
        let s = Selection {
            include: vec![],
            exclude: vec!["dir/".into()],
        };
        assert!(s.extracts(Handler::Zip, "dir/a"));
        assert!(!s.extracts(Handler::Zip, "dir/"));
    }
}

//! Ansible host patterns: `all`, `*`, names, groups, globs, `~regex`, unions with `,` or `:`,
//! `:&` intersections, `:!` exclusions, and `@file` (one pattern per line).

use std::collections::HashSet;
use std::path::Path;

use indexmap::IndexSet;
use regex::Regex;

use super::model::Inventory;

/// Why a pattern selected nothing or could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// One term of the pattern matched no host or group.
    #[error("host pattern `{term}` matches no host or group{}", hint(.suggestion))]
    NoMatch {
        /// The term that matched nothing.
        term: String,
        /// The nearest host or group names.
        suggestion: Option<String>,
    },
    /// A `~regex` term is not a valid regular expression.
    #[error("host pattern `{term}` is not a valid regular expression: {reason}")]
    BadRegex {
        /// The term.
        term: String,
        /// The regex engine's complaint.
        reason: String,
    },
    /// An `@file` could not be read.
    #[error("cannot read host pattern file `{path}`: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!("; did you mean {s}?"))
        .unwrap_or_default()
}

impl Inventory {
    /// Hosts selected by `pattern`, in inventory order. Every term must match something.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, PatternError> {
        let terms = split(&expand_files(pattern)?);
        let (mut plain, mut and, mut not) = (Vec::new(), Vec::new(), Vec::new());
        for term in terms {
            if let Some(t) = term.strip_prefix('&') {
                and.push(t.to_owned());
            } else if let Some(t) = term.strip_prefix('!') {
                not.push(t.to_owned());
            } else {
                plain.push(term);
            }
        }
        if plain.is_empty() {
            plain.push("all".into());
        }
        // Sets, not vectors searched once per host: a pattern over every host of a big
        // inventory stays linear.
        let mut selected: IndexSet<String> = IndexSet::new();
        for term in &plain {
            selected.extend(self.match_term(term)?);
        }
        for term in &and {
            let keep: HashSet<String> = self.match_term(term)?.into_iter().collect();
            selected.retain(|h| keep.contains(h));
        }
        for term in &not {
            let drop: HashSet<String> = self.match_term(term)?.into_iter().collect();
            selected.retain(|h| !drop.contains(h));
        }
        // In the pattern's order, as Ansible (`hosts: db2,db1` starts with db2): which host
        // a `run_once` task runs on and how `serial` batches fall follow from it.
        Ok(selected.into_iter().collect())
    }

    /// Hosts matched by one term: an exact group or host name first, then a glob or regex
    /// over group and host names.
    fn match_term(&self, term: &str) -> Result<Vec<String>, PatternError> {
        if term == "all" || term == "*" {
            // The `all` group's hosts in Ansible's order; every host is under `all`.
            let mut hosts = self.group_hosts("all");
            if hosts.len() < self.hosts.len() {
                let listed: HashSet<&String> = hosts.iter().collect();
                let rest: Vec<String> = self
                    .hosts
                    .keys()
                    .filter(|h| !listed.contains(h))
                    .cloned()
                    .collect();
                hosts.extend(rest);
            }
            return Ok(hosts);
        }
        if self.groups.contains_key(term) {
            return Ok(self.group_hosts(term));
        }
        if self.hosts.contains_key(term) {
            return Ok(vec![term.to_owned()]);
        }
        if term == "localhost" {
            // Ansible's implicit localhost: the controller itself, over the local connection.
            return Ok(vec![term.to_owned()]);
        }
        let matcher = matcher_for(term)?;
        let mut hosts = Vec::new();
        if let Some(matcher) = matcher {
            for group in self.groups.keys().filter(|g| matcher.is_match(g)) {
                hosts.extend(self.group_hosts(group));
            }
            hosts.extend(self.hosts.keys().filter(|h| matcher.is_match(h)).cloned());
        }
        if hosts.is_empty() {
            return Err(PatternError::NoMatch {
                term: term.to_owned(),
                suggestion: self.suggest(term),
            });
        }
        hosts.dedup();
        Ok(hosts)
    }

    fn suggest(&self, term: &str) -> Option<String> {
        let mut scored: Vec<(f64, &str)> = self
            .groups
            .keys()
            .chain(self.hosts.keys())
            .map(|n| (strsim::jaro_winkler(term, n), n.as_str()))
            .filter(|(s, _)| *s > 0.8)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let names: Vec<String> = scored
            .iter()
            .take(3)
            .map(|(_, n)| format!("`{n}`"))
            .collect();
        (!names.is_empty()).then(|| names.join(" or "))
    }
}

/// A glob or regex for a term, or `None` for a plain name (which then matched nothing).
fn matcher_for(term: &str) -> Result<Option<Regex>, PatternError> {
    if let Some(re) = term.strip_prefix('~') {
        // Ansible uses Python's re.match: anchored at the start only.
        return Regex::new(&format!("^(?:{re})"))
            .map(Some)
            .map_err(|e| PatternError::BadRegex {
                term: term.to_owned(),
                reason: e.to_string(),
            });
    }
    if !term.contains(['*', '?', '[']) {
        return Ok(None);
    }
    Ok(Some(glob_to_regex(term)))
}

fn glob_to_regex(glob: &str) -> Regex {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let mut class = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    class.push(d);
                }
                let class = class
                    .strip_prefix('!')
                    .map_or(class.clone(), |c| format!("^{c}"));
                re.push('[');
                re.push_str(&class.replace('\\', "\\\\"));
                re.push(']');
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).unwrap_or_else(|_| {
        Regex::new(&format!("^{}$", regex::escape(glob))).expect("escaped text is a valid regex")
    })
}

/// Splits on `,` when present, else on `:` (Ansible's rule), dropping empty terms.
fn split(pattern: &str) -> Vec<String> {
    let sep = if pattern.contains(',') { ',' } else { ':' };
    pattern
        .split(sep)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Replaces `@file` terms with the file's lines (one pattern each), joined with `,`.
fn expand_files(pattern: &str) -> Result<String, PatternError> {
    if !pattern.contains('@') {
        return Ok(pattern.to_owned());
    }
    let mut out = Vec::new();
    for term in pattern.split(',') {
        let term = term.trim();
        let (prefix, rest) = match term.chars().next() {
            Some(c @ ('&' | '!')) => (c.to_string(), &term[1..]),
            _ => (String::new(), term),
        };
        match rest.strip_prefix('@') {
            Some(path) => {
                let text =
                    std::fs::read_to_string(Path::new(path)).map_err(|e| PatternError::File {
                        path: path.to_owned(),
                        reason: crate::diagnostic::io_reason(&e),
                    })?;
                out.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(|l| format!("{prefix}{l}")),
                );
            }
            None => out.push(term.to_owned()),
        }
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::inventory::{Inventory, PatternError};
    use crate::secrets::Secrets;

    fn inv() -> Inventory {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("inv.yml");
        std::fs::write(
            &file,
            "all:\n  hosts:\n    lonely:\n  children:\n    database:\n      hosts:\n        akira-db-01:\n        akira-db-02:\n    management:\n      hosts:\n        akira-mgmt-01:\n    primary:\n      hosts:\n        akira-db-01:\n",
        )
        .unwrap();
        crate::inventory::load(&[PathBuf::from(&file)], &Secrets::default()).unwrap()
    }

    fn sel(p: &str) -> Vec<String> {
        inv().select(p).unwrap()
    }

    #[test]
    fn names_groups_all() {
        assert_eq!(
            sel("all"),
            ["lonely", "akira-db-01", "akira-db-02", "akira-mgmt-01"]
        );
        assert_eq!(sel("*"), sel("all"));
        assert_eq!(sel("database"), ["akira-db-01", "akira-db-02"]);
        assert_eq!(sel("akira-mgmt-01"), ["akira-mgmt-01"]);
        assert_eq!(sel("ungrouped"), ["lonely"]);
    }

    #[test]
    fn globs_and_regex() {
        assert_eq!(sel("akira-db-*"), ["akira-db-01", "akira-db-02"]);
        assert_eq!(sel("akira-*-01"), ["akira-db-01", "akira-mgmt-01"]);
        assert_eq!(
            sel("~akira-(db|mgmt)-0[1]"),
            ["akira-db-01", "akira-mgmt-01"]
        );
        assert_eq!(sel("data*"), ["akira-db-01", "akira-db-02"]);
    }

    #[test]
    fn union_intersection_exclusion() {
        assert_eq!(
            sel("database,management"),
            ["akira-db-01", "akira-db-02", "akira-mgmt-01"]
        );
        assert_eq!(sel("database:management"), sel("database,management"));
        assert_eq!(sel("database:&primary"), ["akira-db-01"]);
        assert_eq!(sel("database:!primary"), ["akira-db-02"]);
        assert_eq!(sel("all:!database:!lonely"), ["akira-mgmt-01"]);
        assert_eq!(sel("!database"), ["lonely", "akira-mgmt-01"]);
    }

    #[test]
    fn each_host_once_in_the_patterns_order_as_ansible() {
        // Ansible evaluates the terms in order (exclusions and intersections last) and
        // keeps each host where it first appears.
        assert_eq!(
            sel("akira-mgmt-01,primary,database,akira-db-01"),
            ["akira-mgmt-01", "akira-db-01", "akira-db-02"]
        );
        assert_eq!(
            sel("all:!primary"),
            ["lonely", "akira-db-02", "akira-mgmt-01"]
        );
        assert_eq!(
            sel("akira-*:&all:!akira-db-02"),
            ["akira-db-01", "akira-mgmt-01"]
        );
        // The implicit `localhost` is where the pattern names it.
        assert_eq!(sel("akira-db-02,localhost"), ["akira-db-02", "localhost"]);
    }

    #[test]
    fn at_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("retry");
        std::fs::write(&file, "akira-db-02\n# comment\nakira-mgmt-01\n").unwrap();
        assert_eq!(
            sel(&format!("@{}", file.display())),
            ["akira-db-02", "akira-mgmt-01"]
        );
    }

    #[test]
    fn no_match_suggests_near_names() {
        let err = inv().select("managment").unwrap_err();
        assert_eq!(
            err.to_string(),
            "host pattern `managment` matches no host or group; did you mean `management`?"
        );
        assert!(matches!(
            inv().select("~(").unwrap_err(),
            PatternError::BadRegex { .. }
        ));
    }
}

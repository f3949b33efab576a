//! An `authorized_keys` file as ansible.posix's `authorized_key` module models it
//! (`parsekey`, `parseoptions`, `parsekeys`, `serialize` and `enforce_state` in
//! `plugins/modules/authorized_key.py`): each line an entry identified by its key blob (or,
//! for a comment or a line that is no key, by the line itself) with a rank that orders the
//! rewritten file.

/// Key types the module recognises.
const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

/// Key options in the order written (`no-pty,from="10.0.0.1"`); a name may repeat.
#[derive(Debug, Clone, Default)]
pub(super) struct Options(Vec<(String, Option<String>)>);

impl PartialEq for Options {
    /// As the module's `keydict` compares: per name, the same values in the same order;
    /// the order between names does not count.
    fn eq(&self, other: &Self) -> bool {
        group(self) == group(other)
    }
}

/// Options grouped by name, values in order.
fn group(o: &Options) -> std::collections::BTreeMap<&str, Vec<Option<&str>>> {
    let mut m: std::collections::BTreeMap<&str, Vec<Option<&str>>> = Default::default();
    for (k, v) in &o.0 {
        m.entry(k.as_str()).or_default().push(v.as_deref());
    }
    m
}

impl Options {
    /// `parseoptions`: split on commas outside double or single quotes; `name=value` or
    /// a bare flag.
    pub(super) fn parse(text: &str) -> Options {
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut quote: Option<char> = None;
        let chars: Vec<char> = text.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                // A quote opens only when it is closed later, as the module's pattern reads.
                None if (c == '"' || c == '\'') && chars[i + 1..].contains(&c) => quote = Some(c),
                None if c == ',' => {
                    parts.push(std::mem::take(&mut cur));
                    continue;
                }
                None => {}
            }
            cur.push(c);
        }
        parts.push(cur);
        Options(
            parts
                .into_iter()
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                    None => (p, None),
                })
                .collect(),
        )
    }

    fn render(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let mut s = self
            .0
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect::<Vec<_>>()
            .join(",");
        s.push(' ');
        s
    }
}

/// A key line's parts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Key {
    pub key_type: String,
    pub options: Options,
    /// Everything after the blob, words joined by one space (empty when none).
    pub comment: String,
}

/// One line of the file, or one key asked for.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// The key blob, or the whole line for a line kept as it is.
    pub id: String,
    /// `None`: a comment or a line that is no key, written back unchanged.
    pub key: Option<Key>,
    /// Where it goes in the rewritten file.
    pub rank: usize,
}

/// `parsekey`: `None` when the line holds no known key type, or nothing after it.
pub(super) fn parse_key(raw: &str, rank: usize) -> Option<Entry> {
    let raw = raw.replace("\\#", "#");
    let parts: Vec<&str> = raw
        .split([' ', '\t', '\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.first() == Some(&"#") {
        return Some(Entry {
            id: raw.clone(),
            key: None,
            rank,
        });
    }
    let at = parts.iter().position(|p| KEY_TYPES.contains(p))?;
    let blob = parts.get(at + 1)?;
    Some(Entry {
        id: (*blob).to_owned(),
        key: Some(Key {
            key_type: parts[at].to_owned(),
            options: Options::parse(&parts[..at].join(" ")),
            comment: parts[at + 2..].join(" "),
        }),
        rank,
    })
}

/// The file's entries in the module's dict order: a blob seen twice keeps its first
/// place with the later line's parts and rank, as a dict assignment does.
#[derive(Debug, Clone, Default)]
pub(super) struct KeyFile {
    pub entries: Vec<Entry>,
}

impl KeyFile {
    /// `parsekeys`: every line (with its end) an entry.
    pub(super) fn parse(text: &str) -> KeyFile {
        let mut file = KeyFile::default();
        for (rank, line) in text.split_inclusive('\n').enumerate() {
            let entry = parse_key(line, rank).unwrap_or_else(|| Entry {
                id: line.to_owned(),
                key: None,
                rank,
            });
            file.set(entry);
        }
        file
    }

    pub(super) fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// A dict assignment: in place when the id is there, else at the end.
    pub(super) fn set(&mut self, entry: Entry) {
        match self.entries.iter_mut().find(|e| e.id == entry.id) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    pub(super) fn remove(&mut self, id: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.id != id);
        self.entries.len() != before
    }

    /// `serialize`: entries sorted by rank (stable), keys as `OPTIONS TYPE BLOB COMMENT`.
    /// A kept line without a final newline gets one when a line follows it (the module
    /// would glue the next key onto it).
    pub(super) fn render(&self) -> String {
        let mut sorted: Vec<&Entry> = self.entries.iter().collect();
        sorted.sort_by_key(|e| e.rank);
        let mut out = String::new();
        for e in sorted {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            match &e.key {
                None => out.push_str(&e.id),
                Some(k) => out.push_str(&format!(
                    "{}{} {} {}\n",
                    k.options.render(),
                    k.key_type,
                    e.id,
                    k.comment
                )),
            }
        }
        out
    }
}

/// What an edit did, for messages.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Edits {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
}

impl Edits {
    pub(super) fn any(&self) -> bool {
        self.added + self.updated + self.removed > 0
    }

    /// `added 1 key, updated 1 key` (`would add ...` before the fact).
    pub(super) fn describe(&self, done: bool) -> String {
        let word = |n: usize, now: &str, then: &str| {
            let verb = if done { then } else { now };
            format!("{verb} {n} key{}", if n == 1 { "" } else { "s" })
        };
        let mut parts = Vec::new();
        if self.added > 0 {
            parts.push(word(self.added, "add", "added"));
        }
        if self.updated > 0 {
            parts.push(word(self.updated, "update", "updated"));
        }
        if self.removed > 0 {
            parts.push(word(self.removed, "remove", "removed"));
        }
        parts.join(", ")
    }
}

/// The wanted keys, after `key_options` and `comment` are applied.
pub(super) struct Wanted {
    pub entries: Vec<Entry>,
}

impl Wanted {
    /// The keys of `key` (blank lines and `#` lines skipped); an invalid one fails.
    pub(super) fn parse(
        key: &str,
        key_options: Option<&str>,
        comment: Option<&str>,
    ) -> Result<Wanted, String> {
        let mut entries = Vec::new();
        let lines = key.lines().filter(|l| !l.is_empty() && !l.starts_with('#'));
        for (rank, line) in lines.enumerate() {
            let mut e =
                parse_key(line, rank).ok_or_else(|| format!("invalid key specified: {line}"))?;
            if let Some(k) = e.key.as_mut() {
                if let Some(o) = key_options {
                    k.options = Options::parse(o);
                }
                if let Some(c) = comment {
                    k.comment = c.to_owned();
                }
            }
            entries.push(e);
        }
        Ok(Wanted { entries })
    }

    /// `enforce_state` on `file`: the edits made.
    pub(super) fn enforce(&self, file: &mut KeyFile, present: bool, exclusive: bool) -> Edits {
        let mut edits = Edits::default();
        let base = file.entries.len();
        let mut keep: Vec<&str> = Vec::new();
        for new in &self.entries {
            let found = file.get(&new.id).map(|e| e.key == new.key);
            if present {
                keep.push(&new.id);
                match found {
                    Some(true) => {}
                    Some(false) => {
                        // Replaced: removed, then added after the other keys, as the module does.
                        file.remove(&new.id);
                        edits.updated += 1;
                    }
                    None => edits.added += 1,
                }
                if found != Some(true) {
                    file.set(Entry {
                        rank: base + new.rank,
                        ..new.clone()
                    });
                }
            } else if found.is_some() && file.remove(&new.id) {
                edits.removed += 1;
            }
        }
        if present && exclusive {
            let before = file.entries.len();
            file.entries.retain(|e| keep.contains(&e.id.as_str()));
            edits.removed += before - file.entries.len();
        }
        edits
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyFile, Options, Wanted, parse_key};

    #[test]
    fn options_split_outside_quotes_and_compare_per_name() {
        let o = Options::parse("no-pty,from=\"10.0.0.1,10.0.0.2\",command='a,b'");
        assert_eq!(
            o.render(),
            "no-pty,from=\"10.0.0.1,10.0.0.2\",command='a,b' "
        );
        assert_eq!(Options::parse("a,b=1"), Options::parse("b=1,a"));
        assert_ne!(Options::parse("a"), Options::parse("a,a"));
    }

    #[test]
    fn lines_parse_as_the_module_parses_them() {
        let e = parse_key("no-pty ssh-ed25519 AAAA me@host  laptop\n", 3)
            .unwrap_or_else(|| panic!("no key"));
        assert_eq!(e.id, "AAAA");
        let k = e.key.unwrap_or_else(|| panic!("no key"));
        assert_eq!(
            (k.key_type.as_str(), k.comment.as_str()),
            ("ssh-ed25519", "me@host laptop")
        );
        assert!(parse_key("# comment", 0).is_some_and(|e| e.key.is_none()));
        assert!(parse_key("#comment", 0).is_none());
        assert!(parse_key("ssh-rsa", 0).is_none());
        assert!(parse_key("garbage", 0).is_none());
    }

    #[test]
    fn present_absent_exclusive() {
        let text = "# keys\nssh-rsa AAA a\nssh-ed25519 BBB b\n";
        let mut f = KeyFile::parse(text);
        let w = Wanted::parse("ssh-ed25519 CCC c\nssh-rsa AAA a", None, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let e = w.enforce(&mut f, true, false);
        assert_eq!((e.added, e.updated, e.removed), (1, 0, 0));
        assert_eq!(
            f.render(),
            "# keys\nssh-rsa AAA a\nssh-ed25519 BBB b\nssh-ed25519 CCC c\n"
        );
        // A changed comment or options: the key is rewritten after the others.
        let w =
            Wanted::parse("ssh-rsa AAA a", Some("no-pty"), None).unwrap_or_else(|e| panic!("{e}"));
        let mut f = KeyFile::parse(text);
        assert_eq!(w.enforce(&mut f, true, false).updated, 1);
        assert_eq!(
            f.render(),
            "# keys\nssh-ed25519 BBB b\nno-pty ssh-rsa AAA a\n"
        );
        // Exclusive removes every other line, comments too.
        let mut f = KeyFile::parse(text);
        let w =
            Wanted::parse("ssh-ed25519 BBB other", None, None).unwrap_or_else(|e| panic!("{e}"));
        let e = w.enforce(&mut f, true, true);
        assert_eq!((e.added, e.updated, e.removed), (0, 1, 2));
        assert_eq!(f.render(), "ssh-ed25519 BBB other\n");
        // Absent matches by blob alone.
        let mut f = KeyFile::parse(text);
        let w =
            Wanted::parse("ssh-rsa AAA different", None, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.enforce(&mut f, false, false).removed, 1);
        assert_eq!(f.render(), "# keys\nssh-ed25519 BBB b\n");
        assert!(
            Wanted::parse("nonsense", None, None)
                .is_err_and(|e| e == "invalid key specified: nonsense")
        );
    }
}

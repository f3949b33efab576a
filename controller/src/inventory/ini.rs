//! Ansible INI inventories, read as ansible-core 2.19's `ini` inventory plugin
//! (`plugins/inventory/ini.py`) reads them.
//!
//! ```ini
//! web1 ansible_port=2222     # before any section: group `ungrouped`
//! [web]
//! web-[01:03]:8022 tier=1    # a range, a port, typed vars (`1` is an integer)
//! [web:vars]
//! http_port=8080
//! [prod:children]
//! web
//! ```
//!
//! Host lines are split like a shell line (quotes vanish, an unquoted `#` starts a comment);
//! a `:vars` line is `key=value` with everything after the first `=` the value (comments
//! included). Both kinds of value then go through Python's `ast.literal_eval`
//! ([`py_literal`](super::py_literal)): `1`, `True`, `[1, 2]` are typed, `yes`, `true` and
//! anything else stay strings. A group may be named in `:children` before its own section.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::address::{self, Port};
use super::ini_text::{self, Decoded};
use super::model::{Group, Host, Inventory};
use super::py_literal::{self, LiteralError};
use super::shlex::{self, SplitError};
use crate::diagnostic::{Diagnostic, Loc, did_you_mean};

/// What the lines of a section declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hosts,
    Children,
    Vars,
}

/// A group used before its own section: by `[name:vars]`, or in some `[parent:children]`.
struct Pending {
    loc: Loc,
    kind: Kind,
    parents: Vec<String>,
}

/// Reads INI inventory `bytes` (the contents of `path`) into `inv`. Returns every value it
/// set, for a vault-encrypted file's secrets.
pub(super) fn read(
    inv: &mut Inventory,
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<Value>, Diagnostic> {
    for name in ["all", "ungrouped"] {
        if !inv.groups.contains_key(name) {
            inv.groups.insert(name.into(), Group::new(name, None));
        }
    }
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    for group in inv.groups.values() {
        for child in &group.children {
            parents
                .entry(child.clone())
                .or_default()
                .push(group.name.clone());
        }
    }
    let mut reader = Reader {
        inv,
        file: Arc::from(path.display().to_string()),
        parents,
        pending: IndexMap::new(),
        group: "ungrouped".into(),
        kind: Kind::Hosts,
        values: Vec::new(),
    };
    reader.read(bytes)?;
    Ok(reader.values)
}

struct Reader<'a> {
    inv: &'a mut Inventory,
    file: Arc<str>,
    /// Child group to its parents, kept beside the inventory for cycle checks.
    parents: HashMap<String, Vec<String>>,
    /// In first-use order, as Ansible reports the first one left at the end.
    pending: IndexMap<String, Pending>,
    /// The current section's group and kind (hosts before any section are `ungrouped`).
    group: String,
    kind: Kind,
    values: Vec<Value>,
}

/// Where a line's content starts, so columns count from the line's first character.
#[derive(Clone)]
struct At {
    file: Arc<str>,
    line: u32,
    lead: usize,
}

impl At {
    /// The location of the character at index `offset` of the stripped line.
    fn col(&self, offset: usize) -> Loc {
        let col = u32::try_from(self.lead + offset + 1).unwrap_or(u32::MAX);
        Loc::new(self.file.clone(), self.line, col)
    }
}

impl Reader<'_> {
    fn read(&mut self, bytes: &[u8]) -> Result<(), Diagnostic> {
        let decoded = Decoded::new(bytes);
        for (index, line) in decoded.lines().iter().enumerate() {
            let (text, lead) = ini_text::strip(line.text);
            if text.is_empty() || text.starts_with(['#', ';']) {
                continue;
            }
            let at = At {
                file: self.file.clone(),
                line: u32::try_from(index + 1).unwrap_or(u32::MAX),
                lead,
            };
            if line.not_utf8 {
                return Err(Diagnostic::new(at.col(0), "this line is not UTF-8 text"));
            }
            if index == 0 && text.starts_with('\u{feff}') {
                return Err(Diagnostic::new(
                    at.col(0),
                    "the file starts with a byte order mark",
                )
                .with_help(
                    "Ansible's INI reader takes the mark as part of the first line; save the file as UTF-8 without BOM",
                ));
            }
            self.line(text, &at)?;
        }
        self.check_pending()
    }

    fn line(&mut self, text: &str, at: &At) -> Result<(), Diagnostic> {
        if let Some((name, tag)) = ini_text::section(text) {
            let kind = match tag.unwrap_or("hosts") {
                "hosts" => Kind::Hosts,
                "children" => Kind::Children,
                "vars" => Kind::Vars,
                other => {
                    return Err(Diagnostic::new(
                        at.col(name.chars().count() + 2),
                        format!("section `[{name}:{other}]` has unknown type `{other}`"),
                    )
                    .with_help(
                        did_you_mean(other, ["hosts", "children", "vars"]).unwrap_or_else(|| {
                            "a section is `[group]`, `[group:children]` or `[group:vars]`".into()
                        }),
                    ));
                }
            };
            return self.section(name, kind, at.col(0));
        }
        if text.starts_with('[') && text.ends_with(']') {
            return Err(
                Diagnostic::new(at.col(0), format!("invalid section `{text}`")).with_help(
                    "a section is `[group]`, `[group:children]` or `[group:vars]`, with no spaces inside",
                ),
            );
        }
        match self.kind {
            Kind::Hosts => self.host_line(text, at),
            Kind::Vars => self.var_line(text, at),
            Kind::Children => self.child_line(text, at),
        }
    }

    fn section(&mut self, name: &str, kind: Kind, loc: Loc) -> Result<(), Diagnostic> {
        self.group = name.to_owned();
        self.kind = kind;
        if !self.inv.groups.contains_key(name) {
            // `[name:vars]` alone does not declare a group: it must be declared later.
            if kind == Kind::Vars && !self.pending.contains_key(name) {
                self.pending.insert(
                    name.to_owned(),
                    Pending {
                        loc: loc.clone(),
                        kind,
                        parents: Vec::new(),
                    },
                );
            }
            self.inv
                .groups
                .insert(name.to_owned(), Group::new(name, Some(loc.clone())));
        }
        if kind != Kind::Vars
            && let Some(pending) = self.pending.get(name)
        {
            match pending.kind {
                Kind::Children => self.add_pending_children(name, &loc)?,
                _ => {
                    self.pending.shift_remove(name);
                }
            }
        }
        Ok(())
    }

    /// A group named in `:children` sections before its own: link it to those parents.
    fn add_pending_children(&mut self, group: &str, loc: &Loc) -> Result<(), Diagnostic> {
        let Some(pending) = self.pending.shift_remove(group) else {
            return Ok(());
        };
        for parent in pending.parents {
            self.add_child(&parent, group, loc)?;
            if self
                .pending
                .get(&parent)
                .is_some_and(|p| p.kind == Kind::Children)
            {
                self.add_pending_children(&parent, loc)?;
            }
        }
        Ok(())
    }

    /// `host [key=value ...]`: the host (a name, a range, an address, maybe `:port`) joins
    /// the current group and gets the vars.
    fn host_line(&mut self, text: &str, at: &At) -> Result<(), Diagnostic> {
        let words = shlex::split(text).map_err(|e| match e {
            SplitError::NoClosingQuotation(i) => {
                Diagnostic::new(at.col(i), "this quote is never closed")
            }
            SplitError::NoEscapedCharacter(i) => {
                Diagnostic::new(at.col(i), "the host line ends with a backslash")
            }
        })?;
        let Some((first, rest)) = words.split_first() else {
            return Ok(());
        };
        let host_at = at.col(first.start);
        let (names, port) = address::expand_pattern(&first.text)
            .map_err(|m| Diagnostic::new(host_at.clone(), m))?;
        if ini_text::strip(&first.text).0.ends_with(':') && port.is_none() {
            return Err(Diagnostic::new(
                host_at,
                format!(
                    "invalid host pattern `{}`: a trailing `:` is for a port",
                    first.text
                ),
            )
            .with_help(
                "is this a YAML inventory? YAML inventories are mappings: `all:` then `hosts:`",
            ));
        }
        if names.iter().any(|n| ini_text::strip(n).0 == "---") {
            return Err(Diagnostic::new(host_at, "invalid host pattern `---`")
                .with_help("`---` starts a YAML document; YAML inventories are mappings: `all:` then `hosts:`"));
        }
        let mut vars = Map::new();
        for word in rest {
            let Some((key, value)) = word.text.split_once('=') else {
                return Err(Diagnostic::new(
                    at.col(word.start),
                    format!("expected `key=value` after the host, found `{}`", word.text),
                ));
            };
            let value = typed(value, key, at.col(word.start))?;
            self.values.push(value.clone());
            vars.insert(key.to_owned(), value);
        }
        for name in names {
            if name.is_empty() {
                return Err(Diagnostic::new(host_at, "empty host name"));
            }
            self.add_host(&name, port.as_ref(), &host_at);
            for (key, value) in &vars {
                self.set_variable(&name, key, value.clone(), &host_at)?;
            }
        }
        Ok(())
    }

    /// `key=value` in `[group:vars]`.
    fn var_line(&mut self, text: &str, at: &At) -> Result<(), Diagnostic> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(Diagnostic::new(
                at.col(0),
                format!(
                    "expected `key=value` in `[{}:vars]`, found `{text}`",
                    self.group
                ),
            ));
        };
        let (key, _) = ini_text::strip(key);
        let (value, lead) = ini_text::strip(value);
        let loc = at.col(
            text.split_once('=')
                .map_or(0, |(k, _)| k.chars().count() + 1)
                + lead,
        );
        let value = typed(value, key, loc.clone())?;
        self.values.push(value.clone());
        let group = self.group.clone();
        self.set_variable(&group, key, value, &loc)
    }

    /// A group name in `[parent:children]`; it may be declared later.
    fn child_line(&mut self, text: &str, at: &At) -> Result<(), Diagnostic> {
        let child = ini_text::group_name(text).ok_or_else(|| {
            Diagnostic::new(
                at.col(0),
                format!(
                    "expected a group name in `[{}:children]`, found `{text}`",
                    self.group
                ),
            )
        })?;
        let parent = self.group.clone();
        if self.inv.groups.contains_key(child) {
            return self.add_child(&parent, child, &at.col(0));
        }
        match self.pending.get_mut(child) {
            Some(pending) => pending.parents.push(parent),
            None => {
                self.pending.insert(
                    child.to_owned(),
                    Pending {
                        loc: at.col(0),
                        kind: Kind::Children,
                        parents: vec![parent],
                    },
                );
            }
        }
        Ok(())
    }

    fn add_host(&mut self, name: &str, port: Option<&Port>, loc: &Loc) {
        if !self.inv.hosts.contains_key(name) {
            // The port is set when the host is first seen, as `Host(name, port)` does.
            let mut vars = Map::new();
            if let Some(port) = port.filter(|p| address::is_set(p)) {
                vars.insert("ansible_port".into(), port.clone());
            }
            self.inv.hosts.insert(
                name.to_owned(),
                Host {
                    name: name.to_owned(),
                    vars,
                    file_vars: Map::new(),
                    loc: Some(loc.clone()),
                },
            );
        }
        if let Some(group) = self.inv.groups.get_mut(&self.group) {
            group.hosts.insert(name.to_owned());
        }
    }

    /// `InventoryData.set_variable`: a group of that name takes the var before a host does.
    fn set_variable(
        &mut self,
        entity: &str,
        key: &str,
        value: Value,
        loc: &Loc,
    ) -> Result<(), Diagnostic> {
        if let Some(group) = self.inv.groups.get_mut(entity) {
            group
                .set_var(key.to_owned(), value)
                .map_err(|m| Diagnostic::new(loc.clone(), m))?;
        } else if let Some(host) = self.inv.hosts.get_mut(entity) {
            host.vars.insert(key.to_owned(), value);
        }
        Ok(())
    }

    fn add_child(&mut self, parent: &str, child: &str, loc: &Loc) -> Result<(), Diagnostic> {
        if child == "all" {
            // Every group ends up under `all`, so this is always a cycle (Ansible finds it
            // when it links parentless groups to `all`).
            return Err(Diagnostic::new(
                loc.clone(),
                format!("group `all` cannot be a child of `{parent}`: every group is under `all`"),
            ));
        }
        if child == "ungrouped" && parent != "all" {
            return Err(Diagnostic::new(
                loc.clone(),
                format!("group `ungrouped` cannot be a child of `{parent}`"),
            )
            .with_help("Ansible then drops every host that is only in `ungrouped`; put those hosts in a named group"));
        }
        if parent == child {
            return Err(Diagnostic::new(
                loc.clone(),
                format!("group `{child}` cannot be its own child"),
            ));
        }
        if self
            .inv
            .groups
            .get(parent)
            .is_some_and(|g| g.children.contains(child))
        {
            return Ok(());
        }
        if self.ancestors(parent).contains(child) {
            return Err(Diagnostic::new(
                loc.clone(),
                format!(
                    "group `{child}` as a child of `{parent}` makes a cycle: `{child}` is already above `{parent}`"
                ),
            ));
        }
        if let Some(group) = self.inv.groups.get_mut(parent) {
            group.children.insert(child.to_owned());
        }
        self.parents
            .entry(child.to_owned())
            .or_default()
            .push(parent.to_owned());
        Ok(())
    }

    fn ancestors(&self, group: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut todo = vec![group.to_owned()];
        while let Some(g) = todo.pop() {
            for parent in self.parents.get(&g).into_iter().flatten() {
                if seen.insert(parent.clone()) {
                    todo.push(parent.clone());
                }
            }
        }
        seen
    }

    /// Ansible reports the first group still used but never declared.
    fn check_pending(&self) -> Result<(), Diagnostic> {
        let Some((name, pending)) = self.pending.first() else {
            return Ok(());
        };
        Err(match pending.kind {
            Kind::Children => {
                let parent = pending.parents.last().map_or("", String::as_str);
                Diagnostic::new(
                    pending.loc.clone(),
                    format!("`[{parent}:children]` names group `{name}`, which is never declared"),
                )
                .with_help(format!(
                    "declare it with a `[{name}]` section (it may be empty)"
                ))
            }
            _ => Diagnostic::new(
                pending.loc.clone(),
                format!("section `[{name}:vars]` is for group `{name}`, which is never declared"),
            )
            .with_help(format!(
                "declare it with a `[{name}]` or `[{name}:children]` section (it may be empty)"
            )),
        })
    }
}

/// A value through `ast.literal_eval`, with errors at `loc`.
fn typed(text: &str, key: &str, loc: Loc) -> Result<Value, Diagnostic> {
    py_literal::parse_value(text).map_err(|e| match e {
        LiteralError::Unhashable(kind) => Diagnostic::new(
            loc,
            format!("the value of `{key}` puts a {kind} in a set or a dict key"),
        )
        .with_help("Ansible fails on this too (Python's `TypeError: unhashable type`); quote the value to keep it a string"),
        LiteralError::Unrepresentable(what) => Diagnostic::new(
            loc,
            format!("the value of `{key}` holds {what}, which dr cannot keep as a variable"),
        )
        .with_help(format!("quote it to keep it a string: `{key}=\"'...'\"`")),
    })
}

#[cfg(test)]
mod tests;

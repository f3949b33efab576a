//! Repeated mapping keys, found as a mapping is read.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use super::node::{Node, NodeValue};
use crate::diagnostic::Loc;

/// The scalar keys of one mapping so far, to refuse a repeated one (PyYAML keeps the last
/// value and Ansible warns; dr refuses, since either value may be the one meant). Small
/// mappings are scanned; from [`SeenKeys::INDEXED`] keys on, their hashes are indexed.
#[derive(Default)]
pub(super) struct SeenKeys {
    by_hash: HashMap<u64, Vec<usize>>,
}

impl SeenKeys {
    const INDEXED: usize = 16;

    /// Where `key` was first given among `entries`, if it was. Merge keys (`<<`) may repeat.
    pub(super) fn first_of<'a>(&self, key: &Node, entries: &'a [(Node, Node)]) -> Option<&'a Loc> {
        if !is_checked(key) {
            return None;
        }
        let same = |i: &usize| entries[*i].0.value == key.value;
        if entries.len() < Self::INDEXED {
            return (0..entries.len()).find(same).map(|i| &entries[i].0.loc);
        }
        let found = self.by_hash.get(&hash(&key.value))?;
        found.iter().copied().find(same).map(|i| &entries[i].0.loc)
    }

    /// Records `key`, about to be the entry after `entries`. At [`SeenKeys::INDEXED`]
    /// entries the keys so far are indexed too.
    pub(super) fn add(&mut self, key: &Node, entries: &[(Node, Node)]) {
        let index = entries.len();
        if index + 1 < Self::INDEXED {
            return;
        }
        if index + 1 == Self::INDEXED {
            for (i, (k, _)) in entries.iter().enumerate() {
                self.index(k, i);
            }
        }
        self.index(key, index);
    }

    fn index(&mut self, key: &Node, at: usize) {
        if is_checked(key) {
            self.by_hash.entry(hash(&key.value)).or_default().push(at);
        }
    }
}

fn is_checked(key: &Node) -> bool {
    match &key.value {
        NodeValue::Str(s) => s != "<<",
        NodeValue::Null | NodeValue::Bool(_) | NodeValue::Int(_) | NodeValue::Float(_) => true,
        NodeValue::Seq(_) | NodeValue::Map(_) => false,
    }
}

fn hash(value: &NodeValue) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    match value {
        NodeValue::Str(s) => s.hash(&mut h),
        NodeValue::Int(i) => i.hash(&mut h),
        NodeValue::Bool(b) => b.hash(&mut h),
        // -0.0 == 0.0: one hash for both.
        NodeValue::Float(f) => (f + 0.0).to_bits().hash(&mut h),
        NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => {}
    }
    h.finish()
}

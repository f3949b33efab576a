//! The links between hosts and groups by position, computed once per inventory, so that a
//! host's groups and a group's depth cost what the host's own groups cost, not a walk over
//! every group: asked for every host (`hostvars`, `dr inventory list`), the walk made
//! reading an inventory quadratic.

use indexmap::IndexMap;

use super::model::{Group, Host};

/// Positions (in the inventory's `groups` and `hosts` maps) of what links to what.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    /// Per host: the groups that list it among their hosts, in group order.
    direct: Vec<Vec<usize>>,
    /// Per group: itself and every group above it, through any number of parents, sorted.
    above: Vec<Vec<usize>>,
    /// Per group: its depth (see [`Index::depth`]).
    depth: Vec<usize>,
}

impl Index {
    /// Links `groups` and `hosts` by position. Names a group lists that are not in the maps
    /// are left out (the loaders add every host and group they link).
    pub(crate) fn new(hosts: &IndexMap<String, Host>, groups: &IndexMap<String, Group>) -> Self {
        let mut parents = vec![Vec::new(); groups.len()];
        let mut direct = vec![Vec::new(); hosts.len()];
        for (at, group) in groups.values().enumerate() {
            for child in &group.children {
                if let Some(c) = groups.get_index_of(child) {
                    parents[c].push(at);
                }
            }
            for host in &group.hosts {
                if let Some(h) = hosts.get_index_of(host) {
                    direct[h].push(at);
                }
            }
        }
        let all = groups.get_index_of("all");
        let depth = depths(&parents, all);
        let above = above(&parents);
        Index {
            direct,
            above,
            depth,
        }
    }

    /// The groups holding the host at position `host` directly.
    pub(crate) fn direct(&self, host: usize) -> &[usize] {
        &self.direct[host]
    }

    /// `groups` and all their ancestors, each once, sorted by position (group order).
    pub(crate) fn with_ancestors(&self, groups: &[usize]) -> Vec<usize> {
        let mut out: Vec<usize> = groups
            .iter()
            .flat_map(|&g| self.above[g].iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Depth of group `group`: `all` is 0, a group without parents 1, any other one more
    /// than its deepest parent.
    pub(crate) fn depth(&self, group: usize) -> usize {
        self.depth[group]
    }
}

/// Every group with the groups above it, each walked once with a shared mark array.
fn above(parents: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut mark = vec![usize::MAX; parents.len()];
    let mut todo = Vec::new();
    (0..parents.len())
        .map(|start| {
            let mut found = Vec::new();
            todo.push(start);
            while let Some(g) = todo.pop() {
                if mark[g] == start {
                    continue;
                }
                mark[g] = start;
                found.push(g);
                todo.extend(parents[g].iter().copied());
            }
            found.sort_unstable();
            found
        })
        .collect()
}

/// Every group's depth. Without cycles each group's depth is computed once from its
/// parents'. With a cycle (a YAML inventory can write one), each group's depth is walked
/// on its own, a group met again on the walk counting 0, exactly as it was before there was
/// an index.
fn depths(parents: &[Vec<usize>], all: Option<usize>) -> Vec<usize> {
    let mut memo: Vec<Option<usize>> = vec![None; parents.len()];
    let mut on_path = vec![false; parents.len()];
    let mut acyclic = true;
    for g in 0..parents.len() {
        if memo[g].is_none() && !memoized(g, parents, all, &mut memo, &mut on_path) {
            acyclic = false;
            break;
        }
    }
    if acyclic {
        return memo.into_iter().map(|d| d.unwrap_or(0)).collect();
    }
    let mut path = vec![false; parents.len()];
    (0..parents.len())
        .map(|g| walked(g, parents, all, &mut path))
        .collect()
}

/// Memoized depth of `g`; false when a cycle is found (then `memo` is not to be used).
fn memoized(
    g: usize,
    parents: &[Vec<usize>],
    all: Option<usize>,
    memo: &mut [Option<usize>],
    on_path: &mut [bool],
) -> bool {
    if Some(g) == all {
        memo[g] = Some(0);
        return true;
    }
    on_path[g] = true;
    let mut depth = 1;
    for &p in &parents[g] {
        if on_path[p] {
            return false;
        }
        if memo[p].is_none() && !memoized(p, parents, all, memo, on_path) {
            return false;
        }
        depth = depth.max(memo[p].unwrap_or(0) + 1);
    }
    on_path[g] = false;
    memo[g] = Some(depth);
    true
}

/// Depth of `g` walked afresh; a group already on the walk (`path`) counts 0.
fn walked(g: usize, parents: &[Vec<usize>], all: Option<usize>, path: &mut [bool]) -> usize {
    if Some(g) == all || path[g] {
        return 0;
    }
    path[g] = true;
    let depth = parents[g]
        .iter()
        .map(|&p| walked(p, parents, all, path) + 1)
        .max()
        .unwrap_or(1);
    path[g] = false;
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depths_of_a_dag_and_of_a_cycle() {
        // 0 = all; 1 and 2 under all; 3 under 1 and 2; 4 under 3 and all.
        let dag = vec![vec![], vec![0], vec![0], vec![1, 2], vec![3, 0]];
        assert_eq!(depths(&dag, Some(0)), [0, 1, 1, 2, 3]);
        // 1 under all and 2; 2 under 1: each walked on its own counts the other once.
        let cycle = vec![vec![], vec![0, 2], vec![1]];
        assert_eq!(depths(&cycle, Some(0)), [0, 2, 2]);
        // No `all`: a group without parents is 1 deep.
        assert_eq!(depths(&[vec![], vec![0]], None), [1, 2]);
    }
}

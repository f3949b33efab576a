//! Compiling playbooks and an inventory into a [`Dag`].

use std::collections::BTreeSet;

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Loc, did_you_mean};
use crate::inventory::{Inventory, PatternError};
use crate::playbook::{PlaySpec, Playbook};

/// A play as the DAG sees it.
#[derive(Debug, Clone)]
pub struct PlayInfo {
    /// Index of the playbook in the run.
    pub book: usize,
    /// The play's name.
    pub name: String,
    /// Where it is defined.
    pub loc: Loc,
    /// Plays (indices) this play waits for, directly.
    pub after: Vec<usize>,
    /// Hosts this play runs on, after `--limit`.
    pub hosts: Vec<String>,
}

/// One unit of work: one play on one host.
#[derive(Debug, Clone)]
pub struct DagNode {
    /// Index into [`Dag::plays`].
    pub play: usize,
    /// Inventory host name.
    pub host: String,
    /// Nodes that must succeed first.
    pub deps: Vec<usize>,
}

/// The compiled run.
#[derive(Debug, Clone)]
pub struct Dag {
    /// Every play of every playbook, in order.
    pub plays: Vec<PlayInfo>,
    /// Nodes; a play's nodes are contiguous, in inventory host order.
    pub nodes: Vec<DagNode>,
    /// Stages: sets of nodes that may run at once, in order.
    pub stages: Vec<Vec<usize>>,
}

/// Compiles plays into a DAG. `limit` is the `--limit` pattern, if any; `extra` holds the
/// `-e` vars, used with the play's vars to render templated `hosts:`.
pub fn compile(
    books: &[Playbook],
    inv: &Inventory,
    limit: Option<&str>,
    extra: &Map<String, Value>,
) -> Result<Dag, Diagnostic> {
    let limited = match limit {
        Some(pattern) => Some(inv.select(pattern).map_err(|e| limit_error(&e))?),
        None => None,
    };
    let all: Vec<(usize, &PlaySpec)> = books
        .iter()
        .enumerate()
        .flat_map(|(b, book)| book.plays.iter().map(move |p| (b, p)))
        .collect();
    let mut plays = Vec::with_capacity(all.len());
    for (i, (book, play)) in all.iter().enumerate() {
        let pattern = super::hosts_template::render(&play.hosts, play, inv, extra)?;
        let mut hosts = inv.select(&pattern).map_err(|e| {
            Diagnostic::new(play.hosts_loc.clone(), e.to_string())
                .with_help("check the inventory (`dr inventory graph`) or the play's `hosts:`")
        })?;
        if let Some(limited) = &limited {
            hosts.retain(|h| limited.contains(h));
        }
        plays.push(PlayInfo {
            book: *book,
            name: play.name.clone(),
            loc: play.loc.clone(),
            after: resolve_after(i, play, &all)?,
            hosts,
        });
    }
    check_cycles(&plays)?;
    let waits = transitive_waits(&plays);
    let mut nodes = Vec::new();
    let mut first_node = vec![0; plays.len()];
    for (i, play) in plays.iter().enumerate() {
        first_node[i] = nodes.len();
        for host in &play.hosts {
            nodes.push(DagNode {
                play: i,
                host: host.clone(),
                deps: Vec::new(),
            });
        }
    }
    for node in &mut nodes {
        node.deps = waits[node.play]
            .iter()
            .flat_map(|&p| first_node[p]..first_node[p] + plays[p].hosts.len())
            .collect();
    }
    let stages = stages_of(&nodes);
    Ok(Dag {
        plays,
        nodes,
        stages,
    })
}

fn limit_error(err: &PatternError) -> Diagnostic {
    Diagnostic::new(Loc::new("--limit".into(), 0, 0), err.to_string())
        .with_help("`dr inventory list` shows the hosts and groups")
}

/// Direct dependencies of play `i`: its `after:` list, or else the play before it.
fn resolve_after(
    i: usize,
    play: &PlaySpec,
    all: &[(usize, &PlaySpec)],
) -> Result<Vec<usize>, Diagnostic> {
    let Some(names) = &play.after else {
        return Ok(if i == 0 { Vec::new() } else { vec![i - 1] });
    };
    let mut deps = Vec::new();
    for (name, loc) in names {
        let found: Vec<usize> = all
            .iter()
            .enumerate()
            .filter(|(_, (_, p))| &p.name == name)
            .map(|(j, _)| j)
            .collect();
        if found.is_empty() {
            let help = did_you_mean(name, all.iter().map(|(_, p)| p.name.as_str()))
                .unwrap_or_else(|| "`after:` lists the names of other plays".into());
            return Err(Diagnostic::new(
                loc.clone(),
                format!("`after:` names unknown play `{name}`"),
            )
            .with_help(help));
        }
        deps.extend(found);
    }
    deps.sort_unstable();
    deps.dedup();
    Ok(deps)
}

/// A cycle among plays is an error listing every play in it.
fn check_cycles(plays: &[PlayInfo]) -> Result<(), Diagnostic> {
    let mut graph = DiGraph::<usize, ()>::new();
    let ids: Vec<_> = (0..plays.len()).map(|i| graph.add_node(i)).collect();
    for (i, play) in plays.iter().enumerate() {
        for &dep in &play.after {
            graph.add_edge(ids[dep], ids[i], ());
        }
    }
    for scc in tarjan_scc(&graph) {
        let self_loop = scc.len() == 1 && plays[graph[scc[0]]].after.contains(&graph[scc[0]]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let mut members: Vec<usize> = scc.iter().map(|n| graph[*n]).collect();
        members.sort_unstable();
        let names: Vec<String> = members
            .iter()
            .map(|&m| format!("`{}`", plays[m].name))
            .collect();
        let first = &plays[members[0]];
        let mut diag = Diagnostic::new(
            first.loc.clone(),
            format!(
                "plays wait for each other in a cycle: {} → {}",
                names.join(" → "),
                names[0]
            ),
        )
        .with_help("remove one of these names from an `after:` list");
        for &m in &members[1..] {
            diag = diag.with_related(plays[m].loc.clone(), format!("play `{}`", plays[m].name));
        }
        return Err(diag);
    }
    Ok(())
}

/// For each play, every play it waits for directly or through others. Plays with no hosts
/// still pass their waits on, so `--limit` keeps the order of what remains.
fn transitive_waits(plays: &[PlayInfo]) -> Vec<BTreeSet<usize>> {
    let mut waits: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); plays.len()];
    // Dependencies may point forward (`after:` a later play), so iterate to a fixed point.
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..plays.len() {
            let mut next = waits[i].clone();
            for &d in &plays[i].after {
                next.insert(d);
                next.extend(waits[d].iter().copied());
            }
            if next != waits[i] {
                waits[i] = next;
                changed = true;
            }
        }
    }
    for set in &mut waits {
        set.retain(|&p| !plays[p].hosts.is_empty());
    }
    waits
}

/// Kahn levels: a node's stage is one past its deepest dependency.
fn stages_of(nodes: &[DagNode]) -> Vec<Vec<usize>> {
    let mut level = vec![usize::MAX; nodes.len()];
    fn level_of(i: usize, nodes: &[DagNode], level: &mut [usize]) -> usize {
        if level[i] != usize::MAX {
            return level[i];
        }
        let l = nodes[i]
            .deps
            .iter()
            .map(|&d| level_of(d, nodes, level) + 1)
            .max()
            .unwrap_or(0);
        level[i] = l;
        l
    }
    let mut stages: Vec<Vec<usize>> = Vec::new();
    for i in 0..nodes.len() {
        let l = level_of(i, nodes, &mut level);
        if stages.len() <= l {
            stages.resize(l + 1, Vec::new());
        }
        stages[l].push(i);
    }
    stages
}

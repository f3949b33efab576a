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
    /// The play names what it waits for (`after:`, dr's extension): it runs only where
    /// every node of those plays succeeded. Without it, the play waits for the play before
    /// it as ansible-playbook orders plays (see [`crate::run::gate`]).
    pub explicit_after: bool,
    /// Hosts this play runs on, after `--limit`.
    pub hosts: Vec<String>,
    /// Where its hosts wait for each other or another host (filled by
    /// [`super::annotate_sync_points`]).
    pub sync_points: Vec<super::SyncPointInfo>,
    /// Its hosts are chosen when the run gets to it: it comes after a play that changes
    /// the inventory (`add_host`, `group_by`).
    pub deferred: bool,
    /// `serial:`, rendered when it was a template (`None`: unset, or `{{ omit }}`).
    pub serial: Option<Value>,
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
    /// The hosts of this node's `serial:` batch (all the play's hosts without `serial`):
    /// `ansible_play_batch`, and where `run_once` runs (its first host). One list shared
    /// by every node of the batch, not a copy in each.
    pub batch: std::sync::Arc<[String]>,
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
    compile_until(books, inv, limit, extra, None, Mismatch::Error)
}

/// What a `hosts:` pattern term that matches nothing does: Ansible's
/// `host_pattern_mismatch` (`ANSIBLE_HOST_PATTERN_MISMATCH`, or `[inventory]` in
/// ansible.cfg). dr's default is `error`: a run must not skip a play over a typo.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mismatch {
    /// The run does not start (dr's default).
    #[default]
    Error,
    /// The term is left out, with a warning (Ansible's default).
    Warning,
    /// The term is left out.
    Ignore,
}

impl Mismatch {
    /// The setting's value, as Ansible spells it.
    pub fn parse(text: &str) -> Option<Mismatch> {
        match text.trim().to_ascii_lowercase().as_str() {
            "error" => Some(Mismatch::Error),
            "warning" => Some(Mismatch::Warning),
            "ignore" => Some(Mismatch::Ignore),
            _ => None,
        }
    }
}

/// [`compile`], with the plays from index `deferred` on left without hosts: they come after
/// a play that changes the inventory (`add_host`, `group_by`), so their hosts are chosen
/// when the run gets there ([`extend`]).
pub fn compile_until(
    books: &[Playbook],
    inv: &Inventory,
    limit: Option<&str>,
    extra: &Map<String, Value>,
    deferred: Option<usize>,
    mismatch: Mismatch,
) -> Result<Dag, Diagnostic> {
    let all = all_plays(books);
    let mut plays = Vec::with_capacity(all.len());
    for (i, (book, play)) in all.iter().enumerate() {
        if let Some((strategy, loc)) = &play.strategy {
            let rendered =
                super::hosts_template::render_keyword("strategy", strategy, loc, play, inv, extra)?;
            crate::playbook::check_strategy(&rendered, loc)?;
        }
        let later = deferred.is_some_and(|d| i >= d);
        let serial = match &play.serial {
            Some(Value::String(t)) if t.contains("{{") => {
                let rendered = super::hosts_template::render_keyword(
                    "serial", t, &play.loc, play, inv, extra,
                )?;
                (rendered != dr_agent::template::OMIT).then(|| {
                    serde_json::from_str::<Value>(&rendered).unwrap_or(Value::String(rendered))
                })
            }
            other => other.clone(),
        };
        plays.push(PlayInfo {
            book: *book,
            name: play.name.clone(),
            loc: play.loc.clone(),
            after: resolve_after(i, play, &all)?,
            explicit_after: play.after.is_some(),
            hosts: if later {
                Vec::new()
            } else {
                select_hosts(play, inv, limit, extra, mismatch)?
            },
            sync_points: Vec::new(),
            deferred: later,
            serial,
        });
    }
    check_cycles(&plays)?;
    if let Some(d) = deferred {
        let waits = transitive_waits(&plays);
        if let Some(early) = (0..d).find(|&p| waits[p].iter().any(|&w| w >= d)) {
            return Err(Diagnostic::new(
                plays[early].loc.clone(),
                format!(
                    "play `{}` waits (`after:`) for a play that runs after `add_host`/`group_by` changed the inventory",
                    plays[early].name
                ),
            )
            .with_help("order it after that play"));
        }
    }
    build(plays, &all)
}

/// How a play's hosts are chosen besides its `hosts:`: `--limit`, the extra vars its
/// templated pattern may use, and what a term that matches nothing does.
pub struct HostSelection<'a> {
    /// `--limit`.
    pub limit: Option<&'a str>,
    /// Extra vars (`-e`).
    pub extra: &'a Map<String, Value>,
    /// `host_pattern_mismatch`.
    pub mismatch: Mismatch,
}

/// Chooses the hosts of the deferred plays `plays` (indices) with the inventory as the run
/// left it (`inv`), and adds their nodes. The nodes already in `dag` keep their indices.
pub fn extend(
    dag: &mut Dag,
    books: &[Playbook],
    inv: &Inventory,
    how: &HostSelection<'_>,
    plays: std::ops::Range<usize>,
) -> Result<(), Diagnostic> {
    let all = all_plays(books);
    let mut infos = std::mem::take(&mut dag.plays);
    for i in plays.start..plays.end.min(infos.len()) {
        infos[i].hosts = select_hosts(all[i].1, inv, how.limit, how.extra, how.mismatch)?;
        infos[i].deferred = false;
    }
    let sync: Vec<_> = infos.iter().map(|p| p.sync_points.clone()).collect();
    *dag = build(infos, &all)?;
    for (p, points) in dag.plays.iter_mut().zip(sync) {
        p.sync_points = points;
    }
    Ok(())
}

fn all_plays(books: &[Playbook]) -> Vec<(usize, &PlaySpec)> {
    books
        .iter()
        .enumerate()
        .flat_map(|(b, book)| book.plays.iter().map(move |p| (b, p)))
        .collect()
}

/// The hosts `play` runs on: its `hosts:` pattern, rendered, selected in `inv`, within
/// `--limit`, in the play's `order`.
fn select_hosts(
    play: &PlaySpec,
    inv: &Inventory,
    limit: Option<&str>,
    extra: &Map<String, Value>,
    mismatch: Mismatch,
) -> Result<Vec<String>, Diagnostic> {
    let limited = match limit {
        Some(pattern) => Some(inv.select(pattern).map_err(|e| limit_error(&e))?),
        None => None,
    };
    let mut pattern = super::hosts_template::render(&play.hosts, play, inv, extra)?;
    let mut hosts = loop {
        match inv.select(&pattern) {
            Ok(hosts) => break hosts,
            Err(PatternError::NoMatch { term, .. }) if mismatch != Mismatch::Error => {
                if mismatch == Mismatch::Warning {
                    tracing::warn!(
                        "could not match supplied host pattern, ignoring: {term} (play `{}` at {})",
                        play.name,
                        play.hosts_loc
                    );
                }
                let rest = super::pattern_terms::without(&pattern, &term);
                if rest.is_empty() || rest == pattern {
                    break Vec::new();
                }
                pattern = rest;
            }
            Err(e) => {
                return Err(
                    Diagnostic::new(play.hosts_loc.clone(), e.to_string()).with_help(
                        "check the inventory (`dr inventory graph`) or the play's `hosts:`",
                    ),
                );
            }
        }
    };
    if let Some(limited) = &limited {
        let limited: std::collections::HashSet<&String> = limited.iter().collect();
        hosts.retain(|h| limited.contains(h));
    }
    play.order.apply(&mut hosts);
    Ok(hosts)
}

/// The nodes of `plays` (play order, host order), their dependencies, batches and stages.
fn build(plays: Vec<PlayInfo>, all: &[(usize, &PlaySpec)]) -> Result<Dag, Diagnostic> {
    let waits = transitive_waits(&plays);
    let mut nodes = Vec::new();
    let mut first_node = vec![0; plays.len()];
    for (i, play) in plays.iter().enumerate() {
        first_node[i] = nodes.len();
        let batch: std::sync::Arc<[String]> = play.hosts.clone().into();
        for host in &play.hosts {
            nodes.push(DagNode {
                play: i,
                host: host.clone(),
                deps: Vec::new(),
                batch: batch.clone(),
            });
        }
    }
    for node in &mut nodes {
        node.deps = waits[node.play]
            .iter()
            .flat_map(|&p| first_node[p]..first_node[p] + plays[p].hosts.len())
            .collect();
    }
    for (i, (_, spec)) in all.iter().enumerate() {
        if let Some(serial) = &plays[i].serial {
            let sizes = serial_sizes(serial, plays[i].hosts.len())
                .map_err(|why| Diagnostic::new(spec.loc.clone(), why))?;
            chain_batches(&mut nodes, first_node[i], plays[i].hosts.len(), &sizes);
        }
    }
    let stages = stages_of(&nodes);
    Ok(Dag {
        plays,
        nodes,
        stages,
    })
}

/// `serial:` as batch sizes for `hosts` hosts: a number, a percentage (`"30%"`), or a list
/// of them where the last repeats, as in Ansible. 0 (or 0%) means all hosts at once.
fn serial_sizes(serial: &serde_json::Value, hosts: usize) -> Result<Vec<usize>, String> {
    use serde_json::Value;
    let one = |v: &Value| -> Result<usize, String> {
        let bad = || {
            format!(
                "`serial:` takes a number of hosts, a percentage (`\"30%\"`) or a list of them, not `{v}`"
            )
        };
        let size = match v {
            Value::Number(n) => n.as_u64().ok_or_else(bad)? as usize,
            Value::String(s) => match s.trim().strip_suffix('%') {
                Some(pct) => {
                    let pct: f64 = pct.trim().parse().map_err(|_| bad())?;
                    if !(0.0..=100.0).contains(&pct) {
                        return Err(bad());
                    }
                    // Ansible rounds down but never to an empty batch.
                    ((hosts as f64 * pct / 100.0) as usize).max(usize::from(pct > 0.0))
                }
                None => s.trim().parse().map_err(|_| bad())?,
            },
            _ => return Err(bad()),
        };
        Ok(if size == 0 { hosts.max(1) } else { size })
    };
    match serial {
        Value::Array(items) if items.is_empty() => Err("`serial:` is an empty list".into()),
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

/// Makes each batch of a play's nodes (`count` nodes from `first`) wait for the whole batch
/// before it. As in Ansible, the next batch runs unless every host of this one failed (or
/// `max_fail_percentage`/`any_errors_fatal` failed them all): see [`crate::run::gate`].
fn chain_batches(nodes: &mut [DagNode], first: usize, count: usize, sizes: &[usize]) {
    let mut start = 0;
    let mut previous: Option<std::ops::Range<usize>> = None;
    let mut k = 0;
    while start < count {
        let size = sizes[k.min(sizes.len() - 1)].max(1);
        let batch = first + start..first + (start + size).min(count);
        let hosts: std::sync::Arc<[String]> =
            batch.clone().map(|n| nodes[n].host.clone()).collect();
        for n in batch.clone() {
            nodes[n].batch = hosts.clone();
            if let Some(prev) = &previous {
                nodes[n].deps.extend(prev.clone());
            }
        }
        start += size;
        k += 1;
        previous = Some(batch);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_text(book: &str) -> Result<Dag, Diagnostic> {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("inventory.yml");
        std::fs::write(
            &inv,
            "all:\n  hosts:\n    a: {}\n    b: {}\n    c: {}\n    d: {}\n    e: {}\n",
        )
        .unwrap();
        let file = dir.path().join("site.yml");
        std::fs::write(&file, book).unwrap();
        let inventory =
            crate::inventory::load(&[inv], &crate::secrets::Secrets::default()).unwrap();
        let books = vec![crate::playbook::load(&file, &Default::default()).unwrap()];
        compile(&books, &inventory, None, &Map::new())
    }

    #[test]
    fn serial_batches_wait_for_the_batch_before() {
        let dag = compile_text(
            "- name: rolling\n  hosts: all\n  serial: [1, 2]\n  tasks: []\n- name: next\n  hosts: a\n  tasks: []\n",
        )
        .unwrap();
        let deps: Vec<Vec<usize>> = dag.nodes.iter().map(|n| n.deps.clone()).collect();
        // Batches of `rolling`: [a], [b, c], [d, e]; `next` waits for all of them.
        assert_eq!(
            deps[..5],
            [vec![], vec![0], vec![0], vec![1, 2], vec![1, 2]]
        );
        assert_eq!(deps[5], vec![0, 1, 2, 3, 4]);
        assert_eq!(dag.stages, vec![vec![0], vec![1, 2], vec![3, 4], vec![5]]);
    }

    #[test]
    fn serial_sizes_follow_ansible() {
        use serde_json::json;
        assert_eq!(serial_sizes(&json!(2), 5), Ok(vec![2]));
        assert_eq!(serial_sizes(&json!("40%"), 5), Ok(vec![2]));
        assert_eq!(serial_sizes(&json!("10%"), 5), Ok(vec![1]));
        assert_eq!(serial_sizes(&json!(0), 5), Ok(vec![5]));
        assert_eq!(serial_sizes(&json!([1, "50%"]), 4), Ok(vec![1, 2]));
        let err = serial_sizes(&json!("lots"), 5).unwrap_err();
        assert!(err.contains("`serial:` takes a number"), "{err}");
        let err =
            compile_text("- name: p\n  hosts: all\n  serial: lots\n  tasks: []\n").unwrap_err();
        assert_eq!((err.loc.line, err.loc.col), (1, 3));
    }
}

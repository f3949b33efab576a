//! Printing a [`Dag`]: text stages, Graphviz dot, JSON.

use std::fmt::Write;

use serde_json::json;

use super::Dag;

/// Stages in order, each with its plays and their hosts.
pub fn render_text(dag: &Dag) -> String {
    let mut out = String::new();
    if dag.stages.is_empty() {
        out.push_str("no hosts matched: nothing to run\n");
        return out;
    }
    for (i, stage) in dag.stages.iter().enumerate() {
        let _ = writeln!(out, "stage {}:", i + 1);
        for (play, hosts) in plays_in(dag, stage) {
            let info = &dag.plays[play];
            let _ = writeln!(out, "  {} ({})", info.name, info.loc);
            let _ = writeln!(out, "    hosts: {}", hosts.join(", "));
            if !info.sync_points.is_empty() {
                let _ = writeln!(
                    out,
                    "    sync points: {} (each host still runs the play in one exec)",
                    info.sync_points.len()
                );
                for p in &info.sync_points {
                    let _ = writeln!(out, "      {}  {}", p.at, p.what);
                }
            }
        }
    }
    let deferred: Vec<String> = dag
        .plays
        .iter()
        .filter(|p| p.deferred)
        .map(|p| format!("{} ({})", p.name, p.loc))
        .collect();
    if !deferred.is_empty() {
        let _ = writeln!(
            out,
            "later, with hosts chosen when the run gets there (after `add_host`/`group_by`):"
        );
        for play in deferred {
            let _ = writeln!(out, "  {play}");
        }
    }
    let skipped: Vec<&str> = dag
        .plays
        .iter()
        .filter(|p| p.hosts.is_empty() && !p.deferred)
        .map(|p| p.name.as_str())
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "not run (no hosts after --limit): {}",
            skipped.join(", ")
        );
    }
    out
}

/// Plays of a stage with the hosts of each, in play order.
fn plays_in(dag: &Dag, stage: &[usize]) -> Vec<(usize, Vec<String>)> {
    let mut plays: Vec<(usize, Vec<String>)> = Vec::new();
    for &n in stage {
        let node = &dag.nodes[n];
        match plays.iter_mut().find(|(p, _)| *p == node.play) {
            Some((_, hosts)) => hosts.push(node.host.clone()),
            None => plays.push((node.play, vec![node.host.clone()])),
        }
    }
    plays.sort_by_key(|(p, _)| *p);
    plays
}

/// Graphviz: one cluster per stage, one box per node, edges between plays' nodes.
pub fn render_dot(dag: &Dag) -> String {
    let mut out = String::from("digraph dr {\n  rankdir=LR;\n  node [shape=box];\n");
    for (i, stage) in dag.stages.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph cluster_{i} {{\n    label=\"stage {}\";",
            i + 1
        );
        for &n in stage {
            let node = &dag.nodes[n];
            let label =
                format!("{}\\n{}", dag.plays[node.play].name, node.host).replace('"', "\\\"");
            let _ = writeln!(out, "    n{n} [label=\"{label}\"];");
        }
        out.push_str("  }\n");
    }
    for (n, node) in dag.nodes.iter().enumerate() {
        for &d in &node.deps {
            let _ = writeln!(out, "  n{d} -> n{n};");
        }
    }
    out.push_str("}\n");
    out
}

/// JSON: `{"stages": [{"stage": 1, "plays": [{"name", "location", "hosts"}]}]}`.
pub fn render_json(dag: &Dag) -> serde_json::Value {
    let stages: Vec<_> = dag
        .stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let plays: Vec<_> = plays_in(dag, stage)
                .into_iter()
                .map(|(p, hosts)| {
                    let sync: Vec<_> = dag.plays[p]
                        .sync_points
                        .iter()
                        .map(|s| json!({"at": s.at, "what": s.what}))
                        .collect();
                    json!({"name": dag.plays[p].name, "location": dag.plays[p].loc.to_string(), "hosts": hosts, "sync_points": sync})
                })
                .collect();
            json!({"stage": i + 1, "plays": plays})
        })
        .collect();
    let deferred: Vec<_> = dag
        .plays
        .iter()
        .filter(|p| p.deferred)
        .map(|p| json!({"name": p.name, "location": p.loc.to_string()}))
        .collect();
    json!({ "stages": stages, "deferred": deferred })
}

//! INI inventories and `-i host1,host2,` lists read as Ansible reads them:
//! `dr inventory list --format json` is compared with the real `ansible-inventory --list`
//! on the same sources, and random inventories written both as YAML and as INI load the same.
//!
//! The parity tests need ansible-core: `tests/run` installs it into a venv and sets
//! DR_TEST_ANSIBLE_BIN.

mod util;

use std::fmt::Write as _;
use std::path::Path;

use dr::secrets::Secrets;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use util::{Dr, repo_root, write_tree};

fn ansible_list(cwd: &Path, source: &str) -> Value {
    let out = util::ansible("ansible-inventory")
        .args(["-i", source, "--list"])
        .current_dir(cwd)
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "1")
        .output()
        .expect("ansible-inventory runs");
    assert!(
        out.status.success(),
        "ansible-inventory -i {source} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ansible-inventory prints JSON")
}

fn dr_list(cwd: &Path, source: &str) -> Value {
    let run = Dr::new(
        cwd,
        &["inventory", "list", "-i", source, "--format", "json"],
    )
    .run();
    run.code(0);
    run.json()
}

/// The two outputs on common ground:
/// - `_meta.profile` (ansible-core 2.19 names its output format) is dropped;
/// - host and child lists are sorted (Ansible orders them by its own rules);
/// - empty groups and hosts without vars are dropped (Ansible leaves both out);
/// - Ansible's `{"__ansible_unsafe": text}` (a value never templated) is written as dr
///   holds such values, `{% raw %}text{% endraw %}`.
fn normalise(mut doc: Value) -> Value {
    if let Some(Value::Object(meta)) = doc.get_mut("_meta") {
        meta.remove("profile");
        if let Some(Value::Object(hostvars)) = meta.get_mut("hostvars") {
            hostvars.retain(|_, v| v.as_object().is_none_or(|o| !o.is_empty()));
            for vars in hostvars.values_mut() {
                unwrap_unsafe(vars);
            }
        }
    }
    if let Value::Object(map) = &mut doc {
        for (name, entry) in map.iter_mut() {
            if name == "_meta" {
                continue;
            }
            if let Value::Object(e) = entry {
                for key in ["hosts", "children"] {
                    if let Some(Value::Array(items)) = e.get_mut(key) {
                        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                    }
                }
            }
        }
        map.retain(|_, v| v.as_object().is_none_or(|o| !o.is_empty()));
    }
    doc
}

fn unwrap_unsafe(value: &mut Value) {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("__ansible_unsafe") => {
            let text = map["__ansible_unsafe"].as_str().unwrap_or_default();
            *value = Value::String(format!("{{% raw %}}{text}{{% endraw %}}"));
        }
        Value::Object(map) => map.values_mut().for_each(unwrap_unsafe),
        Value::Array(items) => items.iter_mut().for_each(unwrap_unsafe),
        _ => {}
    }
}

/// Runs both tools on `source` in `cwd` and compares everything they print.
fn assert_same(cwd: &Path, source: &str) {
    let ours = normalise(dr_list(cwd, source));
    let theirs = normalise(ansible_list(cwd, source));
    assert_eq!(
        ours,
        theirs,
        "dr and ansible-inventory differ on `{source}`\n--- dr:\n{}\n--- ansible:\n{}",
        serde_json::to_string_pretty(&ours).unwrap_or_default(),
        serde_json::to_string_pretty(&theirs).unwrap_or_default()
    );
}

fn fixture(name: &str) -> std::path::PathBuf {
    repo_root().join("controller/tests/fixtures/ini").join(name)
}

#[test]
fn groups_children_vars_ranges_ports_and_vars_dirs_match_ansible() {
    // No extension, comments, ungrouped hosts, `host:port`, ranges, children named before
    // their section, `:vars` typing, group_vars/ and host_vars/ beside.
    assert_same(&fixture("basic"), "hosts");
}

#[test]
fn value_typing_matches_ansible() {
    assert_same(&fixture("typed"), "inventory.ini");
}

#[test]
fn a_directory_of_ini_and_yaml_files_matches_ansible() {
    // Hidden files, `.md`, `.retry` and `~` files are skipped; subdirectories are read.
    assert_same(&fixture("dir"), ".");
}

#[test]
fn group_priority_orders_vars_as_in_ansible() {
    assert_same(&fixture("priority"), "hosts");
}

#[test]
fn a_two_thousand_host_ini_inventory_matches_ansible() {
    // 20 groups of 95 hosts with inline vars of every INI type, 100 more from ranges, a
    // host in two groups, parents over the groups, :vars on groups and parents.
    let dir = tempfile::tempdir().unwrap();
    let mut ini = String::from("# generated: 2000 hosts\nbastion ansible_host=10.0.0.1\n");
    for g in 0..20 {
        writeln!(ini, "[app{g:02}]").unwrap();
        for h in 0..95 {
            let n = g * 95 + h;
            let value = match n % 6 {
                0 => format!("port={}", 1000 + n),
                1 => format!("ratio={}.5", n),
                2 => "enabled=True".to_owned(),
                3 => format!("label='host {n} # not a comment'"),
                4 => format!("tags=\"['a', {n}]\""),
                _ => format!("meta=\"{{'rack': {}}}\"", n % 7),
            };
            writeln!(
                ini,
                "app{g:02}-{h:03}.example ansible_host=10.{g}.{}.{} {value}",
                h / 200,
                h % 200
            )
            .unwrap();
        }
        if g % 5 == 0 {
            writeln!(ini, "bastion").unwrap();
        }
        writeln!(
            ini,
            "[app{g:02}:vars]\ntier={}\nweight={g}",
            ["web", "db", "queue"][g % 3]
        )
        .unwrap();
    }
    writeln!(ini, "[batch]\nbatch-[001:100].example ansible_user=runner").unwrap();
    for p in 0..4 {
        writeln!(ini, "[region{p}:children]").unwrap();
        for g in (p..20).step_by(4) {
            writeln!(ini, "app{g:02}").unwrap();
        }
        writeln!(ini, "[region{p}:vars]\nregion=r{p}\nzone_count={}", p + 1).unwrap();
    }
    writeln!(
        ini,
        "[everything:children]\nregion0\nregion1\nregion2\nregion3\nbatch"
    )
    .unwrap();
    std::fs::write(dir.path().join("big.ini"), ini).unwrap();
    let listed = dr_list(dir.path(), "big.ini");
    assert_eq!(
        listed["_meta"]["hostvars"].as_object().map(Map::len),
        Some(2001)
    );
    assert_same(dir.path(), "big.ini");
}

#[test]
fn a_comma_list_is_a_host_list_as_in_ansible() {
    let dir = tempfile::tempdir().unwrap();
    assert_same(dir.path(), "web1, web2:2222,[2001:db8::1]:2200,db-[1:2],");
    assert_same(dir.path(), "solo,");
}

#[test]
fn a_malformed_ini_line_is_a_located_error_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("hosts", "[web]\nweb1\n[web:var]\nx=1\n"),
            ("p.ini", "[db]\ndb1 port\n"),
        ],
    );
    Dr::new(dir.path(), &["inventory", "list", "-i", "hosts"])
        .run()
        .code(1)
        .stderr_has("section `[web:var]` has unknown type `var`")
        .stderr_has("--> hosts:3:6\n")
        .stderr_has("3 | [web:var]\n  |      ^")
        .stderr_has("did you mean `vars`?");
    Dr::new(dir.path(), &["inventory", "list", "-i", "p.ini"])
        .run()
        .code(1)
        .stderr_has("expected `key=value` after the host, found `port`")
        .stderr_has("--> p.ini:2:5\n");
}

#[test]
fn a_bad_yaml_inventory_still_gets_the_yaml_error() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", "all:\n  hosts:\n    h1:\n   bad: indent\n"),
            (
                "noext",
                "all:\n  children:\n    web:\n      hosts: [a, b]\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["inventory", "list", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("invalid YAML")
        .stderr_has("--> inv.yml:4:");
    // A YAML mapping is a YAML inventory, whatever its name: its errors are YAML's.
    Dr::new(dir.path(), &["inventory", "list", "-i", "noext"])
        .run()
        .code(1)
        .stderr_has("`hosts` of group `web` must be a mapping of host names");
}

/// Vars by key number.
type Vars = Vec<(usize, Val)>;

/// One random inventory, to be written as YAML and as INI.
#[derive(Debug, Clone)]
struct Spec {
    /// Per group: its parents among the earlier groups (a DAG), and its vars.
    groups: Vec<(Vec<usize>, Vars)>,
    /// Per host: its groups (none: ungrouped), port, and vars.
    hosts: Vec<(Vec<usize>, Option<u16>, Vars)>,
    /// The order INI sections are written in (children may come before their groups).
    order: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Val {
    Int(i64),
    Bool(bool),
    Str(String),
    Ints(Vec<i32>),
    Null,
}

impl Val {
    fn yaml(&self) -> String {
        match self {
            Val::Int(n) => n.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Str(s) => format!("\"{s}\""),
            Val::Ints(v) => format!("{v:?}"),
            Val::Null => "null".into(),
        }
    }

    /// As a Python literal (for `:vars` lines).
    fn python(&self) -> String {
        match self {
            Val::Bool(true) => "True".into(),
            Val::Bool(false) => "False".into(),
            Val::Str(s) => format!("'{s}'"),
            Val::Null => "None".into(),
            other => other.yaml(),
        }
    }

    /// As a host-line word (shell quoting around the Python literal).
    fn word(&self) -> String {
        format!("\"{}\"", self.python())
    }
}

fn val() -> impl Strategy<Value = Val> {
    prop_oneof![
        any::<i64>().prop_map(Val::Int),
        any::<bool>().prop_map(Val::Bool),
        "[a-z][a-z0-9 _.-]{0,8}".prop_map(Val::Str),
        proptest::collection::vec(any::<i32>(), 0..3).prop_map(Val::Ints),
        Just(Val::Null),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let vars = || {
        proptest::collection::btree_map(0..4usize, val(), 0..3)
            .prop_map(|m| m.into_iter().collect::<Vec<_>>())
    };
    (0..5usize, 0..6usize)
        .prop_flat_map(move |(ngroups, nhosts)| {
            let groups = (0..ngroups)
                .map(|i| (proptest::collection::vec(0..i.max(1), 0..=i.min(2)), vars()))
                .collect::<Vec<_>>();
            let hosts = proptest::collection::vec(
                (
                    proptest::collection::vec(0..ngroups.max(1), 0..=ngroups.min(2)),
                    proptest::option::of(1..u16::MAX),
                    vars(),
                ),
                nhosts,
            );
            let order = Just((0..ngroups).collect::<Vec<_>>()).prop_shuffle();
            (groups, hosts, order)
        })
        .prop_map(|(groups, hosts, order)| {
            let ngroups = groups.len();
            let groups = groups
                .into_iter()
                .enumerate()
                .map(|(i, (parents, vars))| {
                    let mut parents: Vec<usize> = parents.into_iter().filter(|p| *p < i).collect();
                    parents.sort();
                    parents.dedup();
                    (parents, vars)
                })
                .collect();
            let hosts = hosts
                .into_iter()
                .map(|(mut groups, port, vars)| {
                    groups.retain(|g| *g < ngroups);
                    groups.sort();
                    groups.dedup();
                    (groups, port, vars)
                })
                .collect();
            Spec {
                groups,
                hosts,
                order,
            }
        })
}

fn group(i: usize) -> String {
    format!("grp{i}")
}

fn host(i: usize) -> String {
    format!("host-{i}")
}

fn key(i: usize) -> String {
    format!("k{i}")
}

impl Spec {
    fn children(&self, g: usize) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|c| self.groups[*c].0.contains(&g))
            .collect()
    }

    /// Vars go on a host's first line only, and its port with them.
    fn host_line(&self, h: usize, first: bool) -> String {
        let (_, port, vars) = &self.hosts[h];
        let mut line = host(h);
        if first {
            if let Some(port) = port {
                let _ = write!(line, ":{port}");
            }
            for (k, v) in vars {
                let _ = write!(line, " {}={}", key(*k), v.word());
            }
        }
        line
    }

    fn ini(&self) -> String {
        let mut out = String::new();
        for h in 0..self.hosts.len() {
            if self.hosts[h].0.is_empty() {
                let _ = writeln!(out, "{}", self.host_line(h, true));
            }
        }
        let first_group = |h: usize| self.hosts[h].0.first().copied();
        for &g in &self.order {
            let _ = writeln!(out, "[{}:children]", group(g));
            for c in self.children(g) {
                let _ = writeln!(out, "{}", group(c));
            }
            let _ = writeln!(out, "[{}:vars]", group(g));
            for (k, v) in &self.groups[g].1 {
                let _ = writeln!(out, "{} = {}", key(*k), v.python());
            }
        }
        for g in 0..self.groups.len() {
            let _ = writeln!(out, "[{}]", group(g));
            for h in 0..self.hosts.len() {
                if self.hosts[h].0.contains(&g) {
                    let _ = writeln!(out, "{}", self.host_line(h, first_group(h) == Some(g)));
                }
            }
        }
        out
    }

    fn yaml_group(&self, g: usize, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        let _ = writeln!(out, "{pad}{}:", group(g));
        let vars = &self.groups[g].1;
        if !vars.is_empty() {
            let _ = writeln!(out, "{pad}  vars:");
            for (k, v) in vars {
                let _ = writeln!(out, "{pad}    {}: {}", key(*k), v.yaml());
            }
        }
        let members: Vec<usize> = (0..self.hosts.len())
            .filter(|h| self.hosts[*h].0.contains(&g))
            .collect();
        if !members.is_empty() {
            let _ = writeln!(out, "{pad}  hosts:");
            for h in members {
                self.yaml_host(h, self.hosts[h].0.first() == Some(&g), indent + 4, out);
            }
        }
        let children = self.children(g);
        if !children.is_empty() {
            let _ = writeln!(out, "{pad}  children:");
            for c in children {
                self.yaml_group(c, indent + 4, out);
            }
        }
    }

    fn yaml_host(&self, h: usize, first: bool, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        let (_, port, vars) = &self.hosts[h];
        let _ = writeln!(out, "{pad}{}:", host(h));
        if first {
            if let Some(port) = port {
                let _ = writeln!(out, "{pad}  ansible_port: {port}");
            }
            for (k, v) in vars {
                let _ = writeln!(out, "{pad}  {}: {}", key(*k), v.yaml());
            }
        }
    }

    /// Groups without parents at the top, each with its children nested under it.
    fn yaml(&self) -> String {
        let mut out = String::new();
        let lonely: Vec<usize> = (0..self.hosts.len())
            .filter(|h| self.hosts[*h].0.is_empty())
            .collect();
        if !lonely.is_empty() {
            out.push_str("ungrouped:\n  hosts:\n");
            for h in lonely {
                self.yaml_host(h, true, 4, &mut out);
            }
        }
        for g in 0..self.groups.len() {
            if self.groups[g].0.is_empty() {
                self.yaml_group(g, 0, &mut out);
            }
        }
        out
    }
}

/// What an inventory means: every host's merged vars, every group's members and children.
fn meaning(path: &Path) -> Result<Value, String> {
    let inv = dr::inventory::load(&[path.to_path_buf()], &Secrets::default())
        .map_err(|d| d.to_string())?;
    let mut hosts = Map::new();
    for h in inv.hosts() {
        hosts.insert(h.name.clone(), Value::Object(inv.host_vars(&h.name)));
    }
    let mut groups = Map::new();
    for g in inv.groups() {
        let mut members: Vec<&String> = g.hosts.iter().collect();
        let mut children: Vec<&String> = g.children.iter().collect();
        members.sort();
        children.sort();
        groups.insert(
            g.name.clone(),
            json!({"hosts": members, "children": children}),
        );
    }
    Ok(json!({"hostvars": hosts, "groups": groups}))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_same_inventory_as_yaml_and_as_ini_loads_the_same(spec in spec()) {
        let dir = tempfile::tempdir().unwrap();
        let (yaml, ini) = (spec.yaml(), spec.ini());
        write_tree(dir.path(), &[("inv.yml", yaml.as_str()), ("hosts", ini.as_str())]);
        let from_yaml = meaning(&dir.path().join("inv.yml"));
        let from_ini = meaning(&dir.path().join("hosts"));
        prop_assert_eq!(
            &from_yaml,
            &from_ini,
            "\n--- YAML:\n{}\n--- INI:\n{}",
            yaml,
            ini
        );
        prop_assert!(from_ini.is_ok());
    }
}

use std::path::Path;

use serde_json::{Value, json};

use super::read;
use crate::diagnostic::Diagnostic;
use crate::inventory::Inventory;

fn load(text: &str) -> Inventory {
    let mut inv = Inventory::default();
    read(&mut inv, Path::new("inv.ini"), text.as_bytes()).unwrap_or_else(|d| panic!("{d}"));
    inv
}

fn error(text: &str) -> Diagnostic {
    let mut inv = Inventory::default();
    match read(&mut inv, Path::new("inv.ini"), text.as_bytes()) {
        Ok(_) => panic!("no error for {text:?}"),
        Err(d) => d,
    }
}

/// `(line, col, message)` of the error `text` gives.
fn at(text: &str) -> (u32, u32, String) {
    let d = error(text);
    (d.loc.line, d.loc.col, d.message)
}

fn members(inv: &Inventory, group: &str) -> Vec<String> {
    inv.group(group)
        .map(|g| g.hosts.iter().cloned().collect())
        .unwrap_or_default()
}

fn children(inv: &Inventory, group: &str) -> Vec<String> {
    inv.group(group)
        .map(|g| g.children.iter().cloned().collect())
        .unwrap_or_default()
}

fn var(inv: &Inventory, host: &str, key: &str) -> Value {
    inv.host(host)
        .and_then(|h| h.vars.get(key).cloned())
        .unwrap_or(Value::Null)
}

#[test]
fn hosts_before_sections_are_ungrouped_and_sections_make_groups() {
    let inv = load("lonely\n[web]\nweb1\n  ; indented comment\nweb2\n");
    assert_eq!(members(&inv, "ungrouped"), ["lonely"]);
    assert_eq!(members(&inv, "web"), ["web1", "web2"]);
    // `;` starts a comment only at the start of a line.
    assert_eq!(
        at("web2 ; note\n"),
        (
            1,
            6,
            "expected `key=value` after the host, found `;`".into()
        )
    );
}

#[test]
fn ranges_ports_and_comments() {
    let inv = load(
        "# a comment\n; another\n[db]\ndb-[01:03]:5432 role=primary # trailing\n[letters]\nx[a:c]\n",
    );
    assert_eq!(members(&inv, "db"), ["db-01", "db-02", "db-03"]);
    assert_eq!(var(&inv, "db-02", "ansible_port"), json!(5432));
    assert_eq!(var(&inv, "db-02", "role"), json!("primary"));
    assert_eq!(members(&inv, "letters"), ["xa", "xb", "xc"]);
}

#[test]
fn children_may_come_before_their_groups() {
    let inv = load("[prod:children]\nweb\ndb\n[web]\nw1\n[db:children]\n");
    assert_eq!(children(&inv, "prod"), ["web", "db"]);
    assert_eq!(members(&inv, "web"), ["w1"]);
}

#[test]
fn values_are_typed_as_ast_literal_eval_types_them() {
    let inv = load(
        "h1 a=1 b=1.5 c=True d=true e=yes f=\"'quoted'\" g=None h=[1,2] i=\"{'k': 'v'}\" w=x#y\n\
         h2 pw=\"'03#pa33w0rd'\" sp='a b' v=\"1\"\n\
         [all:vars]\nnum = 8080 # a comment\nword=hello # a comment\nflag = False\nempty=\n",
    );
    let h1 = |k| var(&inv, "h1", k);
    assert_eq!(
        [
            h1("a"),
            h1("b"),
            h1("c"),
            h1("d"),
            h1("e"),
            h1("f"),
            h1("g"),
            h1("h"),
            h1("i"),
            h1("w")
        ],
        [
            json!(1),
            json!(1.5),
            json!(true),
            json!("true"),
            json!("yes"),
            json!("quoted"),
            json!(null),
            json!([1, 2]),
            json!({"k": "v"}),
            json!("x"),
        ]
    );
    assert_eq!(var(&inv, "h2", "pw"), json!("03#pa33w0rd"));
    assert_eq!(var(&inv, "h2", "sp"), json!("a b"));
    assert_eq!(var(&inv, "h2", "v"), json!(1));
    let all = &inv.group("all").unwrap().vars;
    assert_eq!(all["num"], json!(8080));
    assert_eq!(all["word"], json!("hello # a comment"));
    assert_eq!(all["flag"], json!(false));
    assert_eq!(all["empty"], json!(""));
}

#[test]
fn the_port_is_set_when_a_host_is_first_seen() {
    let inv = load("[a]\nh:22\n[b]\nh:2222\nz:0\n");
    assert_eq!(var(&inv, "h", "ansible_port"), json!(22));
    assert_eq!(var(&inv, "z", "ansible_port"), Value::Null);
}

#[test]
fn a_host_var_on_a_name_that_is_also_a_group_goes_to_the_group() {
    let inv = load("[web]\n[other]\nweb x=1\n");
    assert_eq!(inv.group("web").unwrap().vars["x"], json!(1));
    assert_eq!(var(&inv, "web", "x"), Value::Null);
}

#[test]
fn group_priority_is_not_a_variable() {
    let inv = load("[web]\nw\n[web:vars]\nansible_group_priority=10\n");
    let web = inv.group("web").unwrap();
    assert_eq!(web.priority, 10);
    assert!(web.vars.is_empty());
}

#[test]
fn section_errors_point_at_the_section() {
    assert_eq!(
        at("[web]\nw\n[web:var]\n"),
        (3, 6, "section `[web:var]` has unknown type `var`".into())
    );
    assert_eq!(
        error("[web:var]\n").help.as_deref(),
        Some("did you mean `vars`?")
    );
    assert_eq!(at("  [a b]\n"), (1, 3, "invalid section `[a b]`".into()));
}

#[test]
fn host_line_errors_point_at_the_word() {
    assert_eq!(
        at("[web]\n  web1 port\n"),
        (
            2,
            8,
            "expected `key=value` after the host, found `port`".into()
        )
    );
    assert_eq!(
        at("web1 a='x\n"),
        (1, 8, "this quote is never closed".into())
    );
    assert_eq!(
        at("web1 a=\\\n"),
        (1, 8, "the host line ends with a backslash".into())
    );
    assert_eq!(
        at("all:\n  hosts:\n"),
        (
            1,
            1,
            "invalid host pattern `all:`: a trailing `:` is for a port".into()
        )
    );
    assert_eq!(at("---\n"), (1, 1, "invalid host pattern `---`".into()));
    assert_eq!(at("h x=1\n\"\" y=2\n"), (2, 1, "empty host name".into()));
    assert_eq!(
        at("db-[01:3]\n"),
        (
            1,
            1,
            "host range `[01:3]` must have begin and end of equal length (leading zeros set the width)"
                .into()
        )
    );
    assert_eq!(
        at("h d=\"{[1]: 2}\"\n"),
        (
            1,
            3,
            "the value of `d` puts a list in a set or a dict key".into()
        )
    );
    assert_eq!(
        at("h f=1e400\n"),
        (
            1,
            3,
            "the value of `f` holds the float `inf`, which dr cannot keep as a variable".into()
        )
    );
}

#[test]
fn vars_and_children_errors_point_at_the_line() {
    assert_eq!(
        at("[web]\n[web:vars]\n\n  novalue\n"),
        (
            4,
            3,
            "expected `key=value` in `[web:vars]`, found `novalue`".into()
        )
    );
    assert_eq!(
        at("[web]\n[web:vars]\nansible_group_priority = high\n"),
        (
            3,
            26,
            "`ansible_group_priority` must be an integer, found `\"high\"`".into()
        )
    );
    assert_eq!(
        at("[p:children]\na b\n"),
        (
            2,
            1,
            "expected a group name in `[p:children]`, found `a b`".into()
        )
    );
}

#[test]
fn groups_never_declared_are_errors_at_first_use() {
    assert_eq!(
        at("[p:children]\nweb\n[q:children]\nweb\n"),
        (
            2,
            1,
            "`[q:children]` names group `web`, which is never declared".into()
        )
    );
    assert_eq!(
        at("[x:vars]\na=1\n"),
        (
            1,
            1,
            "section `[x:vars]` is for group `x`, which is never declared".into()
        )
    );
    // A later `[x]` declares it.
    load("[x:vars]\na=1\n[x]\n");
}

#[test]
fn cycles_are_refused() {
    assert_eq!(
        at("[a:children]\nb\n[b:children]\na\n"),
        (
            4,
            1,
            "group `a` as a child of `b` makes a cycle: `a` is already above `b`".into()
        )
    );
    assert_eq!(
        at("[a:children]\na\n"),
        (2, 1, "group `a` cannot be its own child".into())
    );
    assert_eq!(
        at("[a:children]\nall\n"),
        (
            2,
            1,
            "group `all` cannot be a child of `a`: every group is under `all`".into()
        )
    );
    assert_eq!(
        at("[a:children]\nungrouped\n"),
        (2, 1, "group `ungrouped` cannot be a child of `a`".into())
    );
}

#[test]
fn bytes_that_are_not_utf8_only_matter_outside_comments() {
    let mut inv = Inventory::default();
    read(&mut inv, Path::new("i"), b"# caf\xe9\nh1\n").unwrap();
    let d = read(&mut inv, Path::new("i"), b"h1\nh\xff2\n").unwrap_err();
    assert_eq!(
        (d.loc.line, d.message.as_str()),
        (2, "this line is not UTF-8 text")
    );
    let d = read(&mut inv, Path::new("i"), "\u{feff}[web]\n".as_bytes()).unwrap_err();
    assert_eq!(d.message, "the file starts with a byte order mark");
}

//! Variable precedence inside the inventory, against `ansible-inventory --host`: every
//! adjacent pair of levels disagrees, so each level must win exactly where Ansible's
//! `VARIABLE_PRECEDENCE` says (all_inventory < groups_inventory < all_plugins_inventory <
//! groups_plugins_inventory < host_inventory < host_plugins_inventory).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use serde_json::Value;
use util::{Dr, write_tree};

const YAML: &str = "all:
  vars: {l1: inv_all, l2: inv_all, l3: inv_all, l4: inv_all, l5: inv_all, l6: inv_all}
  children:
    parent:
      vars: {l2: inv_parent, l3: inv_parent, l4: inv_parent, l5: inv_parent, l6: inv_parent}
      children:
        child:
          vars: {l2: inv_child, l3: inv_child, l4: inv_child, l5: inv_child, l6: inv_child}
          hosts:
            h1: {l5: inv_host, l6: inv_host}
";

const INI: &str = "[all:vars]
l1=inv_all
l2=inv_all
l3=inv_all
l4=inv_all
l5=inv_all
l6=inv_all

[parent:children]
child

[parent:vars]
l2=inv_parent
l3=inv_parent
l4=inv_parent
l5=inv_parent
l6=inv_parent

[child]
h1 l5=inv_host l6=inv_host

[child:vars]
l2=inv_child
l3=inv_child
l4=inv_child
l5=inv_child
l6=inv_child
";

fn host_vars(dir: &std::path::Path, inventory: &str, dr: bool) -> Value {
    if dr {
        let run = Dr::new(
            dir,
            &["inventory", "list", "-i", inventory, "--format", "json"],
        )
        .run();
        run.code(0);
        return run.json()["_meta"]["hostvars"]["h1"].clone();
    }
    let out = util::ansible("ansible-inventory")
        .args(["-i", inventory, "--host", "h1"])
        .current_dir(dir)
        .output()
        .expect("ansible-inventory runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ansible-inventory prints JSON")
}

#[test]
fn each_inventory_level_wins_where_ansible_says() {
    for (name, text) in [("hosts.yml", YAML), ("hosts.ini", INI)] {
        let dir = tempfile::tempdir().unwrap();
        write_tree(
            dir.path(),
            &[
                (name, text),
                (
                    "group_vars/all.yml",
                    "l3: gv_all\nl4: gv_all\nl5: gv_all\nl6: gv_all\n",
                ),
                (
                    "group_vars/parent.yml",
                    "l4: gv_parent\nl5: gv_parent\nl6: gv_parent\n",
                ),
                (
                    "group_vars/child.yml",
                    "l4: gv_child\nl5: gv_child\nl6: gv_child\n",
                ),
                ("host_vars/h1.yml", "l6: hv_h1\n"),
            ],
        );
        let ansible = host_vars(dir.path(), name, false);
        let dr = host_vars(dir.path(), name, true);
        for key in ["l1", "l2", "l3", "l4", "l5", "l6"] {
            assert_eq!(dr[key], ansible[key], "{name}: `{key}` differs");
        }
        let expected = [
            ("l1", "inv_all"),
            ("l2", "inv_child"),
            ("l3", "gv_all"),
            ("l4", "gv_child"),
            ("l5", "inv_host"),
            ("l6", "hv_h1"),
        ];
        for (key, value) in expected {
            assert_eq!(ansible[key], value, "{name}: the fixture lost `{key}`");
        }
    }
}

/// The levels a playbook adds: `group_vars/` and `host_vars/` beside the playbook sit just
/// above the inventory's own at each level.
#[test]
fn group_vars_beside_the_playbook_merge_as_ansible_merges_them() {
    let run = |dr: bool| {
        let dir = tempfile::tempdir().unwrap();
        write_tree(
            dir.path(),
            &[
                (
                    "inventory/hosts.ini",
                    "[child]\nh1 ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\" l5=inv_host\n[child:vars]\nl1=inv_child\n",
                ),
                (
                    "inventory/group_vars/all.yml",
                    "l2: inv_gv_all\nl3: inv_gv_all\n",
                ),
                (
                    "inventory/group_vars/child.yml",
                    "l3: inv_gv_child\nl4: inv_gv_child\n",
                ),
                ("inventory/host_vars/h1.yml", "l6: inv_hv\n"),
                ("group_vars/all.yml", "l1: pb_all\nl2: pb_all\nl3: pb_all\n"),
                ("group_vars/child.yml", "l4: pb_child\nl5: pb_child\n"),
                ("host_vars/h1.yml", "l6: pb_hv\n"),
                (
                    "site.yml",
                    "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: \"{{ playbook_dir }}/out\"\n        content: \"{{ l1 }} {{ l2 }} {{ l3 }} {{ l4 }} {{ l5 }} {{ l6 }}\\n\"\n",
                ),
            ],
        );
        if dr {
            Dr::new(
                dir.path(),
                &["apply", "site.yml", "-i", "inventory/hosts.ini"],
            )
            .run()
            .code(0);
        } else {
            util::ansible_playbook(dir.path(), &["site.yml", "-i", "inventory/hosts.ini"]);
        }
        std::fs::read_to_string(dir.path().join("out")).unwrap_or_default()
    };
    let ansible = run(false);
    assert_eq!(run(true), ansible);
    assert_eq!(
        ansible, "pb_all pb_all inv_gv_child pb_child inv_host pb_hv\n",
        "the fixture lost a level"
    );
}

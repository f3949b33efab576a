//! Magic variables and the variable rules around them, against the oracle: the same
//! playbook run by ansible-playbook and by dr under the same command line writes the same
//! lines (`playbook_dir`, `inventory_dir`, `ansible_run_tags`, `ansible_version`, the role
//! name lists, ...).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::{Dr, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    h1.example.com:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n    h2:\n      ansible_connection: local\n";

const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  roles:
    - greet
  tasks:
    - name: magic variables
      shell: |
        cat >> {{ out }}/log <<'EOF'
        pd={{ playbook_dir }} id={{ inventory_dir }} if={{ inventory_file }}
        rt={{ ansible_run_tags }} st={{ ansible_skip_tags }} lim={{ ansible_limit }}
        forks={{ ansible_forks }} verb={{ ansible_verbosity }} src={{ ansible_inventory_sources }}
        v={{ ansible_version.major }}.{{ ansible_version.minor }} {{ ansible_version.full is string }}
        pha={{ ansible_play_hosts_all }} short={{ inventory_hostname_short }} roles={{ ansible_role_names | sort }}
        sp={{ ansible_search_path }}
        EOF
    - set_fact: {level: fact}
    - name: a fact beats task vars
      shell: echo "level={{ level }}" >> {{ out }}/log
      vars: {level: task}
    - name: a loop over an undefined variable is skipped by its when
      shell: echo "looped {{ item }}" >> {{ out }}/log
      loop: "{{ not_there }}"
      when: not_there is defined
"#;

fn run_both(dir_for: impl Fn(bool) -> tempfile::TempDir) -> (String, String) {
    let args = |out: &str| -> Vec<String> {
        [
            "site.yml",
            "-i",
            "inv.yml",
            "--limit",
            "h1.example.com",
            "--forks",
            "5",
            "--skip-tags",
            "nothing",
            "-e",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(std::iter::once(format!("out={out}")))
        .collect()
    };
    let ansible = dir_for(false);
    let out = ansible.path().join("out").display().to_string();
    let ansible_args = args(&out);
    let ansible_args: Vec<&str> = ansible_args.iter().map(String::as_str).collect();
    util::ansible_playbook(ansible.path(), &ansible_args);
    let dr = dir_for(true);
    let out = dr.path().join("out").display().to_string();
    let mut dr_args = vec!["apply".to_string()];
    dr_args.extend(args(&out));
    let dr_args: Vec<&str> = dr_args.iter().map(String::as_str).collect();
    Dr::new(dr.path(), &dr_args).run().code(0);
    let read = |d: &tempfile::TempDir| {
        let text = std::fs::read_to_string(d.path().join("out/log")).unwrap_or_default();
        // Each side ran in its own directory.
        text.replace(&d.path().display().to_string(), "<dir>")
    };
    (read(&ansible), read(&dr))
}

#[test]
fn magic_variables_are_what_ansible_sets() {
    let (ansible, dr) = run_both(|_| {
        let dir = tempfile::tempdir().unwrap();
        write_tree(
            dir.path(),
            &[
                ("inv.yml", INVENTORY),
                ("site.yml", PLAYBOOK),
                (
                    "roles/greet/tasks/main.yml",
                    "- shell: echo \"role sp={{ ansible_search_path }}\" >> {{ out }}/log\n- import_role: {name: inner}\n",
                ),
                ("roles/greet/meta/main.yml", "dependencies: [base]\n"),
                (
                    "roles/base/tasks/main.yml",
                    "- shell: echo \"base dep={{ ansible_dependent_role_names | sort }} play={{ ansible_play_role_names }} {{ role_names }} parents={{ ansible_parent_role_names | default('none') }}\" >> {{ out }}/log\n",
                ),
                (
                    "roles/inner/tasks/main.yml",
                    "- shell: echo \"inner parents={{ ansible_parent_role_names }} {{ ansible_parent_role_paths | map('basename') }}\" >> {{ out }}/log\n",
                ),
            ],
        );
        std::fs::create_dir(dir.path().join("out")).unwrap();
        dir
    });
    assert_eq!(
        dr, ansible,
        "dr's magic variables differ from ansible-playbook's"
    );
    for line in [
        "pd=<dir> id=<dir> if=<dir>/inv.yml",
        "rt=['all'] st=['nothing'] lim=h1.example.com",
        "forks=5 verb=0",
        "v=2.19 True",
        "short=h1 roles=['base', 'greet', 'inner']",
        "base dep=['base'] play=['greet', 'inner'] ['greet', 'inner'] parents=none",
        "inner parents=['greet'] ['greet']",
        "level=fact",
    ] {
        assert!(ansible.contains(line), "fixture lost `{line}`:\n{ansible}");
    }
    assert!(!ansible.contains("looped"), "{ansible}");
}

/// What `site.yml` among `files` (with the inventory) writes to `out`, run by
/// ansible-playbook and by dr: the same text from both.
fn same_out(files: &[(&str, &str)]) -> String {
    same_out_with(INVENTORY, files)
}

/// [`same_out`] with another inventory.
fn same_out_with(inventory: &str, files: &[(&str, &str)]) -> String {
    let run = |dr: bool| {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &[("inv.yml", inventory)]);
        write_tree(dir.path(), files);
        if dr {
            Dr::new(dir.path(), &["apply", "site.yml", "-i", "inv.yml"])
                .run()
                .code(0);
        } else {
            util::ansible_playbook(dir.path(), &["site.yml", "-i", "inv.yml"]);
        }
        std::fs::read_to_string(dir.path().join("out")).unwrap_or_default()
    };
    let ansible = run(false);
    assert_eq!(run(true), ansible);
    ansible
}

#[test]
fn a_vars_file_holding_a_list_of_mappings_is_merged_in_order_as_in_ansible() {
    let out = same_out(&[
        ("vars.yml", "- {a: 1, b: 1}\n- {b: 2, c: 2}\n"),
        (
            "site.yml",
            "- hosts: h1.example.com\n  gather_facts: false\n  vars_files: [vars.yml]\n  tasks:\n    - shell: echo \"{{ a }} {{ b }} {{ c }}\" > {{ playbook_dir }}/out\n",
        ),
    ]);
    assert_eq!(out, "1 2 2\n");
}

#[test]
fn hostvars_hold_the_group_vars_beside_the_playbook_also_for_added_hosts() {
    let out = same_out(&[
        ("group_vars/all.yml", "x: 100\ny: \"{{ x }}\"\n"),
        (
            "site.yml",
            "- hosts: h1.example.com\n  gather_facts: false\n  tasks:\n    - add_host: {name: added, ansible_connection: local}\n- hosts: h1.example.com\n  gather_facts: false\n  tasks:\n    - shell: echo \"{{ hostvars['added']['y'] }} {{ hostvars['h2']['x'] }} {{ hostvars[inventory_hostname]['y'] }}\" > {{ playbook_dir }}/out\n",
        ),
    ]);
    assert_eq!(out, "100 100 100\n");
}

#[test]
fn ansible_host_is_the_hosts_address_or_its_name_as_in_ansible() {
    let out = same_out(&[(
        "site.yml",
        "- hosts: h1.example.com\n  gather_facts: false\n  tasks:\n    - shell: echo \"{{ inventory_hostname }} {{ ansible_host }} {{ ansible_ssh_host }} {{ lookup('vars', 'ansible_host') }}\" >> {{ playbook_dir }}/out\n",
    )]);
    assert!(out.contains("h1.example.com h1.example.com"), "{out}");
}

/// `groups` and the play's host lists travel shared by a batch's requests, not in each
/// host's variables: every way of reading them (a template, `vars`, the `vars` lookup, a
/// dynamic include's name the controller renders) sees Ansible's values, per `serial`
/// batch and after `group_by` changed the groups.
#[test]
fn the_batch_lists_and_groups_are_ansibles_per_batch_and_after_group_by() {
    let line = "{{ inventory_hostname }} b={{ ansible_play_batch }} h={{ ansible_play_hosts }} a={{ ansible_play_hosts_all }} g={{ groups | dict2items | map(attribute='key') | sort }} v={{ vars['ansible_play_batch'] }} l={{ lookup('vars', 'groups')['all'] }}";
    let site = format!(
        "- hosts: all\n  gather_facts: false\n  serial: 1\n  vars: {{ansible_python_interpreter: \"{{{{ ansible_playbook_python }}}}\"}}\n  tasks:\n    - shell: echo \"{line}\" >> {{{{ playbook_dir }}}}/out\n    - include_tasks: \"t{{{{ ansible_play_batch | length }}}}.yml\"\n    - group_by: {{key: \"made_{{{{ inventory_hostname_short }}}}\"}}\n- hosts: all\n  gather_facts: false\n  serial: 2\n  vars: {{ansible_python_interpreter: \"{{{{ ansible_playbook_python }}}}\"}}\n  tasks:\n    - shell: echo \"{line}\" >> {{{{ playbook_dir }}}}/out\n      run_once: true\n"
    );
    let out = same_out(&[
        ("site.yml", &site),
        (
            "t1.yml",
            "- shell: echo \"included {{ groups['all'] | length }}\" >> {{ playbook_dir }}/out\n",
        ),
    ]);
    for want in [
        "h1.example.com b=['h1.example.com'] h=['h1.example.com', 'h2'] a=['h1.example.com', 'h2'] g=['all', 'ungrouped']",
        "h2 b=['h2']",
        "included 2",
        "b=['h1.example.com', 'h2'] h=['h1.example.com', 'h2'] a=['h1.example.com', 'h2'] g=['all', 'made_h1', 'made_h2', 'ungrouped'] v=['h1.example.com', 'h2'] l=['h1.example.com', 'h2']",
    ] {
        assert!(out.contains(want), "`{want}` not in:\n{out}");
    }
}

/// A host the inventory lists directly under `all` stays first in `groups['all']` (and in
/// a play on `all`) after `group_by` gives it a group created after the others, and a host
/// `add_host` adds is `all`'s own too, listed with it: Ansible's `Group.get_hosts` lists a
/// group's own hosts before its children's.
#[test]
fn hosts_of_all_itself_come_first_after_group_by_and_add_host() {
    let inventory = "all:\n  hosts:\n    solo: {ansible_connection: local}\n  children:\n    web:\n      hosts:\n        w1: {ansible_connection: local}\n        w2: {ansible_connection: local}\n";
    let site = "- hosts: all\n  gather_facts: false\n  tasks:\n    - group_by: {key: \"made_{{ inventory_hostname }}\"}\n    - add_host: {name: new1, groups: [web], ansible_connection: local}\n      run_once: true\n- hosts: all\n  gather_facts: false\n  vars: {ansible_python_interpreter: \"{{ ansible_playbook_python }}\"}\n  tasks:\n    - shell: echo \"{{ inventory_hostname }} all={{ groups['all'] }} play={{ ansible_play_hosts_all }} ungrouped={{ groups['ungrouped'] }} web={{ groups['web'] }}\" >> {{ playbook_dir }}/out\n      run_once: true\n";
    let out = same_out_with(inventory, &[("site.yml", site)]);
    assert_eq!(
        out,
        "solo all=['solo', 'new1', 'w1', 'w2'] play=['solo', 'new1', 'w1', 'w2'] ungrouped=[] web=['w1', 'w2', 'new1']\n"
    );
}

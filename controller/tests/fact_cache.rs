//! The fact cache (`ANSIBLE_CACHE_PLUGIN=jsonfile`): a `set_fact` with `cacheable: true`
//! is read back by the next run, below play vars; dr and ansible-playbook read each
//! other's cache files; `--flush-cache` clears it; a cache plugin dr does not implement is
//! refused with where it was set.
//!
//! Needs ansible-core (the oracle): `tests/run` installs it and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use util::{Dr, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n    h2:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

/// A `run_once` cacheable `set_fact` is cached for every host of the batch.
const WRITE_ONCE: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - set_fact:\n        leader: \"{{ inventory_hostname }}\"\n        cacheable: true\n      run_once: true\n";

const READ_ONCE: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - assert:\n        that:\n          - leader == 'h1'\n          - ansible_facts.leader == 'h1'\n          - hostvars['h2'].leader == 'h1'\n";

/// Sets `color` cacheable and `scratch` not.
const WRITE: &str = "- hosts: h1\n  gather_facts: false\n  tasks:\n    - set_fact:\n        color: blue\n        cacheable: true\n    - set_fact:\n        scratch: x\n";

/// A second run: `color` from the cache (also under `ansible_facts`), `scratch` gone.
const READ: &str = "- hosts: h1\n  gather_facts: false\n  tasks:\n    - assert:\n        that:\n          - color == 'blue'\n          - ansible_facts.color == 'blue'\n          - scratch is undefined\n- hosts: h1\n  gather_facts: false\n  vars:\n    color: red\n  tasks:\n    - assert:\n        that:\n          - color == 'red'\n";

/// Ansible writes `shape` cacheable, with its tags.
const WRITE_SHAPE: &str = "- hosts: h1\n  gather_facts: false\n  tasks:\n    - set_fact:\n        shape: round\n        sizes: [1, 2]\n        cacheable: yes\n";

const READ_SHAPE: &str = "- hosts: h1\n  gather_facts: false\n  tasks:\n    - assert:\n        that:\n          - shape == 'round'\n          - sizes == [1, 2]\n";

const NOTHING_CACHED: &str = "- hosts: h1\n  gather_facts: false\n  tasks:\n    - assert:\n        that:\n          - color is undefined\n          - shape is undefined\n";

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("hosts.yml", INVENTORY),
            ("write.yml", WRITE),
            ("read.yml", READ),
            ("write_shape.yml", WRITE_SHAPE),
            ("read_shape.yml", READ_SHAPE),
            ("nothing.yml", NOTHING_CACHED),
            ("write_once.yml", WRITE_ONCE),
            ("read_once.yml", READ_ONCE),
        ],
    );
    dir
}

const CACHE_ENV: [(&str, &str); 2] = [
    ("ANSIBLE_CACHE_PLUGIN", "jsonfile"),
    ("ANSIBLE_CACHE_PLUGIN_PREFIX", "prefix_"),
];

fn dr(dir: &Path, args: &[&str]) -> util::Run {
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-i", "hosts.yml", "--yes"]);
    let mut cmd = Dr::new(dir, &all).env("ANSIBLE_CACHE_PLUGIN_CONNECTION", &cache_dir(dir));
    for (k, v) in CACHE_ENV {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

fn ansible_playbook(dir: &Path, args: &[&str]) {
    let mut cmd = util::ansible("ansible-playbook");
    cmd.args(args)
        .args(["-i", "hosts.yml"])
        .current_dir(dir)
        .env("ANSIBLE_CACHE_PLUGIN_CONNECTION", cache_dir(dir));
    for (k, v) in CACHE_ENV {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("ansible-playbook runs");
    assert!(
        out.status.success(),
        "ansible-playbook {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cache_dir(dir: &Path) -> String {
    dir.join("cache").display().to_string()
}

#[test]
fn a_cacheable_fact_is_read_back_by_the_next_run() {
    let dir = repo();
    let d = dir.path();
    dr(d, &["write.yml"]).code(0);
    let file = d.join("cache/prefix_s1_h1");
    assert!(file.is_file(), "no cache file at {}", file.display());
    // dr's cache as ansible-playbook reads it, and as dr reads it.
    ansible_playbook(d, &["read.yml"]);
    dr(d, &["read.yml"]).code(0);
    // Cleared first, so nothing is read.
    dr(d, &["nothing.yml", "--flush-cache"]).code(0);
    assert!(!file.exists(), "--flush-cache left {}", file.display());
}

#[test]
fn dr_reads_the_cache_ansible_writes() {
    let dir = repo();
    let d = dir.path();
    ansible_playbook(d, &["write_shape.yml"]);
    dr(d, &["read_shape.yml"]).code(0);
    // And dr's rewrite of it (a fact added) stays readable by ansible-playbook.
    dr(d, &["write.yml"]).code(0);
    ansible_playbook(d, &["read_shape.yml"]);
    ansible_playbook(d, &["read.yml"]);
}

#[test]
fn without_a_cache_nothing_is_kept() {
    let dir = repo();
    let d = dir.path();
    Dr::new(d, &["apply", "write.yml", "-i", "hosts.yml", "--yes"])
        .run()
        .code(0);
    Dr::new(
        d,
        &[
            "apply",
            "nothing.yml",
            "-i",
            "hosts.yml",
            "--yes",
            "--flush-cache",
        ],
    )
    .run()
    .code(0);
    assert!(!d.join("cache").exists());
}

#[test]
fn an_unsupported_cache_plugin_is_refused_where_it_is_set() {
    let dir = repo();
    let d = dir.path();
    Dr::new(d, &["apply", "write.yml", "-i", "hosts.yml", "--yes"])
        .env("ANSIBLE_CACHE_PLUGIN", "redis")
        .run()
        .code(1)
        .stderr_has(
            "the `redis` fact cache plugin (set by `ANSIBLE_CACHE_PLUGIN`) is not supported by dr",
        );
    // A jsonfile cache needs its directory.
    Dr::new(d, &["apply", "write.yml", "-i", "hosts.yml", "--yes"])
        .env("ANSIBLE_CACHE_PLUGIN", "jsonfile")
        .env("ANSIBLE_CACHE_PLUGIN_CONNECTION", "")
        .run()
        .code(1)
        .stderr_has("needs a directory");
    write_tree(
        d,
        &[(
            "ansible.cfg",
            "[defaults]\nfact_caching = yaml\nfact_caching_connection = cache\n",
        )],
    );
    Dr::new(d, &["plan", "write.yml", "-i", "hosts.yml"])
        .run()
        .code(1)
        .stderr_has("the `yaml` fact cache plugin (set by `fact_caching`")
        .stderr_has("ansible.cfg:2");
}

#[test]
fn ansible_cfg_settings_name_the_cache() {
    let dir = repo();
    let d = dir.path();
    write_tree(
        d,
        &[(
            "ansible.cfg",
            "[defaults]\nfact_caching = jsonfile\nfact_caching_connection = cfgcache\nfact_caching_prefix = p_\nfact_caching_timeout = 0\n",
        )],
    );
    Dr::new(d, &["apply", "write.yml", "-i", "hosts.yml", "--yes"])
        .run()
        .code(0);
    assert!(d.join("cfgcache/p_s1_h1").is_file());
    Dr::new(d, &["apply", "read.yml", "-i", "hosts.yml", "--yes"])
        .run()
        .code(0);
}

#[test]
fn a_run_once_cacheable_fact_is_cached_for_the_whole_batch() {
    let dir = repo();
    let d = dir.path();
    dr(d, &["write_once.yml"]).code(0);
    assert!(d.join("cache/prefix_s1_h2").is_file());
    ansible_playbook(d, &["read_once.yml"]);
    dr(d, &["read_once.yml"]).code(0);
}

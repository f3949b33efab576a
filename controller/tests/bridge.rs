//! The module bridge end to end: modules dr has no native implementation of run as
//! Ansible's own module code (from the ansible-core the test installs, found the way a shell
//! finds `ansible-playbook`) under the host's Python, on the local connection and over SSH,
//! and leave what ansible-playbook leaves.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN;
//! without it these tests fail, never skip.

mod util;

use std::path::{Path, PathBuf};

use dr_testbed::sshd::{KeyPair, Sshd};
use util::{Dr, Run, write_tree};

/// Runs dr in `dir` with ansible-core on PATH and the module cache under `dir/cache`.
fn dr(dir: &Path, args: &[&str]) -> Run {
    Dr::new(dir, args)
        .env("PATH", &util::path_with_ansible())
        .env("XDG_CACHE_HOME", &dir.join("cache").display().to_string())
        .run()
}

/// A module of the project's own `library/` (dr has no native `conf_replace`): every match
/// of `regexp` replaced, with check mode and diff, in the shape of Ansible's `replace`.
const CONF_REPLACE: &str = r#"#!/usr/bin/python
import re
from ansible.module_utils.basic import AnsibleModule

def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type='path', required=True), regexp=dict(required=True),
                           replace=dict(default='')),
        supports_check_mode=True)
    path = module.params['path']
    with open(path) as f:
        before = f.read()
    after, n = re.subn(module.params['regexp'], module.params['replace'], before, flags=re.M)
    if after == before:
        module.exit_json(changed=False, msg='', rc=0)
    if not module.check_mode:
        with open(path, 'w') as f:
            f.write(after)
    module.exit_json(changed=True, msg='%d replacements made' % n, rc=0,
                     diff=dict(before=before, after=after, before_header=path, after_header=path))

main()
"#;

const LOCAL_INVENTORY: &str = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n";

/// `conf_replace` (the project's own module) beside the native `blockinfile`, its
/// registered result shown.
fn site(root: &Path) -> String {
    format!(
        "\
- hosts: all
  gather_facts: false
  tasks:
    - name: point the app at db-02
      conf_replace:
        path: {root}/app.conf
        regexp: 'db-01'
        replace: 'db-02'
      register: replaced
    - name: say what replace did
      debug:
        msg: 'replace: {{{{ replaced.msg }}}} changed={{{{ replaced.changed }}}}'
    - name: the managed block
      blockinfile:
        path: {root}/app.conf
        block: |
          pool = 10
          timeout = 5
",
        root = root.display()
    )
}

fn local_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("app.conf"), "url = postgres://db-01/app\n").unwrap();
    write_tree(
        dir.path(),
        &[
            ("inventory.yml", LOCAL_INVENTORY),
            ("site.yml", &site(&root)),
            ("library/conf_replace.py", CONF_REPLACE),
        ],
    );
    dir
}

const APPLIED: &str = "url = postgres://db-02/app\n# BEGIN ANSIBLE MANAGED BLOCK\npool = 10\ntimeout = 5\n# END ANSIBLE MANAGED BLOCK\n";

#[test]
fn bridged_modules_plan_apply_and_converge_on_the_local_connection() {
    let dir = local_fixture();
    let conf = dir.path().join("root/app.conf");

    // The plan shows both changes with their diffs and touches nothing.
    let plan = dr(dir.path(), &["plan", "site.yml", "-i", "inventory.yml"]);
    plan.code(2)
        .stdout_has("-url = postgres://db-01/app")
        .stdout_has("+url = postgres://db-02/app")
        .stdout_has("+pool = 10")
        .stdout_has("replace: 1 replacements made changed=True");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "url = postgres://db-01/app\n"
    );

    let apply = dr(dir.path(), &["apply", "site.yml", "-i", "inventory.yml"]);
    apply
        .code(0)
        .stdout_has("changed=2")
        .stdout_has("replace: 1 replacements made changed=True");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), APPLIED);
    // The bridged module's payload is cached on the host by its hash.
    let cached: Vec<_> = std::fs::read_dir(dir.path().join("cache/dr/modules"))
        .expect("the module cache exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached.iter().all(|n| n.len() == 68 && n.ends_with(".zip")));

    let again = dr(dir.path(), &["apply", "site.yml", "-i", "inventory.yml"]);
    again
        .code(0)
        .stdout_has("changed=0")
        .stdout_has("replace:  changed=False");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), APPLIED);
    dr(dir.path(), &["plan", "site.yml", "-i", "inventory.yml"]).code(0);
}

#[test]
fn a_module_without_check_mode_is_skipped_in_plan() {
    let dir = tempfile::tempdir().unwrap();
    let book = format!(
        "\
- hosts: all
  gather_facts: false
  tasks:
    - name: a scratch file
      ansible.builtin.tempfile:
        path: {}
      register: scratch
    - name: what it said
      debug:
        msg: 'skipped={{{{ scratch.skipped }}}} {{{{ scratch.msg }}}}'
      tags: [report]
",
        dir.path().display()
    );
    write_tree(
        dir.path(),
        &[("inventory.yml", LOCAL_INVENTORY), ("tmp.yml", &book)],
    );
    let plan = dr(dir.path(), &["plan", "tmp.yml", "-i", "inventory.yml"]);
    plan.code(0).stdout_has("skipped").stdout_has(
        "skipped=True remote module (ansible.builtin.tempfile) does not support check mode",
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ansible."))
        .collect();
    assert!(left.is_empty(), "plan created {left:?}");
    // Applied, it runs.
    dr(
        dir.path(),
        &[
            "apply",
            "tmp.yml",
            "-i",
            "inventory.yml",
            "--skip-tags",
            "report",
        ],
    )
    .code(0)
    .stdout_has("changed=1");
}

#[test]
fn module_names_resolve_or_are_refused_where_written() {
    let dir = tempfile::tempdir().unwrap();
    let book = |module: &str| {
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: t\n      {module}:\n        path: /nonexistent\n"
        )
    };
    write_tree(
        dir.path(),
        &[
            ("inventory.yml", LOCAL_INVENTORY),
            ("typo.yml", &book("replase")),
            ("assemble.yml", &book("assemble")),
            ("coll.yml", &book("no_such.collection.thing")),
            ("legacy.yml", &book("ansible.legacy.stat")),
        ],
    );
    dr(dir.path(), &["plan", "typo.yml", "-i", "inventory.yml"])
        .code(1)
        .stderr_has("unknown module or keyword `replase`")
        .stderr_has("typo.yml:5:7")
        .stderr_has("did you mean `replace`?");
    dr(dir.path(), &["plan", "assemble.yml", "-i", "inventory.yml"])
        .code(1)
        .stderr_has("module `assemble` is not supported by dr")
        .stderr_has("assemble.yml:5:7")
        .stderr_has("action plugin");
    dr(dir.path(), &["plan", "coll.yml", "-i", "inventory.yml"])
        .code(1)
        .stderr_has("unknown module or keyword `no_such.collection.thing`")
        .stderr_has("coll.yml:5:7");
    // `ansible.legacy.stat` is ansible-core's `stat`, run through the bridge.
    dr(dir.path(), &["plan", "legacy.yml", "-i", "inventory.yml"])
        .code(0)
        .stdout_has("ok=1");
    // `dr modules` lists both kinds.
    dr(dir.path(), &["modules"])
        .code(0)
        .stdout_has("native modules")
        .stdout_has("bridged modules")
        .stdout_has("  ansible.builtin.known_hosts\n");
}

#[test]
fn without_ansible_core_a_bridged_module_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    write_tree(
        dir.path(),
        &[
            ("inventory.yml", LOCAL_INVENTORY),
            (
                "site.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: t\n      ansible.builtin.known_hosts:\n        path: /x\n        name: y\n",
            ),
        ],
    );
    // No python3, no ansible-playbook on PATH.
    Dr::new(dir.path(), &["plan", "site.yml", "-i", "inventory.yml"])
        .env("PATH", &empty.display().to_string())
        .run()
        .code(1)
        .stderr_has("site.yml:5:7")
        .stderr_has("module `ansible.builtin.known_hosts` is not built into dr, and no ansible-core was found to run it")
        .stderr_has("pip install ansible-core");
}

#[test]
fn a_host_without_python_fails_with_a_clear_error_naming_the_module() {
    let dir = local_fixture();
    write_tree(
        dir.path(),
        &[(
            "inventory.yml",
            "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: /nonexistent/bin/python3\n",
        )],
    );
    dr(dir.path(), &["apply", "site.yml", "-i", "inventory.yml"])
        .code(1)
        .stdout_has("module `conf_replace` runs Ansible's own code, which needs Python on `h1`")
        .stdout_has("/nonexistent/bin/python3");
}

/// The same playbook run by ansible-playbook and by dr leaves the same file, and the same
/// registered results (written by each tool into a file).
#[test]
fn bridged_results_match_ansible_playbook() {
    let book = |root: &Path| {
        format!(
            "\
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.replace:
        path: {root}/app.conf
        regexp: '^(url = .*)db-01(.*)$'
        replace: '\\1db-02\\2'
      register: r1
    - blockinfile:
        path: {root}/app.conf
        marker: '# {{mark}} dr parity'
        insertbefore: BOF
        block: 'pool = 10'
      register: r2
    - ansible.builtin.find:
        paths: {root}
        patterns: '*.conf'
      register: r3
    - ansible.builtin.getent:
        database: passwd
        key: root
      register: r4
    - copy:
        dest: {root}/results.txt
        content: |
          r1 {{{{ r1.changed }}}} {{{{ r1.msg }}}} {{{{ r1.failed }}}}
          r2 {{{{ r2.changed }}}} {{{{ r2.msg }}}} {{{{ r2.failed }}}}
          r3 {{{{ r3.matched }}}} {{{{ r3.examined }}}} {{{{ r3.files | map(attribute='path') | list }}}}
          r4 {{{{ r4.changed }}}} {{{{ getent_passwd.root }}}} {{{{ r4.ansible_facts.getent_passwd.root }}}}
",
            root = root.display()
        )
    };
    let prepare = || {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("app.conf"), "a = 1\nurl = postgres://db-01/app\n").unwrap();
        write_tree(
            dir.path(),
            &[
                (
                    "inventory.yml",
                    "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n",
                ),
                ("site.yml", &book(&root)),
            ],
        );
        (dir, root)
    };
    let (ansible, a_root) = prepare();
    util::ansible_playbook(ansible.path(), &["-i", "inventory.yml", "site.yml"]);
    let (ours, d_root) = prepare();
    dr(ours.path(), &["apply", "site.yml", "-i", "inventory.yml"]).code(0);
    let read = |root: &Path, name: &str| std::fs::read_to_string(root.join(name)).unwrap();
    assert_eq!(read(&d_root, "app.conf"), read(&a_root, "app.conf"));
    let results =
        |root: &Path| read(root, "results.txt").replace(&root.display().to_string(), "ROOT");
    assert_eq!(results(&d_root), results(&a_root));
    assert!(
        results(&a_root).contains("r1 True 1 replacements made False"),
        "{}",
        results(&a_root)
    );
    // `getent` has no native version: it ran through the bridge, and its facts were set.
    assert!(
        results(&d_root).contains("r4 False ['x', '0', '0', 'root', '/root', "),
        "{}",
        results(&d_root)
    );
}

/// One sshd host on 127.0.0.1 per name; the inventory's `extra` lines go on every host.
struct Fleet {
    dir: tempfile::TempDir,
    _hosts: Vec<Sshd>,
}

impl Fleet {
    fn start(hosts: &[(&str, &str)]) -> Fleet {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = KeyPair::generate(&dir.path().join("client_key")).expect("client key");
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let mut inventory = format!(
            "all:\n  vars:\n    ansible_user: {user}\n    ansible_ssh_private_key_file: {}\n    \
             ansible_ssh_common_args: \"-F /dev/null -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null\"\n  hosts:\n",
            key.private.display(),
            dir.path().join("known_hosts").display()
        );
        let mut known = String::new();
        let mut started = Vec::new();
        for (name, extra) in hosts {
            let home = dir.path().join("hosts").join(name);
            let root = home.join("root");
            std::fs::create_dir_all(&root).unwrap();
            std::fs::write(root.join("app.conf"), "url = postgres://db-01/app\n").unwrap();
            let set_env = format!("SetEnv XDG_CACHE_HOME={}", home.join("cache").display());
            let sshd = Sshd::start(&home.join("sshd"), &[&key.public], &[&set_env]);
            inventory.push_str(&format!(
                "    {name}:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n      root_dir: {}\n",
                sshd.port,
                root.display()
            ));
            if !extra.is_empty() {
                inventory.push_str(&format!("      {extra}\n"));
            }
            known.push_str(&sshd.known_hosts_line());
            known.push('\n');
            started.push(sshd);
        }
        write_tree(
            dir.path(),
            &[("inventory.yml", &inventory), ("known_hosts", &known)],
        );
        Fleet {
            dir,
            _hosts: started,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn dr(&self, args: &[&str]) -> Run {
        Dr::new(self.path(), args)
            .env("PATH", &util::path_with_ansible())
            .env("SSH_AUTH_SOCK", "")
            .env("DR_AGENT", &agent_binary())
            .run()
    }

    fn conf(&self, host: &str) -> String {
        std::fs::read_to_string(self.path().join("hosts").join(host).join("root/app.conf")).unwrap()
    }
}

fn agent_binary() -> String {
    util::assert_fresh_agent();
    let path = PathBuf::from(env!("CARGO_BIN_EXE_dr")).with_file_name("dr-agent");
    assert!(path.is_file(), "build the agent: `cargo build -p dr-agent`");
    path.display().to_string()
}

const SSH_SITE: &str = "\
- hosts: all
  gather_facts: false
  tasks:
    - name: point the app at db-02
      conf_replace:
        path: '{{ root_dir }}/app.conf'
        regexp: 'db-01'
        replace: 'db-02'
";

#[test]
fn bridged_modules_run_over_ssh_and_a_host_without_python_fails_alone() {
    let fleet = Fleet::start(&[
        ("h1", ""),
        ("h2", "ansible_python_interpreter: /nonexistent/python3"),
    ]);
    write_tree(
        fleet.path(),
        &[
            ("site.yml", SSH_SITE),
            ("library/conf_replace.py", CONF_REPLACE),
        ],
    );
    let args = ["apply", "site.yml", "-i", "inventory.yml"];

    let plan = fleet.dr(&["plan", "site.yml", "-i", "inventory.yml"]);
    plan.stdout_has("+url = postgres://db-02/app");
    assert_eq!(fleet.conf("h1"), "url = postgres://db-01/app\n");

    let apply = fleet.dr(&args);
    apply
        .code(1)
        .stdout_has("module `conf_replace` runs Ansible's own code, which needs Python on `h2`");
    assert_eq!(fleet.conf("h1"), "url = postgres://db-02/app\n");
    assert_eq!(fleet.conf("h2"), "url = postgres://db-01/app\n");
    let cache = fleet.path().join("hosts/h1/cache/dr/modules");
    assert_eq!(
        std::fs::read_dir(&cache)
            .unwrap_or_else(|e| panic!("{}: {e}", cache.display()))
            .count(),
        1
    );

    let again = fleet.dr(&["apply", "site.yml", "-i", "inventory.yml", "--limit", "h1"]);
    again.code(0).stdout_has("changed=0");
}

#[test]
fn a_projects_own_action_plugin_is_named_as_what_dr_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inventory.yml", LOCAL_INVENTORY),
            (
                "action_plugins/mine.py",
                "from ansible.plugins.action import ActionBase\n",
            ),
            (
                "play.yml",
                "- hosts: all\n  gather_facts: false\n  roles: [r]\n",
            ),
            (
                "roles/r/tasks/main.yml",
                "- name: t\n  shell_no_failed: true\n",
            ),
            ("roles/r/action_plugins/shell_no_failed.py", "\n"),
            (
                "top.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - mine: {}\n",
            ),
        ],
    );
    dr(dir.path(), &["plan", "play.yml", "-i", "inventory.yml"])
        .code(1)
        .stderr_has(
            "`shell_no_failed` is the action plugin `roles/r/action_plugins/shell_no_failed.py`, which dr cannot run",
        )
        .stderr_has("roles/r/tasks/main.yml:2:3");
    dr(dir.path(), &["plan", "top.yml", "-i", "inventory.yml"])
        .code(1)
        .stderr_has("`mine` is the action plugin `action_plugins/mine.py`, which dr cannot run")
        .stderr_has("top.yml:4:7");
}

//! Lookups and `with_<lookup>` loops against the oracle: the same playbook
//! (`fixtures/lookups/site.yml`) run by ansible-playbook and by dr must leave the same log
//! (every step appends a line), and the `password` lookup's file has mode 0600.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use util::Dr;

fn fixture() -> tempfile::TempDir {
    util::fixture("lookups")
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("out").join(name))
        .unwrap_or_else(|e| panic!("cannot read {name} in {}: {e}", dir.display()))
}

#[test]
fn lookups_and_with_loops_give_what_ansible_gives() {
    let ansible = fixture();
    let out_arg = format!("out={}", ansible.path().join("out").display());
    let run = util::ansible("ansible-playbook")
        .args(["-i", "inventory.yml", "site.yml", "-e", &out_arg])
        .env("DR_LOOKUP_TEST", "set")
        .env_remove("DR_LOOKUP_UNSET")
        .current_dir(ansible.path())
        .output()
        .expect("ansible-playbook runs");
    assert!(
        run.status.success(),
        "ansible-playbook failed:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );

    let dr = fixture();
    let out_arg = format!("out={}", dr.path().join("out").display());
    Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "-e", &out_arg],
    )
    .env("DR_LOOKUP_TEST", "set")
    .run()
    .code(0);

    let expected = read(ansible.path(), "log");
    assert_eq!(
        read(dr.path(), "log"),
        expected,
        "dr's lookups differ from ansible-playbook's"
    );
    for line in [
        "role file role key {{ not_rendered }}",
        "motd [motd line]",
        "env set dflt",
        "envdef []",
        "origin <environment variable 'DR_LOOKUP_TEST'>",
        "kwarg True",
        "ff motd.txt",
        "ffzip motd.txt",
        "pipe 7 x+y",
        "tmpl hello 3",
        "glob b.conf",
        "dict port=5432",
        "sub alice k2",
        "seq n07",
        "vars hello d",
        "pw 12",
        "pw same True",
        "wi []",
        "wn []",
        "wl [abc]",
        "pglob ['site.yml'] True",
    ] {
        assert!(
            expected.contains(line),
            "fixture lost `{line}`:\n{expected}"
        );
    }
    let mode = std::fs::metadata(dr.path().join("out/pw"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "password file mode {mode:o}");
}

#[test]
fn plan_runs_controller_lookups_without_changing_the_host() {
    let dir = fixture();
    let out_arg = format!("out={}", dir.path().join("out").display());
    Dr::new(
        dir.path(),
        &["plan", "site.yml", "-i", "inventory.yml", "-e", &out_arg],
    )
    .run()
    .code(2);
    assert!(!dir.path().join("out/log").exists(), "plan wrote the log");
}

#[test]
fn an_unknown_with_lookup_is_refused_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    util::write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n",
            ),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: var=item\n      with_cartesian: [[1], [2]]\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("p.yml:5:7")
        .stderr_has("`with_cartesian`");
}

#[test]
fn a_lookup_on_a_registered_result_is_asked_for_while_the_play_runs() {
    let dir = tempfile::tempdir().unwrap();
    util::write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n",
            ),
            ("f.txt", "x\n"),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: echo f.txt\n      register: r\n    - debug:\n        msg: \"{{ lookup('file', r.stdout) }}\"\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0)
        .stdout_has("msg            h1  x\n");
}

#[test]
fn a_file_the_play_writes_is_read_by_a_later_lookup() {
    let dir = tempfile::tempdir().unwrap();
    util::write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n",
            ),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy: {content: \"written\\n\", dest: \"{{ playbook_dir }}/new.txt\"}\n    - debug:\n        msg: \"{{ lookup('file', playbook_dir + '/new.txt') }}\"\n",
            ),
        ],
    );
    // As Ansible reads it when the task runs: the file did not exist before the play.
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0)
        .stdout_has("msg            h1  written\n");
}

#[test]
fn an_unknown_lookup_in_a_template_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    util::write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n",
            ),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: touch ran\n    - debug:\n        msg: \"{{ lookup('community.general.cartesian', [1], [2]) }}\"\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("p.yml:5:7")
        .stderr_has("lookup plugin `community.general.cartesian` is not supported");
    assert!(
        !dir.path().join("ran").exists(),
        "a task ran before the refusal"
    );
}

#[test]
fn a_loop_over_null_fails_as_in_ansible() {
    let dir = tempfile::tempdir().unwrap();
    util::write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n",
            ),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  vars: {nothing: null}\n  tasks:\n    - debug: msg={{ item }}\n      loop: \"{{ nothing }}\"\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has("the `loop` value must resolve to a list, not null");
}

#[test]
fn lookups_on_what_only_the_host_knows_run_while_the_play_runs() {
    let dr = util::same_files_as_ansible("lookup_include", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert_eq!(out["picked"], "linux\n");
    assert_eq!(out["greeting"], "hello from the controller\n");
    assert_eq!(out["from_gen"], "from a file written during the run\n");
    assert_eq!(out["copied"], "made {{ family.stdout }}\n");
    assert_eq!(out["rendered"], "made linux\n");
}

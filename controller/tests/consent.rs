//! Destructive steps need consent: the plan names what they destroy, an apply without
//! `--yes` and without a terminal never destroys anything, and `/` (or an empty path, or a
//! system directory) is never removed whatever the flags.

mod util;

use std::path::Path;

use util::{Dr, snapshot, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    box:\n      ansible_connection: local\n";

/// A project in `dir` whose playbook writes a marker file, then removes `{{ app_dir }}`.
fn project(dir: &Path, app_dir: &str) {
    let playbook = format!(
        "- name: retire the app\n  hosts: box\n  gather_facts: false\n  vars:\n    app_dir: \"{app_dir}\"\n  tasks:\n    - name: note the retirement\n      copy:\n        content: retired\n        dest: \"{}/retired.txt\"\n    - name: remove the app\n      file:\n        path: \"{{{{ app_dir }}}}\"\n        state: absent\n",
        dir.display()
    );
    write_tree(dir, &[("inv.yml", INVENTORY), ("retire.yml", &playbook)]);
}

fn app_with_files(dir: &Path) -> std::path::PathBuf {
    let app = dir.join("srv/app");
    write_tree(
        &app,
        &[
            ("compose.yml", "services: {}\n"),
            ("data/db.sqlite", "rows"),
        ],
    );
    app
}

#[test]
fn a_non_empty_directory_is_named_in_the_plan_and_kept_by_an_apply_without_consent() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let app = app_with_files(cwd);
    project(cwd, &app.display().to_string());
    let files = snapshot(&app);

    let plan = Dr::new(cwd, &["plan", "retire.yml", "-i", "inv.yml"]).run();
    plan.code(2)
        .stdout_has("[DESTRUCTIVE]")
        .stdout_has(&format!(
            "removes directory `{}` and everything in it (2 files, 1 subdirectory)",
            app.display()
        ));

    // No terminal, no --yes: the agent refuses the removal and names the directory.
    let apply = Dr::new(cwd, &["apply", "retire.yml", "-i", "inv.yml"]).run();
    apply.code(1).stdout_has(&format!(
        "refusing to remove the non-empty directory `{}` (2 files, 1 subdirectory) without consent",
        app.display()
    ));
    assert_eq!(
        snapshot(&app),
        files,
        "the directory changed without consent"
    );

    let yes = Dr::new(cwd, &["apply", "retire.yml", "-i", "inv.yml", "--yes"]).run();
    yes.code(0);
    assert!(!app.exists(), "--yes did not remove the directory");
}

#[test]
fn an_empty_variable_never_makes_the_plan_remove_root() {
    // Only a plan runs here: check mode never removes, so nothing is at risk even if the
    // guard were gone; the plan must fail the task instead of planning to remove `/`.
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let playbook = "- hosts: box\n  gather_facts: false\n  vars:\n    app_dir: \"\"\n  tasks:\n    - name: remove the app\n      file:\n        path: \"{{ app_dir }}/\"\n        state: absent\n";
    write_tree(cwd, &[("inv.yml", INVENTORY), ("retire.yml", playbook)]);
    let plan = Dr::new(cwd, &["plan", "retire.yml", "-i", "inv.yml"]).run();
    plan.code(1)
        .stdout_has("refusing to remove `/`: dr never removes `/`, an empty path, a home directory or a top-level system directory, whatever the flags")
        .stdout_lacks("would change");
}

#[test]
fn a_step_destructive_by_its_arguments_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let playbook = format!(
        "- hosts: box\n  gather_facts: false\n  tasks:\n    - name: note the rebuild\n      copy:\n        content: started\n        dest: \"{}/started.txt\"\n    - name: rebuild the replica\n      postgres_replica:\n        data_dir: /var/lib/postgresql/15/main\n        primary_host: akira-db-02\n        destroy_data: true\n",
        cwd.display()
    );
    write_tree(cwd, &[("inv.yml", INVENTORY), ("rebuild.yml", &playbook)]);
    let apply = Dr::new(cwd, &["apply", "rebuild.yml", "-i", "inv.yml"]).run();
    apply
        .code(1)
        .stderr_has("refused: this apply has destructive steps and no terminal to confirm them; nothing was changed")
        .stderr_has("`rebuild the replica` (rebuild.yml:8:7) `/var/lib/postgresql/15/main`: empties a PostgreSQL data directory on box");
    assert!(
        !cwd.join("started.txt").exists(),
        "a task ran before the refusal"
    );
}

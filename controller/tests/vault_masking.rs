//! A vaulted password rendered into DATABASE_URL reaches the host, and nothing dr prints or
//! records contains it: plan, apply --diff, --format json, -vv logs, and the journal.

mod util;

use util::{Dr, write_tree};

const SECRET: &str = "Pa55-w0rd-from-vault";

fn setup(dir: &std::path::Path) {
    let hosts: String = (1..=3)
        .map(|i| {
            format!(
                "    app-0{i}:\n      ansible_connection: local\n      root: {}/root{i}\n",
                dir.display()
            )
        })
        .collect();
    write_tree(
        dir,
        &[
            ("inv.yml", &format!("all:\n  hosts:\n{hosts}")),
            ("pw", "correct horse battery staple\n"),
            (
                "secrets.yml",
                &format!("db_password: {SECRET}\nreplication_password: another-{SECRET}\n"),
            ),
            (
                "p.yml",
                r#"- name: env
  hosts: all
  gather_facts: false
  vars_files: [secrets.yml]
  tasks:
    - name: app dir
      file: {path: "{{ root }}", state: directory}
    - name: DATABASE_URL
      env_file:
        path: "{{ root }}/.env"
        set:
          DATABASE_URL: "postgres://app:{{ db_password }}@db-01:5432/akira"
          REPLICATION: "{{ replication_password }}"
    - name: say it
      debug:
        msg: "password is {{ db_password }}"
    - name: echo it
      command: echo {{ db_password }}
      register: echoed
      changed_when: false
      check_mode: false
    - name: show registered
      debug: {var: echoed.stdout}
    - name: hidden
      command: echo {{ replication_password }}
      no_log: true
      changed_when: false
- name: second play, same vault
  hosts: all
  gather_facts: false
  vars_files: [secrets.yml]
  tasks:
    - name: url in a file
      copy:
        content: "url=postgres://app:{{ db_password }}@db-02/akira\n"
        dest: "{{ root }}/url.txt"
"#,
            ),
        ],
    );
    util::vault_encrypt(dir, "secrets.yml");
    let vaulted = std::fs::read_to_string(dir.join("secrets.yml")).unwrap();
    assert!(vaulted.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") && !vaulted.contains(SECRET));
}

#[test]
fn vaulted_values_never_leave_unmasked() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    setup(cwd);
    let base = ["p.yml", "-i", "inv.yml", "--vault-password-file", "pw"];
    let with = |cmd: &str, extra: &[&str]| {
        let mut a = vec![cmd];
        a.extend(base);
        a.extend(extra);
        Dr::new(cwd, &a).run()
    };
    let mut everything = String::new();
    let plan = with("plan", &[]);
    plan.code(2)
        .stdout_has("DATABASE_URL=postgres://app:********@db-01:5432/akira");
    let apply = with("apply", &["--diff", "-vv"]);
    apply.code(0).stdout_has("password is ********");
    assert_eq!(
        apply.stderr.matches("decrypting vault file").count(),
        1,
        "the vault was not decrypted exactly once:\n{}",
        apply.stderr
    );
    let json = with("plan", &["--format", "json"]);
    json.code(0);
    let edited = std::fs::read_to_string(cwd.join("root2/.env"))
        .unwrap()
        .replace("db-01", "db-09");
    std::fs::write(cwd.join("root2/.env"), edited).unwrap();
    let drift = with("apply", &["--diff", "--format", "json"]);
    drift.code(0);
    for run in [&plan, &apply, &json, &drift] {
        everything.push_str(&run.stdout);
        everything.push_str(&run.stderr);
    }
    for entry in std::fs::read_dir(cwd.join(".dr/runs")).unwrap() {
        everything.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let report = Dr::new(cwd, &["report"]).run();
    everything.push_str(&report.stdout);
    assert!(
        !everything.contains(SECRET),
        "a vaulted value leaked:\n{}",
        everything
            .lines()
            .filter(|l| l.contains(SECRET))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(everything.contains("********"), "nothing was masked at all");

    // The host got the real value.
    let env = std::fs::read_to_string(cwd.join("root1/.env")).unwrap();
    assert!(
        env.contains(&format!("postgres://app:{SECRET}@db-01:5432/akira")),
        "{env}"
    );
    assert!(
        std::fs::read_to_string(cwd.join("root3/url.txt"))
            .unwrap()
            .contains(SECRET)
    );
}

#[test]
fn wrong_vault_password_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    std::fs::write(dir.path().join("wrong"), "not it\n").unwrap();
    let run = Dr::new(
        dir.path(),
        &[
            "plan",
            "p.yml",
            "-i",
            "inv.yml",
            "--vault-password-file",
            "wrong",
        ],
    )
    .run();
    run.code(1)
        .stderr_has("wrong vault password for `secrets.yml`");
    assert!(!run.stderr.contains(SECRET) && !run.stdout.contains(SECRET));
}

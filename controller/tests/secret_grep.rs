//! Secrets never print, nor does anything derived from them: a vaulted password and a
//! multi-line PEM-like key go through filters, slices, joins, encodings, facts, registered
//! results, templates, `copy content`, command lines and a later play, and every output
//! channel (plan and apply text, `--diff`, `-vvv`, `--format json`, `--format ansible`, the journal, `dr report`)
//! is searched for each derived form.

mod util;

use base64::Engine;
use util::{Dr, write_tree};

const PASSWORD: &str = "Sup3rSecretPassw0rd";
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASC
BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
MzEfYyjiWA4R4oM2bS1GB4t7NXp98C3S
-----END PRIVATE KEY-----
";
/// Printed by a `no_log` task (`echo NoLog$((6*7))Value`), so never written anywhere.
const NO_LOG_OUTPUT: &str = "NoLog42Value";

/// Every form of the secrets that must never be shown, with a name for the failure.
fn corpus() -> Vec<(String, String)> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut forms = vec![
        ("the password".into(), PASSWORD.to_owned()),
        ("upper".into(), PASSWORD.to_uppercase()),
        ("lower".into(), PASSWORD.to_lowercase()),
        ("b64encode".into(), b64(PASSWORD)),
        ("[2:10]".into(), PASSWORD[2..10].to_owned()),
        ("replace('e','3')".into(), PASSWORD.replace('e', "3")),
        ("reverse".into(), PASSWORD.chars().rev().collect()),
        (
            "list | join(',')".into(),
            PASSWORD
                .chars()
                .map(String::from)
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("key | b64encode".into(), b64(KEY)),
        ("no_log output".into(), NO_LOG_OUTPUT.to_owned()),
    ];
    for (i, line) in KEY.lines().enumerate() {
        forms.push((format!("key line {}", i + 1), line.to_owned()));
        forms.push((format!("key | upper, line {}", i + 1), line.to_uppercase()));
    }
    forms
}

const PLAYBOOK: &str = r#"- name: derive
  hosts: all
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    forms:
      upper: "{{ db_password | upper }}"
      b64: "{{ db_password | b64encode }}"
      chars: "{{ db_password | list | join(',') }}"
  tasks:
    - name: app dir
      file: {path: "{{ root }}", state: directory}
    - name: show {{ db_password | lower }}
      debug:
        msg: "slice={{ db_password[2:10] }} replaced={{ db_password | replace('e', '3') }} reversed={{ db_password | reverse }}"
    - name: url
      debug:
        msg: "postgres://app:{{ db_password | upper }}@db-01:5432/akira"
    - name: suffix and json
      debug:
        msg: "{{ db_password ~ '-suffix' }} {{ tls_key | to_json }} {{ [db_password, 'x'] | join('+') }}"
    - name: nested vars
      debug: {var: forms}
    - name: derived facts
      set_fact:
        up: "{{ db_password | upper }}"
        key_b64: "{{ tls_key | b64encode }}"
        key_upper: "{{ tls_key | upper }}"
    - debug: {var: up}
    - debug: {var: key_b64}
    - debug: {var: key_upper}
    - name: key file
      copy:
        content: "{{ tls_key }}"
        dest: "{{ root }}/tls.key"
    - name: derived key file
      copy:
        content: "{{ tls_key | upper }}"
        dest: "{{ root }}/tls.upper"
    - name: config from a template
      template:
        src: app.conf.j2
        dest: "{{ root }}/app.conf"
    - name: run with derived args
      command: echo {{ db_password | reverse }} {{ db_password | b64encode }}
      register: echoed
      changed_when: false
      check_mode: false
    - debug: {var: echoed}
    - debug: {var: echoed.stdout_lines}
    - name: a secret of its own
      shell: echo NoLog$((6*7))Value
      register: hidden
      no_log: true
      changed_when: false
      check_mode: false
    - debug: {var: hidden.stdout}
- name: a later play reads the facts
  hosts: all
  gather_facts: false
  tasks:
    - debug: {var: up}
    - debug: {msg: "{{ key_b64 }} {{ hidden.stdout | default('') }}"}
"#;

const TEMPLATE: &str = "[server]
name = app
password = {{ db_password | lower }}
token = {{ db_password | b64encode }}
{% for line in tls_key.split('\\n') %}
key: {{ line | upper }}
{% endfor %}
port = 8443
";

fn setup(dir: &std::path::Path) {
    let indented: String = KEY.lines().map(|l| format!("  {l}\n")).collect();
    write_tree(
        dir,
        &[
            (
                "inv.yml",
                &format!(
                    "all:\n  hosts:\n    app-01:\n      ansible_connection: local\n      root: {}/root\n",
                    dir.display()
                ),
            ),
            ("pw", "correct horse battery staple\n"),
            (
                "secrets.yml",
                &format!("db_password: {PASSWORD}\ntls_key: |\n{indented}"),
            ),
            ("p.yml", PLAYBOOK),
            ("app.conf.j2", TEMPLATE),
        ],
    );
    util::vault_encrypt(dir, "secrets.yml");
}

#[test]
fn derived_secrets_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    setup(cwd);
    let run = |cmd: &str, extra: &[&str]| {
        let mut args = vec![cmd, "p.yml", "-i", "inv.yml", "--vault-password-file", "pw"];
        args.extend(extra);
        Dr::new(cwd, &args).run()
    };
    let mut channels: Vec<(String, String)> = Vec::new();
    let keep = |channels: &mut Vec<(String, String)>, name: &str, r: &util::Run| {
        channels.push((format!("{name} (stdout)"), r.stdout.clone()));
        channels.push((format!("{name} (stderr)"), r.stderr.clone()));
    };

    let plan = run("plan", &[]);
    plan.code(2)
        .stdout_has("postgres://app:********@db-01:5432/akira")
        .stdout_has("+password = ********");
    keep(&mut channels, "dr plan", &plan);
    let plan_v = run("plan", &["-vvv"]);
    plan_v.code(2);
    keep(&mut channels, "dr plan -vvv", &plan_v);
    let plan_json = run("plan", &["--format", "json"]);
    keep(&mut channels, "dr plan --format json", &plan_json);
    let plan_ansible = run("plan", &["--format", "ansible", "-vvv"]);
    plan_ansible.code(2).stdout_has("PLAY RECAP");
    keep(
        &mut channels,
        "dr plan --format ansible -vvv",
        &plan_ansible,
    );
    let apply = run("apply", &["--diff", "-vvv"]);
    apply
        .code(0)
        .stdout_has("postgres://app:********@db-01:5432/akira");
    keep(&mut channels, "dr apply --diff -vvv", &apply);
    // The host got the real values.
    let conf = std::fs::read_to_string(cwd.join("root/app.conf")).unwrap();
    assert!(conf.contains(&PASSWORD.to_lowercase()), "{conf}");
    assert_eq!(
        std::fs::read_to_string(cwd.join("root/tls.key")).unwrap(),
        KEY
    );

    // Drift: the next plan and apply diff against files that hold the secrets.
    std::fs::write(
        cwd.join("root/app.conf"),
        conf.replace("port = 8443", "port = 1"),
    )
    .unwrap();
    std::fs::write(cwd.join("root/tls.upper"), "old\n").unwrap();
    let drift_plan = run("plan", &[]);
    drift_plan.code(2);
    keep(&mut channels, "dr plan after drift", &drift_plan);
    let drift_apply = run("apply", &["--diff", "--format", "json"]);
    drift_apply.code(0);
    keep(&mut channels, "dr apply --format json", &drift_apply);
    let again = run("apply", &["--diff"]);
    again.code(0);
    keep(&mut channels, "second dr apply", &again);

    for entry in std::fs::read_dir(cwd.join(".dr/runs")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        channels.push((format!("journal {}", path.display()), text));
    }
    let report = Dr::new(cwd, &["report"]).run();
    report.code(0);
    keep(&mut channels, "dr report", &report);
    let report_json = Dr::new(cwd, &["report", "--format", "json"]).run();
    keep(&mut channels, "dr report --format json", &report_json);

    let mut leaks = Vec::new();
    for (form_name, form) in corpus() {
        for (channel, text) in &channels {
            for line in text.lines().filter(|l| l.contains(&form)) {
                leaks.push(format!("{form_name} `{form}` in {channel}: {line}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "derived secrets leaked:\n{}",
        leaks.join("\n")
    );
    let all: String = channels.iter().map(|(_, t)| t.as_str()).collect();
    assert!(all.contains("********"), "nothing was masked at all");
    // Text that does not depend on a secret stays readable.
    assert!(plan.stdout.contains("+port = 8443"), "{}", plan.stdout);
}

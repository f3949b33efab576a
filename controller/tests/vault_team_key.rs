//! The team key, end to end through the real binary: `dr vault keygen` writes a 0600
//! passphrase-protected identity, `dr vault migrate` moves ten passphrase vaults onto it, and
//! a play reading vaulted vars from all ten plans and applies (local connection) with the
//! right values, none of them printed. Wrong password, missing key, a vault sealed to another
//! recipient: each fails naming the file; a failed migration leaves the originals.

mod util;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use util::{Dr, write_tree};

const N: usize = 10;
/// Tests need the format, not the strength: a cheap scrypt for the vault files and the key.
const CHEAP: &str = "10";

fn secret(i: usize) -> String {
    format!("t3am-S3cret-{i}-zq")
}

fn dr(dir: &Path, args: &[&str]) -> Dr {
    Dr::new(dir, args).env("DR_VAULT_TEST_SCRYPT_WORK_FACTOR", CHEAP)
}

fn sealed(dir: &Path, file: &str) -> dr::vault::Sealed {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).unwrap();
    dr::vault::sealed_to(&path, &bytes).unwrap()
}

/// Ten passphrase vault files (one secret each), a play that writes all ten into a file on
/// the local host, dr.toml naming the password file.
fn setup(dir: &Path) {
    let vars_files: Vec<String> = (0..N).map(|i| format!("vault/v{i}.yml")).collect();
    let content: String = (0..N).map(|i| format!("{{{{ secret_{i} }}}}\\n")).collect();
    let playbook = format!(
        "- name: all ten vaults\n  hosts: all\n  gather_facts: false\n  vars_files: [{}]\n  \
         tasks:\n    - name: secrets file\n      copy:\n        content: \"{content}\"\n        \
         dest: \"{}/out/secrets.txt\"\n        mode: \"0600\"\n",
        vars_files.join(", "),
        dir.display()
    );
    let mut files = vec![
        (
            "dr.toml".to_owned(),
            "vault_password_file = \"pw\"\n".to_owned(),
        ),
        ("pw".to_owned(), "correct horse battery staple\n".to_owned()),
        (
            "inv.yml".to_owned(),
            "all:\n  hosts:\n    local-01:\n      ansible_connection: local\n".to_owned(),
        ),
        ("p.yml".to_owned(), playbook),
    ];
    for i in 0..N {
        files.push((
            format!("vault/v{i}.yml"),
            format!("secret_{i}: \"{}\"\n", secret(i)),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write_tree(dir, &refs);
    std::fs::create_dir_all(dir.join("out")).unwrap();
    for i in 0..N {
        dr(dir, &["vault", "encrypt", &format!("vault/v{i}.yml")])
            .run()
            .code(0);
        assert_eq!(
            sealed(dir, &format!("vault/v{i}.yml")),
            dr::vault::Sealed::Passphrase { log_n: 10 }
        );
    }
}

fn keygen(dir: &Path) {
    let run = dr(dir, &["vault", "keygen", "--work-factor", CHEAP]).run();
    run.code(0).stderr_has("created team key `vault/.key.age`");
    let key = dir.join("vault/.key.age");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key file is private");
    assert_eq!(
        sealed(dir, "vault/.key.age"),
        dr::vault::Sealed::Passphrase { log_n: 10 }
    );
}

fn migrate_all(dir: &Path) {
    let mut args = vec!["vault".to_owned(), "migrate".to_owned()];
    args.extend((0..N).map(|i| format!("vault/v{i}.yml")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = dr(dir, &args).run();
    run.code(0)
        .stderr_has("migrated `vault/v9.yml` to the team key");
    for i in 0..N {
        assert_eq!(
            sealed(dir, &format!("vault/v{i}.yml")),
            dr::vault::Sealed::Recipients { stanzas: 1 }
        );
    }
}

fn assert_never_printed(run: &util::Run) {
    for i in 0..N {
        assert!(
            !run.stdout.contains(&secret(i)) && !run.stderr.contains(&secret(i)),
            "secret {i} printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn ten_migrated_vaults_plan_and_apply_with_the_team_key() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    keygen(dir.path());
    migrate_all(dir.path());
    // Migrating again changes nothing.
    dr(dir.path(), &["vault", "migrate", "vault/v0.yml"])
        .run()
        .code(0)
        .stderr_has("`vault/v0.yml` already uses the team key");

    // `dr plan` exits 2: it would change something.
    let plan = dr(dir.path(), &["plan", "p.yml", "-i", "inv.yml"]).run();
    plan.code(2).stdout_has("secrets file");
    assert_never_printed(&plan);

    let apply = dr(dir.path(), &["apply", "p.yml", "-i", "inv.yml", "--diff"]).run();
    apply.code(0);
    assert_never_printed(&apply);
    let expected: String = (0..N).map(|i| format!("{}\n", secret(i))).collect();
    let written = std::fs::read_to_string(dir.path().join("out/secrets.txt")).unwrap();
    assert_eq!(written, expected);

    // A second apply changes nothing.
    let again = dr(
        dir.path(),
        &["apply", "p.yml", "-i", "inv.yml", "--format", "json"],
    )
    .run();
    again.code(0);
    assert_never_printed(&again);
    assert_eq!(again.json()["changed"], 0, "{}", again.stdout);

    // One key derivation for the run: the team key is opened once for the ten files.
    let logged = dr(dir.path(), &["plan", "p.yml", "-i", "inv.yml", "-vv"]).run();
    logged.code(0).stdout_has("No changes.");
    assert_eq!(
        logged.stderr.matches("opening the team key").count(),
        1,
        "{}",
        logged.stderr
    );
    assert_eq!(
        logged.stderr.matches("decrypting vault file").count(),
        N,
        "{}",
        logged.stderr
    );
    assert_never_printed(&logged);

    // `view` opens a migrated file with the team key.
    dr(dir.path(), &["vault", "view", "vault/v3.yml"])
        .run()
        .code(0)
        .stdout_has(&secret(3));
}

#[test]
fn passphrase_and_team_key_vaults_mix_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    keygen(dir.path());
    // Only half migrate; the rest stay passphrase vaults.
    dr(
        dir.path(),
        &[
            "vault",
            "migrate",
            "vault/v0.yml",
            "vault/v1.yml",
            "vault/v2.yml",
        ],
    )
    .run()
    .code(0);
    assert_eq!(
        sealed(dir.path(), "vault/v5.yml"),
        dr::vault::Sealed::Passphrase { log_n: 10 }
    );
    let apply = dr(dir.path(), &["apply", "p.yml", "-i", "inv.yml"]).run();
    apply.code(0);
    assert_never_printed(&apply);
    let written = std::fs::read_to_string(dir.path().join("out/secrets.txt")).unwrap();
    assert!(written.contains(&secret(0)) && written.contains(&secret(9)));
}

#[test]
fn wrong_password_fails_clearly_and_migration_keeps_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    keygen(dir.path());
    let before: Vec<Vec<u8>> = (0..N)
        .map(|i| std::fs::read(dir.path().join(format!("vault/v{i}.yml"))).unwrap())
        .collect();
    std::fs::write(dir.path().join("wrong"), "not it\n").unwrap();

    // The key opens with `wrong`? No: the key file itself refuses it, before any vault.
    let run = dr(
        dir.path(),
        &[
            "vault",
            "migrate",
            "vault/v0.yml",
            "vault/v1.yml",
            "--vault-password-file",
            "wrong",
        ],
    )
    .run();
    run.code(1)
        .stderr_has("wrong vault password for the team key `vault/.key.age`");

    // A key made with another password than the vaults': the key opens, the vault does not,
    // and nothing is written — not even the files before the bad one.
    std::fs::remove_file(dir.path().join("vault/.key.age")).unwrap();
    dr(
        dir.path(),
        &[
            "vault",
            "keygen",
            "--work-factor",
            CHEAP,
            "--vault-password-file",
            "wrong",
        ],
    )
    .run()
    .code(0);
    let run = dr(
        dir.path(),
        &[
            "vault",
            "migrate",
            "vault/v0.yml",
            "vault/v1.yml",
            "--vault-password-file",
            "wrong",
        ],
    )
    .run();
    run.code(1)
        .stderr_has("wrong vault password for `vault/v0.yml`");
    for (i, bytes) in before.iter().enumerate() {
        let now = std::fs::read(dir.path().join(format!("vault/v{i}.yml"))).unwrap();
        assert_eq!(&now, bytes, "vault/v{i}.yml untouched");
    }
    let names: Vec<String> = std::fs::read_dir(dir.path().join("vault"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".dr-vault-"))
        .collect();
    assert!(names.is_empty(), "temp files left: {names:?}");

    // A run whose password does not open the team key names the key and the vault.
    std::fs::remove_file(dir.path().join("vault/.key.age")).unwrap();
    keygen(dir.path());
    migrate_all(dir.path());
    let run = dr(
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
    run.code(1).stderr_has(
        "wrong vault password for the team key `vault/.key.age` (needed to open `vault/v0.yml`)",
    );
    assert_never_printed(&run);
}

#[test]
fn missing_key_and_foreign_recipient_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    keygen(dir.path());
    migrate_all(dir.path());

    // A vault sealed to someone else's key.
    let other = dr::vault::AgeIdentity::generate().to_public().to_string();
    write_tree(dir.path(), &[("vault/other.yml", "secret_x: y\n")]);
    dr(
        dir.path(),
        &["vault", "encrypt", "vault/other.yml", "-r", &other],
    )
    .run()
    .code(0);
    let run = dr(dir.path(), &["vault", "view", "vault/other.yml"]).run();
    run.code(1)
        .stderr_has("`vault/other.yml` is not encrypted to the team key `vault/.key.age` (age1");
    let run = dr(dir.path(), &["vault", "migrate", "vault/other.yml"]).run();
    run.code(1)
        .stderr_has("`vault/other.yml` is not encrypted to the team key");

    std::fs::rename(
        dir.path().join("vault/.key.age"),
        dir.path().join("key.bak"),
    )
    .unwrap();
    let run = dr(dir.path(), &["plan", "p.yml", "-i", "inv.yml"]).run();
    run.code(1).stderr_has(
        "`vault/v0.yml` is encrypted to age recipients, but the team key `vault/.key.age` does not exist",
    );
    let run = dr(dir.path(), &["vault", "migrate", "vault/v0.yml"]).run();
    run.code(1).stderr_has(
        "the team key `vault/.key.age` does not exist: create it with `dr vault keygen`",
    );

    // `vault_key_file` in dr.toml moves it.
    write_tree(
        dir.path(),
        &[(
            "dr.toml",
            "vault_password_file = \"pw\"\nvault_key_file = \"key.bak\"\n",
        )],
    );
    dr(dir.path(), &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(2);
}

#[test]
fn new_files_are_sealed_to_the_team_key_and_keygen_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    keygen(dir.path());
    let key_before = std::fs::read(dir.path().join("vault/.key.age")).unwrap();
    dr(dir.path(), &["vault", "keygen"])
        .run()
        .code(1)
        .stderr_has("the team key `vault/.key.age` already exists");
    assert_eq!(
        std::fs::read(dir.path().join("vault/.key.age")).unwrap(),
        key_before
    );

    write_tree(
        dir.path(),
        &[("vault/new.yml", "secret_new: fresh-S3cret\n")],
    );
    dr(dir.path(), &["vault", "encrypt", "vault/new.yml"])
        .run()
        .code(0);
    assert_eq!(
        sealed(dir.path(), "vault/new.yml"),
        dr::vault::Sealed::Recipients { stanzas: 1 }
    );
    dr(dir.path(), &["vault", "view", "vault/new.yml"])
        .run()
        .code(0)
        .stdout_has("fresh-S3cret");
    // An explicit password file still makes a passphrase vault.
    write_tree(dir.path(), &[("vault/pw.yml", "a: b\n")]);
    dr(
        dir.path(),
        &[
            "vault",
            "encrypt",
            "vault/pw.yml",
            "--vault-password-file",
            "pw",
        ],
    )
    .run()
    .code(0);
    assert_eq!(
        sealed(dir.path(), "vault/pw.yml"),
        dr::vault::Sealed::Passphrase { log_n: 10 }
    );

    // `edit` keeps a team-key file on the team key.
    let editor = dir.path().join("ed.sh");
    write_tree(
        dir.path(),
        &[("ed.sh", "#!/bin/sh\necho 'added: 1' >> \"$1\"\n")],
    );
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    dr(dir.path(), &["vault", "edit", "vault/new.yml"])
        .env("EDITOR", editor.to_str().unwrap())
        .env("VISUAL", editor.to_str().unwrap())
        .run()
        .code(0);
    assert_eq!(
        sealed(dir.path(), "vault/new.yml"),
        dr::vault::Sealed::Recipients { stanzas: 1 }
    );
    dr(dir.path(), &["vault", "view", "vault/new.yml"])
        .run()
        .code(0)
        .stdout_has("added: 1");
}

#[test]
fn changing_the_password_reseals_only_the_key_file_at_its_work_factor() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    keygen(dir.path());
    migrate_all(dir.path());
    let v0 = std::fs::read(dir.path().join("vault/v0.yml")).unwrap();
    write_tree(dir.path(), &[("new-pw", "a much longer new passphrase\n")]);
    dr(
        dir.path(),
        &[
            "vault",
            "rekey",
            "vault/.key.age",
            "--new-vault-password-file",
            "new-pw",
        ],
    )
    .run()
    .code(0);
    assert_eq!(
        sealed(dir.path(), "vault/.key.age"),
        dr::vault::Sealed::Passphrase { log_n: 10 }
    );
    let key = dir.path().join("vault/.key.age");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(std::fs::read(dir.path().join("vault/v0.yml")).unwrap(), v0);
    dr(
        dir.path(),
        &[
            "plan",
            "p.yml",
            "-i",
            "inv.yml",
            "--vault-password-file",
            "new-pw",
        ],
    )
    .run()
    .code(2);
    dr(dir.path(), &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("wrong vault password for the team key");
}

#[test]
fn group_vars_vaults_in_five_groups_open_with_the_team_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let groups: String = (0..5)
        .map(|g| format!("    g{g}:\n      hosts:\n        local-01:\n"))
        .collect();
    let content: String = (0..5)
        .map(|g| format!("{{{{ gsecret_{g} }}}}\\n"))
        .collect();
    write_tree(
        d,
        &[
            ("dr.toml", "vault_password_file = \"pw\"\n"),
            ("pw", "correct horse battery staple\n"),
            (
                "inv.yml",
                &format!(
                    "all:\n  hosts:\n    local-01:\n      ansible_connection: local\n  children:\n{groups}"
                ),
            ),
            (
                "p.yml",
                &format!(
                    "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: group secrets\n      \
                     copy:\n        content: \"{content}\"\n        dest: \"{}/g.txt\"\n",
                    d.display()
                ),
            ),
        ],
    );
    for g in 0..5 {
        let file = format!("group_vars/g{g}/vault.yml");
        write_tree(
            d,
            &[(
                file.as_str(),
                &format!("gsecret_{g}: \"{}\"\n", secret(100 + g)),
            )],
        );
        dr(d, &["vault", "encrypt", &file]).run().code(0);
    }
    keygen(d);
    let files: Vec<String> = (0..5)
        .map(|g| format!("group_vars/g{g}/vault.yml"))
        .collect();
    let mut args = vec!["vault", "migrate"];
    args.extend(files.iter().map(String::as_str));
    dr(d, &args).run().code(0);
    for f in &files {
        assert_eq!(sealed(d, f), dr::vault::Sealed::Recipients { stanzas: 1 });
    }
    let apply = dr(d, &["apply", "p.yml", "-i", "inv.yml"]).run();
    apply.code(0);
    let expected: String = (0..5).map(|g| format!("{}\n", secret(100 + g))).collect();
    assert_eq!(std::fs::read_to_string(d.join("g.txt")).unwrap(), expected);
    for g in 0..5 {
        assert!(
            !apply.stdout.contains(&secret(100 + g)) && !apply.stderr.contains(&secret(100 + g))
        );
    }
}

//! Vault: age round trips for every `dr vault` operation, clear errors on wrong keys and
//! damaged files, no plaintext left behind, and migration from ansible-vault.
//!
//! `real_ansible_vault_output_imports` runs the real `ansible-vault`. Set it up with:
//!
//! ```sh
//! python3 -m venv target/ansible-venv
//! target/ansible-venv/bin/pip install ansible-core
//! export DR_TEST_ANSIBLE_BIN=$PWD/target/ansible-venv/bin
//! cargo test -p dr --test vault
//! ```

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use clap::Parser;
use dr::vault::command::{Defaults, VaultAction, VaultCommand};
use dr::vault::ops::{self, EditOutcome, Seal};
use dr::vault::{self, AgeIdentity, KeyOptions, Passphrase, VaultCache, VaultError, VaultKey};

const PLAIN: &str = "db_password: \"S3cr3t-primary!\"\nreplication_password: r3pl\n";

fn fast() {
    // Debug-build tests must not pay a second of scrypt per vault.
    vault::set_scrypt_work_factor_for_tests(10);
}

fn pass(p: &str) -> VaultKey {
    fast();
    VaultKey::Passphrase(Passphrase::new(p))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vault")
        .join(name)
}

/// Every file in `dir`, by name, to prove nothing (temp or plaintext) was left behind.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn assert_no_plaintext(dir: &Path) {
    for name in listing(dir) {
        let text = fs::read_to_string(dir.join(&name)).unwrap_or_default();
        assert!(
            !text.contains("S3cr3t-primary"),
            "plaintext left in `{name}`"
        );
    }
}

/// A plain file, encrypted in place.
fn vault_file(dir: &Path, name: &str, seal: &Seal) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, PLAIN).expect("write plain");
    ops::encrypt_file(&path, seal).expect("encrypt");
    path
}

fn write_key_files(dir: &Path, password: &str) -> PathBuf {
    let path = dir.join("pw.txt");
    fs::write(&path, format!("{password}\n")).expect("write password file");
    path
}

fn identity_file(dir: &Path, name: &str) -> (PathBuf, AgeIdentity) {
    use age::secrecy::ExposeSecret;
    let id = AgeIdentity::generate();
    let path = dir.join(name);
    fs::write(
        &path,
        format!("# test identity\n{}\n", id.to_string().expose_secret()),
    )
    .expect("write identity");
    (path, id)
}

/// Parses `dr vault ...` arguments the way the CLI will.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    vault: VaultCommand,
}

fn cli(args: &[&str]) -> VaultCommand {
    let mut all = vec!["vault"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).expect("arguments parse").vault
}

/// Runs a command; returns (exit code, stdout, stderr) or the error.
fn run(cmd: &VaultCommand, editor: &str) -> Result<(i32, String, String), VaultError> {
    fast();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = vault::command::run_to(cmd, &Defaults::default(), editor, &mut out, &mut err)?;
    Ok((
        code,
        String::from_utf8(out).expect("utf8"),
        String::from_utf8(err).expect("utf8"),
    ))
}

/// An editor script that logs the path and mode of the file it was given, then runs `action`
/// on it (`$1`).
fn editor(dir: &Path, action: &str) -> (String, PathBuf) {
    let log = dir.join("editor.log");
    let script = dir.join("editor.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$1 $(stat -c %a \"$1\")\" > '{}'\n{action}\n",
            log.display()
        ),
    )
    .expect("write editor");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    (script.display().to_string(), log)
}

/// The temp file the editor saw: it had mode 0600 and is gone now.
fn assert_editor_temp_removed(log: &Path) {
    let line = fs::read_to_string(log).expect("editor ran");
    let (path, mode) = line.trim().rsplit_once(' ').expect("path and mode");
    assert_eq!(mode, "600", "editor temp file mode");
    assert!(
        !Path::new(path).exists(),
        "editor temp file `{path}` left behind"
    );
    assert!(
        !Path::new(path).parent().expect("parent").exists(),
        "editor temp dir left behind"
    );
}

#[test]
fn passphrase_encrypt_view_decrypt_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = pass("pw");
    let path = vault_file(dir.path(), "secrets.yml", &Seal::from_key(&key));
    let armored = fs::read_to_string(&path).expect("read");
    assert!(
        armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
        "{armored}"
    );
    assert!(
        armored
            .trim_end()
            .ends_with("-----END AGE ENCRYPTED FILE-----")
    );
    assert!(vault::is_vault(armored.as_bytes()));
    assert!(!armored.contains("S3cr3t"));
    assert_eq!(ops::open(&path, &key).expect("open").as_str(), PLAIN);

    // view and decrypt (stdout) through the CLI types.
    let pw = write_key_files(dir.path(), "pw");
    let pw = pw.to_str().expect("utf8 path");
    let file = path.to_str().expect("utf8 path");
    let (code, out, _) =
        run(&cli(&["view", file, "--vault-password-file", pw]), "false").expect("view");
    assert_eq!((code, out.as_str()), (0, PLAIN));
    let (_, out, _) = run(
        &cli(&["decrypt", file, "--vault-password-file", pw]),
        "false",
    )
    .expect("decrypt");
    assert_eq!(out, PLAIN);
    assert!(
        vault::is_vault(&fs::read(&path).expect("read")),
        "stdout decrypt must not touch the file"
    );

    // decrypt in place: plaintext, mode 0600, nothing else in the directory.
    run(
        &cli(&["decrypt", file, "--vault-password-file", pw, "--in-place"]),
        "false",
    )
    .expect("in place");
    assert_eq!(fs::read_to_string(&path).expect("read"), PLAIN);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(listing(dir.path()), ["pw.txt", "secrets.yml"]);
}

#[test]
fn files_from_plain_age_with_the_calibrated_work_factor_open() {
    use std::io::Write;
    // What `age -p -a` writes: age picks scrypt's work factor for ~1 s on this machine. This
    // also checks the dev profile builds scrypt optimised (otherwise this takes many seconds).
    let secret = age::secrecy::SecretString::from("pw".to_owned());
    let mut armored = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut armored, age::armor::Format::AsciiArmor)
            .expect("armor");
    let mut w = age::Encryptor::with_user_passphrase(secret)
        .wrap_output(armor)
        .expect("encrypt");
    w.write_all(PLAIN.as_bytes()).expect("write");
    w.finish().and_then(|a| a.finish()).expect("finish");
    let started = std::time::Instant::now();
    let plain = vault::decrypt(
        Path::new("v.yml"),
        &armored,
        &VaultKey::Passphrase(Passphrase::new("pw")),
    )
    .expect("decrypt");
    assert_eq!(plain.as_str(), PLAIN);
    let took = started.elapsed();
    assert!(
        took.as_secs() < 15,
        "scrypt decrypt took {took:?}: is scrypt built with opt-level 3?"
    );
}

#[test]
fn decrypt_to_output_file_is_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = pass("pw");
    let path = vault_file(dir.path(), "v.yml", &Seal::from_key(&key));
    let out = dir.path().join("plain.yml");
    ops::decrypt_file(&path, &key, &out).expect("decrypt");
    assert_eq!(fs::read_to_string(&out).expect("read"), PLAIN);
    assert_eq!(mode(&out), 0o600);
}

#[test]
fn identities_team_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (alice_file, alice) = identity_file(dir.path(), "alice.key");
    let (_, bob) = identity_file(dir.path(), "bob.key");
    let (_, mallory) = identity_file(dir.path(), "mallory.key");
    let team = Seal::Recipients(vec![alice.to_public(), bob.to_public()]);
    let path = vault_file(dir.path(), "team.yml", &team);

    for id in [alice.clone(), bob] {
        let key = VaultKey::Identities(vec![id]);
        assert_eq!(
            ops::open(&path, &key).expect("team member opens").as_str(),
            PLAIN
        );
    }
    let from_file = VaultKey::from_identity_file(&alice_file).expect("identity file");
    assert_eq!(ops::open(&path, &from_file).expect("open").as_str(), PLAIN);

    let err = ops::open(&path, &VaultKey::Identities(vec![mallory])).expect_err("outsider");
    assert_eq!(
        err.to_string(),
        format!(
            "none of the vault identities can decrypt `{}`: it was encrypted to other recipients",
            path.display()
        )
    );
}

#[test]
fn encrypt_to_recipients_via_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (alice_file, _) = identity_file(dir.path(), "alice.key");
    let (bob_file, bob) = identity_file(dir.path(), "bob.key");
    let path = dir.path().join("v.yml");
    fs::write(&path, PLAIN).expect("write");
    let file = path.to_str().expect("utf8");
    let bob_public = bob.to_public().to_string();
    // Alice encrypts to herself (identity) and to Bob (recipient).
    run(
        &cli(&[
            "encrypt",
            file,
            "--vault-identity",
            alice_file.to_str().expect("utf8"),
            "-r",
            &bob_public,
        ]),
        "false",
    )
    .expect("encrypt");
    for id_file in [&alice_file, &bob_file] {
        let (_, out, _) = run(
            &cli(&[
                "view",
                file,
                "--vault-identity",
                id_file.to_str().expect("utf8"),
            ]),
            "false",
        )
        .expect("view");
        assert_eq!(out, PLAIN);
    }
    let err = run(&cli(&["encrypt", file, "-r", &bob_public]), "false").expect_err("twice");
    assert_eq!(err.to_string(), format!("`{file}` is already a vault file"));
}

#[test]
fn rekey_passphrase_to_passphrase_and_to_identities() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = pass("old");
    let path = vault_file(dir.path(), "v.yml", &Seal::from_key(&old));

    let new = pass("new");
    ops::rekey_file(&path, &old, &Seal::from_key(&new)).expect("rekey");
    assert_eq!(ops::open(&path, &new).expect("new key").as_str(), PLAIN);
    let err = ops::open(&path, &old).expect_err("old key must fail");
    assert!(matches!(err, VaultError::WrongPassword { .. }), "{err}");

    let id = AgeIdentity::generate();
    ops::rekey_file(&path, &new, &Seal::Recipients(vec![id.to_public()])).expect("to identity");
    let idkey = VaultKey::Identities(vec![id]);
    assert_eq!(ops::open(&path, &idkey).expect("identity").as_str(), PLAIN);
    let err = ops::open(&path, &new).expect_err("passphrase no longer opens it");
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` is encrypted to age identities, but a vault password was given: pass `--vault-identity FILE`",
            path.display()
        )
    );
    assert_eq!(listing(dir.path()), ["v.yml"]);
}

#[test]
fn rekey_via_cli_with_new_password_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = vault_file(dir.path(), "v.yml", &Seal::from_key(&pass("old")));
    let old_pw = dir.path().join("old.txt");
    let new_pw = dir.path().join("new.txt");
    fs::write(&old_pw, "old\n").expect("write");
    fs::write(&new_pw, "new\n").expect("write");
    let s = |p: &Path| p.to_str().expect("utf8").to_owned();
    run(
        &cli(&[
            "rekey",
            &s(&path),
            "--vault-password-file",
            &s(&old_pw),
            "--new-vault-password-file",
            &s(&new_pw),
        ]),
        "false",
    )
    .expect("rekey");
    assert_eq!(
        ops::open(&path, &pass("new")).expect("open").as_str(),
        PLAIN
    );

    // Without a new key and without a terminal: a clear error, the file untouched.
    let before = fs::read(&path).expect("read");
    let err = run(
        &cli(&["rekey", &s(&path), "--vault-password-file", &s(&new_pw)]),
        "false",
    )
    .expect_err("no new key");
    assert!(
        err.to_string().contains("--new-vault-password-file"),
        "{err}"
    );
    assert_eq!(fs::read(&path).expect("read"), before);
}

#[test]
fn edit_saves_changes_and_removes_the_private_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = pass("pw");
    let path = vault_file(dir.path(), "v.yml", &Seal::from_key(&key));
    let work = tempfile::tempdir().expect("tempdir");
    let (ed, log) = editor(work.path(), "echo 'new_key: 1' >> \"$1\"");
    let outcome = ops::edit_file(&path, &key, &Seal::from_key(&key), &ed).expect("edit");
    assert_eq!(outcome, EditOutcome::Saved);
    assert_eq!(
        ops::open(&path, &key).expect("open").as_str(),
        format!("{PLAIN}new_key: 1\n")
    );
    assert_editor_temp_removed(&log);
    assert_eq!(listing(dir.path()), ["v.yml"]);
}

#[test]
fn edit_without_changes_leaves_the_file_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = pass("pw");
    let path = vault_file(dir.path(), "v.yml", &Seal::from_key(&key));
    let before = fs::read(&path).expect("read");
    let work = tempfile::tempdir().expect("tempdir");
    let (ed, log) = editor(work.path(), "true");
    let outcome = ops::edit_file(&path, &key, &Seal::from_key(&key), &ed).expect("edit");
    assert_eq!(outcome, EditOutcome::Unchanged);
    assert_eq!(fs::read(&path).expect("read"), before);
    assert_editor_temp_removed(&log);
}

#[test]
fn edit_with_failing_editor_changes_nothing_and_removes_the_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = pass("pw");
    let path = vault_file(dir.path(), "v.yml", &Seal::from_key(&key));
    let before = fs::read(&path).expect("read");
    let work = tempfile::tempdir().expect("tempdir");
    let (ed, log) = editor(work.path(), "echo 'half: edit' >> \"$1\"; exit 3");
    let err = ops::edit_file(&path, &key, &Seal::from_key(&key), &ed).expect_err("editor fails");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("editor `{ed}` failed for `{}`", path.display())),
        "{msg}"
    );
    assert!(msg.ends_with("the vault was not changed"), "{msg}");
    assert_eq!(fs::read(&path).expect("read"), before);
    assert_editor_temp_removed(&log);
}

#[test]
fn ctrl_c_during_edit_does_not_kill_dr_before_cleanup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = pass("pw");
    let path = vault_file(dir.path(), "v.yml", &Seal::from_key(&key));
    let work = tempfile::tempdir().expect("tempdir");
    // The terminal sends SIGINT to dr as well as to the editor; dr must outlive it.
    let action = format!(
        "echo 'after_ctrl_c: 1' >> \"$1\"; kill -INT {}; sleep 0.2",
        std::process::id()
    );
    let (ed, log) = editor(work.path(), &action);
    let outcome = ops::edit_file(&path, &key, &Seal::from_key(&key), &ed).expect("edit");
    assert_eq!(outcome, EditOutcome::Saved);
    assert_editor_temp_removed(&log);
}

#[test]
fn edit_identity_vault_requires_recipients() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (id_file, id) = identity_file(dir.path(), "me.key");
    let path = vault_file(dir.path(), "v.yml", &Seal::Recipients(vec![id.to_public()]));
    let file = path.to_str().expect("utf8");
    let idf = id_file.to_str().expect("utf8");
    let err =
        run(&cli(&["edit", file, "--vault-identity", idf]), "true").expect_err("no recipients");
    assert!(
        matches!(err, VaultError::RecipientsRequired { .. }),
        "{err}"
    );

    let work = tempfile::tempdir().expect("tempdir");
    let (ed, log) = editor(work.path(), "echo 'x: 1' >> \"$1\"");
    let other = AgeIdentity::generate();
    let (_, _, stderr) = run(
        &cli(&[
            "edit",
            file,
            "--vault-identity",
            idf,
            "-r",
            &other.to_public().to_string(),
        ]),
        &ed,
    )
    .expect("edit");
    assert!(stderr.contains("saved"), "{stderr}");
    assert_editor_temp_removed(&log);
    for key in [
        VaultKey::Identities(vec![id]),
        VaultKey::Identities(vec![other]),
    ] {
        assert_eq!(
            ops::open(&path, &key).expect("open").as_str(),
            format!("{PLAIN}x: 1\n")
        );
    }
}

#[test]
fn create_via_cli_opens_the_editor_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = write_key_files(dir.path(), "pw");
    let path = dir.path().join("new.yml");
    let work = tempfile::tempdir().expect("tempdir");
    let (ed, log) = editor(work.path(), "printf 'token: abc\\n' > \"$1\"");
    let args = [
        "create",
        path.to_str().expect("utf8"),
        "--vault-password-file",
        pw.to_str().expect("utf8"),
    ];
    run(&cli(&args), &ed).expect("create");
    assert_editor_temp_removed(&log);
    assert_eq!(
        ops::open(&path, &pass("pw")).expect("open").as_str(),
        "token: abc\n"
    );
    let err = run(&cli(&args), &ed).expect_err("exists");
    assert!(matches!(err, VaultError::AlreadyExists { .. }), "{err}");
}

#[test]
fn wrong_password_names_the_file_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = vault_file(dir.path(), "staging.yml", &Seal::from_key(&pass("right")));
    let err = ops::open(&path, &pass("wrong")).expect_err("wrong");
    assert_eq!(
        err.to_string(),
        format!("wrong vault password for `{}`", path.display())
    );
    let out = dir.path().join("out.yml");
    ops::decrypt_file(&path, &pass("wrong"), &out).expect_err("wrong");
    assert_eq!(listing(dir.path()), ["staging.yml"]);
    assert_no_plaintext(dir.path());
}

const CUT_SHORT: &str = "`vault/x.yml` is truncated or corrupted: the \
    `-----END AGE ENCRYPTED FILE-----` line is missing (the file was cut short)";
const DAMAGED: &str = "`vault/x.yml` is truncated or corrupted: the encrypted payload fails \
    authentication (damaged or cut short)";

#[test]
fn truncated_vault_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = pass("pw");
    let path = vault_file(dir.path(), "x.yml", &Seal::from_key(&key));
    let armored = fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = armored.lines().collect();
    for keep in [1, lines.len() / 2, lines.len() - 1] {
        let cut = lines[..keep].join("\n");
        let err = vault::decrypt(Path::new("vault/x.yml"), cut.as_bytes(), &key).expect_err("cut");
        assert_eq!(err.to_string(), CUT_SHORT, "kept {keep} lines");
    }
    // Cut inside the payload but with a well-formed armor footer.
    let body: String = lines[1..lines.len() - 1].concat();
    let short = &body[..body.len() - 8];
    let wrapped: Vec<String> = short
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let rewrapped = format!(
        "{}\n{}\n{}\n",
        lines[0],
        wrapped.join("\n"),
        lines[lines.len() - 1]
    );
    let err =
        vault::decrypt(Path::new("vault/x.yml"), rewrapped.as_bytes(), &key).expect_err("short");
    assert_eq!(err.to_string(), DAMAGED);
    assert_eq!(listing(dir.path()), ["x.yml"]);
}

#[test]
fn corrupted_vault_is_a_clear_error() {
    let key = pass("pw");
    let plain = PLAIN.repeat(50);
    let armored = vault::encrypt(plain.as_bytes(), &key).expect("encrypt");
    let lines: Vec<&str> = armored.lines().collect();
    // Flip one base64 character in the last body line (the payload, past the header).
    let target = lines.len() - 2;
    let mut damaged: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let mut chars: Vec<char> = damaged[target].chars().collect();
    chars[4] = if chars[4] == 'A' { 'B' } else { 'A' };
    damaged[target] = chars.into_iter().collect();
    let damaged = damaged.join("\n") + "\n";
    let err = vault::decrypt(Path::new("vault/x.yml"), damaged.as_bytes(), &key).expect_err("bad");
    assert_eq!(err.to_string(), DAMAGED);
    // Damage in the header (first body line): still a clear error naming the file.
    let mut header_damaged: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let mut chars: Vec<char> = header_damaged[1].chars().collect();
    chars[20] = if chars[20] == 'A' { 'B' } else { 'A' };
    header_damaged[1] = chars.into_iter().collect();
    let header_damaged = header_damaged.join("\n") + "\n";
    let err = vault::decrypt(Path::new("vault/x.yml"), header_damaged.as_bytes(), &key)
        .expect_err("bad header");
    assert!(
        err.to_string()
            .starts_with("`vault/x.yml` is truncated or corrupted: "),
        "{err}"
    );
    let garbage = format!("{}\n!!!\n{}\n", vault::ARMOR_BEGIN, vault::ARMOR_END);
    let err =
        vault::decrypt(Path::new("vault/x.yml"), garbage.as_bytes(), &key).expect_err("garbage");
    assert!(
        err.to_string()
            .starts_with("`vault/x.yml` is truncated or corrupted: "),
        "{err}"
    );
    let err = vault::decrypt(Path::new("vault/x.yml"), b"a: 1\n", &key).expect_err("plain");
    assert!(matches!(err, VaultError::NotAVault { .. }), "{err}");
}

#[test]
fn import_ansible_1_1_and_1_2_fixtures() {
    let expected = fs::read_to_string(fixture("ansible-plain.yml")).expect("plain fixture");
    let password = fixture("ansible-password.txt");
    for name in ["ansible-1.1.yml", "ansible-1.2.yml"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        fs::copy(fixture(name), &path).expect("copy fixture");
        let text = fs::read_to_string(&path).expect("read");
        assert!(vault::ansible::is_ansible_vault(text.as_bytes()));
        assert_eq!(
            vault::ansible::decrypt(&path, &text, "ansible-fixture-pw").expect("decrypt"),
            expected,
            "{name}"
        );

        // In place, to the same passphrase (the default).
        run(
            &cli(&[
                "import-ansible",
                path.to_str().expect("utf8"),
                "--vault-password-file",
                password.to_str().expect("utf8"),
            ]),
            "false",
        )
        .expect("import");
        assert!(
            vault::is_vault(&fs::read(&path).expect("read")),
            "{name} is now an age vault"
        );
        let key = VaultKey::from_password_file(&password).expect("password");
        assert_eq!(
            ops::open(&path, &key).expect("open").as_str(),
            expected,
            "{name}"
        );
        assert_eq!(listing(dir.path()), [name]);
    }
}

#[test]
fn import_ansible_to_recipients_and_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let id = AgeIdentity::generate();
    let out = dir.path().join("age.yml");
    fast();
    run(
        &cli(&[
            "import-ansible",
            fixture("ansible-1.2.yml").to_str().expect("utf8"),
            "--vault-password-file",
            fixture("ansible-password.txt").to_str().expect("utf8"),
            "--new-recipient",
            &id.to_public().to_string(),
            "--output",
            out.to_str().expect("utf8"),
        ]),
        "false",
    )
    .expect("import");
    let expected = fs::read_to_string(fixture("ansible-plain.yml")).expect("plain");
    assert_eq!(
        ops::open(&out, &VaultKey::Identities(vec![id]))
            .expect("open")
            .as_str(),
        expected
    );
    assert!(vault::ansible::is_ansible_vault(
        &fs::read(fixture("ansible-1.2.yml")).expect("read")
    ));
}

#[test]
fn import_ansible_wrong_password_and_truncated() {
    let text = fs::read_to_string(fixture("ansible-1.1.yml")).expect("fixture");
    let path = Path::new("vault/old.yml");
    let err = vault::ansible::decrypt(path, &text, "nope").expect_err("wrong");
    assert_eq!(
        err.to_string(),
        "wrong ansible-vault password for `vault/old.yml` (HMAC check failed)"
    );

    let lines: Vec<&str> = text.lines().collect();
    for keep in [1, 2, lines.len() - 1] {
        let cut = lines[..keep].join("\n");
        let err = vault::ansible::decrypt(path, &cut, "ansible-fixture-pw").expect_err("cut");
        let msg = err.to_string();
        assert!(
            msg.starts_with("`vault/old.yml` is not a valid ansible-vault file")
                || msg.starts_with("wrong ansible-vault password"),
            "{keep}: {msg}"
        );
    }

    // An imported-to-be file may not be opened as an age vault by mistake.
    let err = vault::decrypt(path, text.as_bytes(), &pass("x")).expect_err("ansible");
    assert!(
        err.to_string()
            .contains("`vault/old.yml` is an ansible-vault file"),
        "{err}"
    );

    // A failed import leaves the file as it was and no temp file.
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("old.yml");
    fs::copy(fixture("ansible-1.1.yml"), &copy).expect("copy");
    let bad = write_key_files(dir.path(), "nope");
    let err = ops::import_ansible_file(
        &copy,
        &Passphrase::new("nope"),
        &Seal::from_key(&pass("x")),
        &copy,
    )
    .expect_err("wrong");
    assert!(matches!(err, VaultError::AnsibleWrongPassword { .. }));
    assert_eq!(fs::read_to_string(&copy).expect("read"), text);
    assert_eq!(
        listing(dir.path()),
        [
            "old.yml",
            bad.file_name().expect("name").to_str().expect("utf8")
        ]
    );
}

#[test]
fn ansible_inline_encrypt_string_value_decrypts() {
    // The loader hands over the text of a `!vault |` scalar: header and hex lines.
    let yaml = fs::read_to_string(fixture("ansible-inline.yml")).expect("fixture");
    let (_, block) = yaml.split_once("!vault |\n").expect("a !vault block");
    let value: String = block.lines().map(|l| format!("{}\n", l.trim())).collect();
    let plain = vault::ansible::decrypt(
        Path::new("group_vars/all.yml"),
        &value,
        "ansible-fixture-pw",
    )
    .expect("decrypt");
    assert_eq!(plain, "inline-S3cret");
}

/// Runs the real `ansible-vault` from `DR_TEST_ANSIBLE_BIN` (see the top of this file) to make
/// fresh 1.1 and 1.2 files, then imports them.
#[test]
fn real_ansible_vault_output_imports() {
    let Some(bin) = std::env::var_os("DR_TEST_ANSIBLE_BIN") else {
        panic!(
            "DR_TEST_ANSIBLE_BIN is not set: this test needs the real ansible-vault. Run\n  \
             python3 -m venv target/ansible-venv && target/ansible-venv/bin/pip install ansible-core\n  \
             export DR_TEST_ANSIBLE_BIN=$PWD/target/ansible-venv/bin"
        );
    };
    let ansible_vault = Path::new(&bin).join("ansible-vault");
    assert!(
        ansible_vault.exists(),
        "no ansible-vault in DR_TEST_ANSIBLE_BIN=`{}`",
        ansible_vault.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = dir.path().join("pw.txt");
    fs::write(&pw, "  real-ansible pw \n").expect("write");
    let plain = "db_password: \"p@ss w0rd\"\nunicode: \"ü€\"\n";
    for (name, id_args) in [
        (
            "v11.yml",
            vec!["--vault-password-file".to_owned(), pw.display().to_string()],
        ),
        (
            "v12.yml",
            vec!["--vault-id".to_owned(), format!("dr@{}", pw.display())],
        ),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, plain).expect("write");
        let status = Command::new(&ansible_vault)
            .arg("encrypt")
            .args(&id_args)
            .arg(&path)
            .env("ANSIBLE_LOCAL_TEMP", dir.path())
            .env("ANSIBLE_HOME", dir.path())
            .status()
            .expect("run ansible-vault");
        assert!(status.success(), "ansible-vault encrypt failed: {status}");
        let text = fs::read_to_string(&path).expect("read");
        let header = if name == "v11.yml" {
            "$ANSIBLE_VAULT;1.1;AES256\n"
        } else {
            "$ANSIBLE_VAULT;1.2;AES256;dr\n"
        };
        assert!(text.starts_with(header), "{text}");
        let key = VaultKey::from_password_file(&pw).expect("password");
        let VaultKey::Passphrase(p) = &key else {
            panic!("passphrase expected")
        };
        ops::import_ansible_file(&path, p, &Seal::from_key(&pass("new")), &path).expect("import");
        assert_eq!(
            ops::open(&path, &pass("new")).expect("open").as_str(),
            plain,
            "{name}"
        );
    }
}

#[test]
fn cache_decrypts_each_file_once_across_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = pass("pw");
    let a = vault_file(dir.path(), "a.yml", &Seal::from_key(&key));
    let b = vault_file(dir.path(), "b.yml", &Seal::from_key(&key));
    let plain = dir.path().join("plain.yml");
    fs::write(&plain, "x: 1\n").expect("write");
    let pw = write_key_files(dir.path(), "pw");
    let cache = Arc::new(VaultCache::new(KeyOptions {
        password_file: Some(pw),
        ..KeyOptions::default()
    }));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let cache = Arc::clone(&cache);
            let path = if i % 2 == 0 { a.clone() } else { b.clone() };
            std::thread::spawn(move || cache.read(&path).map(|t| t.to_string()))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread").expect("read"), PLAIN);
    }
    // The same file through another spelling of its path is still a cache hit.
    let other_spelling = dir.path().join(".").join("a.yml");
    assert_eq!(&*cache.read(&other_spelling).expect("read"), PLAIN);
    assert_eq!(cache.decryptions(), 2);

    let loaded = cache.load(&plain).expect("plain file");
    assert!(!loaded.secret);
    assert!(cache.load(&a).expect("vault").secret);
    assert!(matches!(
        cache.read(&plain),
        Err(VaultError::NotAVault { .. })
    ));
    assert!(!format!("{:?}", cache.load(&a).expect("vault")).contains("S3cr3t"));
}

#[test]
fn cache_resolves_the_key_lazily() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain.yml");
    fs::write(&plain, "x: 1\n").expect("write");
    // A password file that does not exist: never read unless a vault file is met.
    let cache = VaultCache::new(KeyOptions {
        password_file: Some(dir.path().join("missing-pw")),
        ..KeyOptions::default()
    });
    assert_eq!(&*cache.load(&plain).expect("plain").text, "x: 1\n");
    let v = vault_file(dir.path(), "v.yml", &Seal::from_key(&pass("pw")));
    let err = cache.read(&v).expect_err("missing password file");
    assert!(err.to_string().contains("missing-pw"), "{err}");

    let ansible = dir.path().join("old.yml");
    fs::copy(fixture("ansible-1.1.yml"), &ansible).expect("copy");
    let err = cache.load(&ansible).expect_err("ansible vault");
    assert!(err.to_string().contains("missing-pw"), "{err}");

    // ansible-vault files open with the run's password, as ansible-playbook opens them.
    let pw = dir.path().join("ansible-pw");
    fs::write(&pw, "ansible-fixture-pw\n").expect("write");
    let cache = VaultCache::new(KeyOptions {
        password_file: Some(pw),
        ..KeyOptions::default()
    });
    let loaded = cache.load(&ansible).expect("ansible vault opens");
    assert!(loaded.secret);
}

#[test]
fn resolve_prefers_flags_and_explains_missing_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = write_key_files(dir.path(), "pw");
    let (id, _) = identity_file(dir.path(), "id.key");
    let both = KeyOptions {
        password_file: Some(pw.clone()),
        identity_files: vec![id.clone()],
        ..KeyOptions::default()
    };
    assert!(matches!(
        VaultKey::resolve(&both),
        Err(VaultError::ConflictingKeys)
    ));
    let ids = KeyOptions {
        identity_files: vec![id],
        config_password_file: Some(pw),
        ..KeyOptions::default()
    };
    assert!(matches!(
        VaultKey::resolve(&ids),
        Ok(VaultKey::Identities(_))
    ));
    if std::env::var_os(vault::PASSWORD_FILE_ENV).is_none() {
        let err = VaultKey::resolve(&KeyOptions::default()).expect_err("no key");
        assert!(err.to_string().contains("--vault-password-file"), "{err}");
    }
}

#[test]
fn cli_parses_every_subcommand() {
    let cases: &[&[&str]] = &[
        &["create", "v.yml", "--vault-password-file", "pw"],
        &["encrypt", "v.yml", "-r", "age1x", "--recipient", "age1y"],
        &["decrypt", "v.yml", "--output", "p.yml"],
        &["decrypt", "v.yml", "--in-place"],
        &[
            "view",
            "v.yml",
            "--vault-identity",
            "a",
            "--vault-identity",
            "b",
        ],
        &["edit", "v.yml"],
        &[
            "rekey",
            "v.yml",
            "--new-recipient",
            "age1x",
            "--new-recipient",
            "age1y",
        ],
        &["migrate", "v.yml", "w.yml", "--vault-password-file", "pw"],
        &["keygen", "--vault-key-file", "v.yml", "--work-factor", "16"],
        &[
            "import-ansible",
            "v.yml",
            "--vault-password-file",
            "pw",
            "--output",
            "o.yml",
        ],
    ];
    for args in cases {
        let cmd = cli(args);
        let file = match &cmd.action {
            VaultAction::Create { file, .. }
            | VaultAction::Encrypt { file, .. }
            | VaultAction::Decrypt { file, .. }
            | VaultAction::View { file, .. }
            | VaultAction::Edit { file, .. }
            | VaultAction::Rekey { file, .. }
            | VaultAction::ImportAnsible { file, .. } => file.clone(),
            VaultAction::Migrate { files, .. } => files[0].clone(),
            VaultAction::Keygen { vault_key_file, .. } => {
                vault_key_file.clone().expect("--vault-key-file")
            }
        };
        assert_eq!(file, Path::new("v.yml"), "{args:?}");
    }
    let mut all = vec!["vault", "decrypt", "v.yml", "--in-place", "--output", "x"];
    assert!(
        Cli::try_parse_from(all.drain(..)).is_err(),
        "--in-place conflicts with --output"
    );
}

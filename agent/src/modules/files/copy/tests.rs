use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use super::Copy;
use crate::modules::testutil::{Harness, snapshot};

fn mode_of(p: &std::path::Path) -> u32 {
    fs::metadata(p)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0)
}

#[test]
fn content_creates_then_is_idempotent() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("motd");
    let h = Harness::new();
    let args = json!({"content": "hello\n", "dest": dest.display().to_string()});
    let before = snapshot(dir.path());
    let plan = h.check(&Copy, args.clone());
    assert!(plan.outcome.changed);
    assert_eq!(plan.outcome.diffs.len(), 1);
    assert!(
        plan.outcome.diffs[0].text.contains("+hello"),
        "{}",
        plan.outcome.diffs[0].text
    );
    assert_eq!(snapshot(dir.path()), before, "check mode changed the disk");
    let out = h.apply(&Copy, args.clone());
    assert!(out.changed);
    assert_eq!(fs::read_to_string(&dest).unwrap_or_default(), "hello\n");
    assert_eq!(mode_of(&dest), 0o644);
    let again = h.check(&Copy, args);
    assert!(!again.outcome.changed && again.action.is_none());
}

#[test]
fn mode_change_only_is_a_one_line_diff_and_keeps_content() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("f");
    fs::write(&dest, "x").unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&dest, fs::Permissions::from_mode(0o644)).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let args = json!({"content": "x", "dest": dest.display().to_string(), "mode": 0o600});
    let plan = h.check(&Copy, args.clone());
    assert_eq!(plan.outcome.diffs.len(), 1);
    assert_eq!(plan.outcome.diffs[0].text, "mode: 0644 -> 0600");
    h.apply(&Copy, args.clone());
    assert_eq!(mode_of(&dest), 0o600);
    assert!(!h.check(&Copy, args).outcome.changed);
}

#[test]
fn replacing_keeps_existing_mode_and_backup_keeps_old_bytes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("f");
    fs::write(&dest, "old\n").unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&dest, fs::Permissions::from_mode(0o640)).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let out = h.apply(
        &Copy,
        json!({"content": "new\n", "dest": dest.display().to_string(), "backup": "yes"}),
    );
    assert_eq!(mode_of(&dest), 0o640);
    let backup = out.data["backup_file"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(fs::read_to_string(&backup).unwrap_or_default(), "old\n");
    assert_eq!(fs::read_to_string(&dest).unwrap_or_default(), "new\n");
}

#[test]
fn src_into_a_directory_uses_the_basename() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut h = Harness::new();
    h.add_file("files/app.env", "A=1\n");
    let dest = format!("{}/", dir.path().display());
    h.apply(&Copy, json!({"src": "files/app.env", "dest": dest}));
    assert_eq!(
        fs::read_to_string(dir.path().join("app.env")).unwrap_or_default(),
        "A=1\n"
    );
}

#[test]
fn force_false_leaves_an_existing_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("f");
    fs::write(&dest, "mine").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let plan = h.check(
        &Copy,
        json!({"content": "theirs", "dest": dest.display().to_string(), "force": false}),
    );
    assert!(!plan.outcome.changed && plan.action.is_none());
}

#[test]
fn errors_name_the_problem() {
    let h = Harness::new();
    // Ansible's action checks, in its order and words.
    for (args, msg) in [
        (json!({"dest": "/tmp/x"}), "src (or content) is required"),
        (
            json!({"src": "", "dest": "/tmp/x"}),
            "src (or content) is required",
        ),
        (json!({"content": "a"}), "dest is required"),
        (
            json!({"src": "a", "content": "a", "dest": "/tmp/x"}),
            "src and content are mutually exclusive",
        ),
        (
            json!({"content": "a", "dest": "/tmp/x/"}),
            "can not use content with a dir as dest",
        ),
    ] {
        assert_eq!(h.check_err(&Copy, args), msg);
    }
    assert!(
        h.check_err(&Copy, json!({"src": "nope", "dest": "/tmp/x"}))
            .contains("could not find or access `nope`")
    );
    assert!(
        h.check_err(
            &Copy,
            json!({"content": "a", "dest": "/tmp/x", "mdoe": "0644"})
        )
        .contains("unknown field `mdoe`")
    );
}

#[test]
fn validate_rejects_bad_content_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("conf");
    fs::write(&dest, "good\n").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let ctx = h.ctx(false);
    let args = json!({"content": "bad\n", "dest": dest.display().to_string(), "validate": "grep -q good %s"});
    let plan = crate::modules::Module::check(&Copy, &ctx, &args).unwrap_or_else(|e| panic!("{e}"));
    let err = match plan.action.map(|a| a.apply(&ctx)) {
        Some(Err(e)) => e.to_string(),
        _ => panic!("expected validation to fail"),
    };
    assert!(
        err.contains("validation failed") && err.contains("grep -q good"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&dest).unwrap_or_default(), "good\n");
    let leftovers = fs::read_dir(dir.path()).map(|r| r.count()).unwrap_or(0);
    assert_eq!(leftovers, 1, "temporary file left behind");
    let ok = json!({"content": "good too\n", "dest": dest.display().to_string(), "validate": "grep -q good %s"});
    assert!(h.apply(&Copy, ok).changed);
    assert!(
        h.check_err(
            &Copy,
            json!({"content": "x", "dest": "/tmp/x", "validate": "true"})
        )
        .contains("%s")
    );
}

#[test]
fn remote_src_reads_a_host_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path().join("backup");
    let dest = dir.path().join("live");
    fs::write(&src, "saved\n").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let args = json!({"src": src.display().to_string(), "dest": dest.display().to_string(), "remote_src": true});
    assert!(h.apply(&Copy, args.clone()).changed);
    assert_eq!(fs::read_to_string(&dest).unwrap_or_default(), "saved\n");
    assert!(!h.check(&Copy, args).outcome.changed);
}

#[test]
fn owner_and_group_changes_are_planned_with_names() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("f");
    fs::write(&dest, "x").unwrap_or_else(|e| panic!("{e}"));
    let meta = fs::metadata(&dest).unwrap_or_else(|e| panic!("{e}"));
    let (uid, gid) = (meta.uid(), meta.gid());
    let h = Harness::new();
    let same = json!({"content": "x", "dest": dest.display().to_string(), "owner": uid, "group": gid.to_string()});
    assert!(!h.check(&Copy, same).outcome.changed);
    let other = if uid == 65534 { 65533 } else { 65534 };
    let plan = h.check(
        &Copy,
        json!({"content": "x", "dest": dest.display().to_string(), "owner": other}),
    );
    let diffs: Vec<String> = plan.outcome.diffs.iter().map(|d| d.text.clone()).collect();
    use crate::fsutil::{Db, id_name};
    assert_eq!(
        diffs,
        vec![format!(
            "owner: {} -> {}",
            id_name(Db::User, uid),
            id_name(Db::User, other)
        )]
    );
    let err = h.check_err(
        &Copy,
        json!({"content": "x", "dest": dest.display().to_string(), "owner": "no-such-user-dr"}),
    );
    assert!(
        err.contains("user `no-such-user-dr` does not exist"),
        "{err}"
    );
}

/// A file larger than a diff is computed for is compared in chunks: a change anywhere, in
/// the last byte or in the length, is still seen, and the diff is the size summary.
#[test]
fn large_files_are_compared_in_chunks_and_changes_still_seen() {
    use crate::wire::FileContent;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("big");
    let wanted: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut h = Harness::new();
    h.files.insert(
        "big".into(),
        FileContent::new(wanted.clone(), "files/big".to_owned()),
    );
    let args = json!({"src": "big", "dest": dest.display().to_string()});
    let mut last_byte = wanted.clone();
    if let Some(b) = last_byte.last_mut() {
        *b ^= 1;
    }
    let shorter = &wanted[..wanted.len() - 1];
    let mut longer = wanted.clone();
    longer.push(0);
    for (what, on_disk) in [
        ("last byte", &last_byte[..]),
        ("shorter", shorter),
        ("longer", &longer[..]),
    ] {
        fs::write(&dest, on_disk).unwrap_or_else(|e| panic!("{e}"));
        let plan = h.check(&Copy, args.clone());
        assert!(plan.outcome.changed && plan.action.is_some(), "{what}");
        assert_eq!(
            plan.outcome.diffs[0].text,
            format!(
                "content: {} -> 300000 bytes (diff skipped: larger than 104448 bytes)",
                on_disk.len()
            ),
            "{what}"
        );
    }
    assert!(h.apply(&Copy, args.clone()).changed);
    assert_eq!(fs::read(&dest).unwrap_or_default(), wanted);
    let again = h.check(&Copy, args);
    assert!(!again.outcome.changed && again.action.is_none());
}

/// A converged copy of a large file must not read the destination whole (150 MB copied to
/// 3 hosts held 450 MB of destinations), nor a changed one with `backup` the old file.
/// Measured in a child process, the test binary running
/// only this test, so the peak RSS (`VmHWM`, reset through `/proc/self/clear_refs`) is this
/// test's alone.
#[test]
fn a_converged_large_copy_does_not_read_the_destination_whole() {
    const CHILD: &str = "DR_TEST_COPY_RSS_CHILD";
    let name = "a_converged_large_copy_does_not_read_the_destination_whole";
    if std::env::var_os(CHILD).is_some() {
        converged_copy_peak_rss();
        return;
    }
    let module = module_path!()
        .split_once("::")
        .map_or("", |(_, m)| m)
        .to_owned();
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(&exe)
        .args(["--exact", &format!("{module}::{name}"), "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD, "1")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child ran no test: {text}");
}

fn converged_copy_peak_rss() {
    use std::sync::Arc;

    use crate::wire::FileContent;
    const SIZE: usize = 64 << 20;
    let kib = |key: &str| -> u64 {
        let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{key}` in /proc/self/status"))
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("big");
    let wanted: Arc<[u8]> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    fs::write(&dest, &wanted).unwrap_or_else(|e| panic!("{e}"));
    let mut h = Harness::new();
    h.files.insert(
        "big".into(),
        FileContent::new(wanted, "files/big".to_owned()),
    );
    let args = json!({"src": "big", "dest": dest.display().to_string()});
    fs::write("/proc/self/clear_refs", "5").unwrap_or_else(|e| panic!("clear_refs: {e}"));
    let start = kib("VmRSS");
    let plan = h.check(&Copy, args.clone());
    assert!(!plan.outcome.changed, "{}", plan.outcome.msg);
    let out = h.apply(&Copy, args);
    assert!(!out.changed, "{}", out.msg);
    let grew = kib("VmHWM").saturating_sub(start);
    println!("peak RSS grew by {grew} KiB over {start} KiB");
    assert!(
        grew < 8 * 1024,
        "a converged copy of {} MiB raised the peak RSS by {grew} KiB",
        SIZE >> 20
    );
    // A change with `backup`: the old file is copied aside in a stream, not read whole.
    let mut old = fs::read(&dest).unwrap_or_default();
    old[SIZE / 2] ^= 1;
    fs::write(&dest, &old).unwrap_or_else(|e| panic!("{e}"));
    drop(old);
    let args = json!({"src": "big", "dest": dest.display().to_string(), "backup": true});
    fs::write("/proc/self/clear_refs", "5").unwrap_or_else(|e| panic!("clear_refs: {e}"));
    let start = kib("VmRSS");
    let out = h.apply(&Copy, args);
    assert!(out.changed && !out.failed, "{}", out.msg);
    assert!(out.data.contains_key("backup_file"), "{:?}", out.data);
    let grew = kib("VmHWM").saturating_sub(start);
    println!("backup: peak RSS grew by {grew} KiB over {start} KiB");
    assert!(
        grew < 8 * 1024,
        "a copy of {} MiB with `backup` raised the peak RSS by {grew} KiB",
        SIZE >> 20
    );
}

#[test]
fn content_that_is_not_text_is_written_as_ansible_writes_it() {
    // What ansible-playbook 2.19 writes for `content: "{{ x }}"` with each value.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    for (i, (content, written)) in [
        (json!(true), "True"),
        (json!(2.5), "2.5"),
        (json!(1e16), "1e+16"),
        (json!(3), "3"),
        (
            json!({"b": 1, "a": [1, "é"]}),
            r#"{"b": 1, "a": [1, "\u00e9"]}"#,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let dest = dir.path().join(format!("f{i}"));
        h.apply(
            &Copy,
            json!({"content": content, "dest": dest.display().to_string()}),
        );
        assert_eq!(fs::read_to_string(&dest).unwrap_or_default(), written);
    }
}

#[test]
fn a_host_directory_with_remote_src_is_copied_and_check_mode_touches_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    fs::write(src.join("a"), "a\n").unwrap_or_else(|e| panic!("{e}"));
    fs::write(src.join("sub/b"), "b\n").unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(src.join("a"), fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("dest");
    let h = Harness::new();
    let args = json!({"src": format!("{}/", src.display()), "dest": dest.display().to_string(), "remote_src": true});
    let before = snapshot(dir.path());
    assert!(h.check(&Copy, args.clone()).outcome.changed);
    assert_eq!(snapshot(dir.path()), before, "check mode changed the disk");
    assert!(h.apply(&Copy, args.clone()).changed);
    assert_eq!(
        fs::read_to_string(dest.join("sub/b")).unwrap_or_default(),
        "b\n"
    );
    assert_eq!(mode_of(&dest.join("a")), 0o600);
    assert!(!h.check(&Copy, args.clone()).outcome.changed);
    // A changed file is put back; check mode first leaves it as it is.
    fs::write(dest.join("sub/b"), "changed\n").unwrap_or_else(|e| panic!("{e}"));
    let before = snapshot(dir.path());
    assert!(h.check(&Copy, args.clone()).outcome.changed);
    assert_eq!(snapshot(dir.path()), before, "check mode changed the disk");
    assert!(h.apply(&Copy, args.clone()).changed);
    assert_eq!(
        fs::read_to_string(dest.join("sub/b")).unwrap_or_default(),
        "b\n"
    );
    assert!(!h.apply(&Copy, args).changed);
}

#[test]
fn a_host_directory_holding_a_special_file_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("/etc", dir.path().join("l")).unwrap_or_else(|e| panic!("{e}"));
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dir.path().join("pipe"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let err = h.check_err(
        &Copy,
        json!({"src": dir.path().display().to_string(), "dest": "/nonexistent/x/", "remote_src": true}),
    );
    assert!(err.contains("pipe` is a special file"), "{err}");
}

#[test]
fn a_host_source_that_is_no_file_fails_as_ansible_fails() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("whocares").display().to_string();
    let h = Harness::new();
    for (src, msg) in [
        (
            "/dev/null",
            "Cannot copy invalid source '/dev/null': not a file".to_owned(),
        ),
        (
            "/nonexistent/x",
            "Source /nonexistent/x not found".to_owned(),
        ),
    ] {
        let plan = h.check(&Copy, json!({"src": src, "dest": dest, "remote_src": true}));
        assert!(plan.outcome.failed, "{src}");
        assert_eq!(plan.outcome.msg, msg);
    }
    assert!(!dir.path().join("whocares").exists());
}

#[test]
fn a_host_directory_linking_to_its_parent_is_compared_as_python_compares_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    fs::write(src.join("a"), "a\n").unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("../", src.join("sub/up")).unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("dest");
    let h = Harness::new();
    let args = json!({"src": format!("{}/", src.display()), "dest": dest.display().to_string(), "remote_src": true});
    assert!(h.apply(&Copy, args.clone()).changed);
    assert_eq!(
        fs::read_link(dest.join("sub/up")).unwrap_or_default(),
        std::path::PathBuf::from("../")
    );
    // The links make the comparison go round until the path cannot be resolved; then it
    // stops, with nothing to do.
    let again = h.check(&Copy, args);
    assert!(
        !again.outcome.failed && !again.outcome.changed,
        "{}",
        again.outcome.msg
    );
}

//! `unarchive` against real archives built here: every format and its handler, a second
//! run that changes nothing, check mode that writes nothing, a change on disk found again,
//! `include`/`exclude`/`mode`/`creates`/`list_files`, and members that would escape
//! `dest` refused before anything is written.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Value as Json, json};

use super::Unarchive;
use crate::modules::testutil::{Harness, snapshot};
use crate::wire::FileContent;

/// A member to build: name, data (`None` for a directory), mode.
type Spec<'a> = (&'a str, Option<&'a str>, u32);

const TREE: &[Spec<'static>] = &[
    ("app/", None, 0o755),
    ("app/bin/", None, 0o755),
    ("app/bin/run.sh", Some("#!/bin/sh\necho run\n"), 0o755),
    ("app/README", Some("read me\n"), 0o644),
    ("app/conf.txt", Some("a=1\n"), 0o640),
];

fn tar_bytes(members: &[Spec<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data, mode) in members {
        let mut h = tar::Header::new_gnu();
        h.set_mode(*mode);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        match data {
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, name, &[][..])
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(d.len() as u64);
                b.append_data(&mut h, name, d.as_bytes())
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    b.into_inner().unwrap_or_else(|e| panic!("{e}"))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap_or_else(|e| panic!("{e}"));
    e.finish().unwrap_or_else(|e| panic!("{e}"))
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut w = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    w.write_all(data).unwrap_or_else(|e| panic!("{e}"));
    w.finish().unwrap_or_else(|e| panic!("{e}"))
}

fn bzip(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap_or_else(|e| panic!("{e}"));
    e.finish().unwrap_or_else(|e| panic!("{e}"))
}

fn zip_bytes(members: &[Spec<'_>]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, mode) in members {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .unix_permissions(*mode);
        match data {
            None => z
                .add_directory(name.trim_end_matches('/'), opts)
                .unwrap_or_else(|e| panic!("{e}")),
            Some(d) => {
                z.start_file(*name, opts).unwrap_or_else(|e| panic!("{e}"));
                z.write_all(d.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    z.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
}

fn harness(archive: Vec<u8>) -> Harness {
    let mut h = Harness::new();
    h.files.insert(
        "a.bin".into(),
        FileContent::new(archive, "files/a.bin".to_owned()),
    );
    h
}

fn args(dest: &Path, extra: Json) -> Json {
    let mut a = json!({"src": "a.bin", "dest": dest.display().to_string()});
    if let (Some(a), Json::Object(extra)) = (a.as_object_mut(), extra) {
        a.extend(extra);
    }
    a
}

fn mode_of(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Check mode writes nothing and reports a change; apply unpacks; a second run changes
/// nothing; a file edited on disk is a change again and is restored.
fn round_trip(archive: Vec<u8>, handler: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let h = harness(archive);
    let a = args(dir.path(), json!({}));
    let before = snapshot(dir.path());
    let plan = h.check(&Unarchive, a.clone());
    assert!(plan.outcome.changed, "{}", plan.outcome.msg);
    assert_eq!(plan.outcome.data["handler"], json!(handler));
    assert_eq!(snapshot(dir.path()), before, "check mode wrote");

    let out = h.apply(&Unarchive, a.clone());
    assert!(out.changed && !out.failed, "{}", out.msg);
    let run = dir.path().join("app/bin/run.sh");
    assert_eq!(
        std::fs::read_to_string(&run).unwrap_or_default(),
        "#!/bin/sh\necho run\n"
    );
    assert_eq!(mode_of(&run), 0o755);
    assert_eq!(mode_of(&dir.path().join("app/conf.txt")), 0o640);
    assert_eq!(out.data["state"], json!("directory"));

    let again = h.apply(&Unarchive, a.clone());
    assert!(!again.changed, "second run changed: {}", again.msg);

    std::fs::write(dir.path().join("app/README"), "edited\n").unwrap_or_else(|e| panic!("{e}"));
    let plan = h.check(&Unarchive, a.clone());
    assert!(plan.outcome.changed);
    assert!(
        plan.outcome.diffs[0].text.contains("app/README"),
        "{:?}",
        plan.outcome.diffs
    );
    h.apply(&Unarchive, a.clone());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app/README")).unwrap_or_default(),
        "read me\n"
    );
    assert!(!h.apply(&Unarchive, a).changed);
}

#[test]
fn tar_gz_round_trip() {
    round_trip(gzip(&tar_bytes(TREE)), "TgzArchive");
}

#[test]
fn tar_xz_round_trip() {
    round_trip(xz(&tar_bytes(TREE)), "TarArchive");
}

#[test]
fn tar_bz2_and_plain_tar_round_trip() {
    round_trip(bzip(&tar_bytes(TREE)), "TarArchive");
    round_trip(tar_bytes(TREE), "TarArchive");
}

#[test]
fn zip_round_trip() {
    round_trip(zip_bytes(TREE), "ZipArchive");
}

#[test]
fn a_changed_mode_on_disk_is_a_change() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let h = harness(gzip(&tar_bytes(TREE)));
    let a = args(dir.path(), json!({}));
    h.apply(&Unarchive, a.clone());
    let conf = dir.path().join("app/conf.txt");
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(h.apply(&Unarchive, a.clone()).changed);
    assert_eq!(mode_of(&conf), 0o640);
    assert!(!h.apply(&Unarchive, a).changed);
}

#[test]
fn list_files_exclude_and_mode() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let h = harness(gzip(&tar_bytes(TREE)));
    let a = args(
        dir.path(),
        json!({"list_files": true, "exclude": ["README"], "mode": "0600"}),
    );
    let out = h.apply(&Unarchive, a.clone());
    assert_eq!(
        out.data["files"],
        json!(["app/", "app/bin/", "app/bin/run.sh", "app/conf.txt"])
    );
    assert!(!dir.path().join("app/README").exists());
    assert_eq!(mode_of(&dir.path().join("app/bin/run.sh")), 0o600);
    assert_eq!(mode_of(&dir.path().join("app")), 0o600);
    assert!(!h.apply(&Unarchive, a).changed);
}

#[test]
fn include_selects_members() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let h = harness(zip_bytes(TREE));
    let out = h.apply(
        &Unarchive,
        args(
            dir.path(),
            json!({"include": ["app/bin/*"], "list_files": true}),
        ),
    );
    // `*` matches the empty rest too, as Python's fnmatch: the directory is listed.
    assert_eq!(out.data["files"], json!(["app/bin/", "app/bin/run.sh"]));
    assert!(dir.path().join("app/bin/run.sh").is_file());
    assert!(!dir.path().join("app/README").exists());
}

#[test]
fn creates_skips_the_task() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let h = harness(gzip(&tar_bytes(TREE)));
    let marker = dir.path().join("marker");
    std::fs::write(&marker, "").unwrap_or_else(|e| panic!("{e}"));
    let out = h.apply(
        &Unarchive,
        args(dir.path(), json!({"creates": marker.display().to_string()})),
    );
    assert!(out.skipped && !out.changed);
    assert_eq!(
        out.msg,
        format!("skipped, since {} exists", marker.display())
    );
    assert!(!dir.path().join("app").exists());
}

#[test]
fn dest_must_be_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let h = harness(gzip(&tar_bytes(TREE)));
    let missing = dir.path().join("nope");
    let err = h.check_err(&Unarchive, args(&missing, json!({})));
    assert_eq!(
        err,
        format!("dest '{}' must be an existing dir", missing.display())
    );
}

#[test]
fn path_traversal_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("dest");
    std::fs::create_dir(&dest).unwrap_or_else(|e| panic!("{e}"));
    // `tar::Builder` refuses `..` itself: write the name into the header by hand.
    let mut b = tar::Builder::new(Vec::new());
    for name in ["ok.txt", "../escaped.txt"] {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_mode(0o644);
        h.set_size(2);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, &b"x\n"[..]).unwrap_or_else(|e| panic!("{e}"));
    }
    let h = harness(gzip(&b.into_inner().unwrap_or_else(|e| panic!("{e}"))));
    let err = h.check_err(&Unarchive, args(&dest, json!({})));
    assert!(
        err.contains("path traversal") && err.contains("../escaped.txt"),
        "{err}"
    );
    assert!(!dest.join("ok.txt").exists() && !dir.path().join("escaped.txt").exists());

    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("../../evil.txt", zip::write::SimpleFileOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    z.write_all(b"x").unwrap_or_else(|e| panic!("{e}"));
    let h = harness(z.finish().unwrap_or_else(|e| panic!("{e}")).into_inner());
    let err = h.check_err(&Unarchive, args(&dest, json!({})));
    assert!(err.contains("path traversal"), "{err}");
}

#[test]
fn writing_through_a_symlink_member_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "evil", outside.path())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(2);
    h.set_mode(0o644);
    b.append_data(&mut h, "evil/owned.txt", &b"x\n"[..])
        .unwrap_or_else(|e| panic!("{e}"));
    let h = harness(b.into_inner().unwrap_or_else(|e| panic!("{e}")));
    let err = h.check_err(&Unarchive, args(dir.path(), json!({})));
    assert!(
        err.contains("path traversal") && err.contains("symlink"),
        "{err}"
    );
    assert!(!outside.path().join("owned.txt").exists());
    assert!(
        std::fs::read_dir(dir.path())
            .map(|d| d.count())
            .unwrap_or(1)
            == 0
    );
}

#[test]
fn a_broken_archive_leaves_the_old_file_whole() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let big = "0123456789abcdef".repeat(8192);
    let members: &[Spec<'_>] = &[("big.txt", Some(&big), 0o644)];
    let mut archive = tar_bytes(members);
    archive.truncate(archive.len() / 2);
    std::fs::write(dir.path().join("big.txt"), "old\n").unwrap_or_else(|e| panic!("{e}"));
    let h = harness(archive);
    let ctx = h.ctx(false);
    let result = crate::modules::Module::check(&Unarchive, &ctx, &args(dir.path(), json!({})))
        .and_then(|plan| match plan.action {
            Some(action) => action.apply(&ctx),
            None => Ok(plan.outcome),
        });
    assert!(result.is_err(), "a truncated archive was accepted");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("big.txt")).unwrap_or_default(),
        "old\n"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, vec!["big.txt".to_owned()]);
}

#[test]
fn what_is_not_an_archive_has_no_handler() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let err =
        harness(b"just some text\n".to_vec()).check_err(&Unarchive, args(dir.path(), json!({})));
    assert!(
        err.starts_with("Failed to find handler for \"files/a.bin\""),
        "{err}"
    );
    let err = harness(gzip(b"not a tarball")).check_err(&Unarchive, args(dir.path(), json!({})));
    assert!(err.starts_with("Failed to find handler"), "{err}");
    let err = harness(Vec::new()).check_err(&Unarchive, args(dir.path(), json!({})));
    assert_eq!(err, "Invalid archive 'files/a.bin', the file is 0 bytes");
    let zst = vec![0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0];
    let err = harness(zst).check_err(&Unarchive, args(dir.path(), json!({})));
    assert!(err.contains("zstd"), "{err}");
}

#[test]
fn unsupported_and_conflicting_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let h = harness(gzip(&tar_bytes(TREE)));
    let err = h.check_err(
        &Unarchive,
        args(dir.path(), json!({"extra_opts": ["--strip-components=1"]})),
    );
    assert!(err.contains("`extra_opts` is not supported"), "{err}");
    let err = h.check_err(
        &Unarchive,
        args(dir.path(), json!({"copy": false, "remote_src": true})),
    );
    assert!(
        err.contains("mutually exclusive: ('copy', 'remote_src')"),
        "{err}"
    );
    let err = h.check_err(
        &Unarchive,
        args(dir.path(), json!({"include": ["a"], "exclude": ["b"]})),
    );
    assert!(err.contains("mutually exclusive"), "{err}");
    let vault = harness(b"$ANSIBLE_VAULT;1.1;AES256\n6162\n".to_vec());
    let err = vault.check_err(&Unarchive, args(dir.path(), json!({})));
    assert!(err.contains("vault-encrypted"), "{err}");
}

#[test]
fn remote_src_reads_the_hosts_file_and_copy_false_means_the_same() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let archive = dir.path().join("rel.tar.gz");
    std::fs::write(&archive, gzip(&tar_bytes(TREE))).unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("out");
    std::fs::create_dir(&dest).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let a = json!({"src": archive.display().to_string(), "dest": dest.display().to_string(), "remote_src": true});
    let out = h.apply(&Unarchive, a);
    assert!(out.changed, "{}", out.msg);
    assert_eq!(out.data["src"], json!(archive.display().to_string()));
    let a = json!({"src": archive.display().to_string(), "dest": dest.display().to_string(), "copy": false});
    assert!(!h.apply(&Unarchive, a).changed);
    let a = json!({"src": dir.path().join("missing.tgz").display().to_string(), "dest": dest.display().to_string(), "remote_src": true});
    let err = h.check_err(&Unarchive, a);
    assert!(
        err.starts_with("Source '") && err.ends_with("' does not exist"),
        "{err}"
    );
}

#[test]
fn keep_newer_keeps_a_newer_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let h = harness(gzip(&tar_bytes(TREE)));
    h.apply(&Unarchive, args(dir.path(), json!({})));
    let readme = dir.path().join("app/README");
    std::fs::write(&readme, "mine\n").unwrap_or_else(|e| panic!("{e}"));
    let a = args(dir.path(), json!({"keep_newer": true}));
    assert!(!h.apply(&Unarchive, a).changed);
    assert_eq!(
        std::fs::read_to_string(&readme).unwrap_or_default(),
        "mine\n"
    );
}

#[test]
fn a_url_src_is_downloaded_by_the_host_with_remote_src() {
    use crate::modules::http::testserver::{Handler, Server, reply};
    let archive = std::sync::Arc::new(gzip(&tar_bytes(TREE)));
    let body = std::sync::Arc::clone(&archive);
    let handler: Handler = std::sync::Arc::new(move |seen| {
        if seen.path == "/rel.tar.gz" {
            reply("200 OK", &[], &body)
        } else {
            reply("404 Not Found", &[], b"")
        }
    });
    let server = Server::http(handler);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let dest = dir.path().display().to_string();
    let url = format!("{}/rel.tar.gz", server.base);
    let out = h.apply(
        &Unarchive,
        json!({"src": url, "dest": dest, "remote_src": true}),
    );
    assert!(out.changed, "{}", out.msg);
    assert!(dir.path().join("app/bin/run.sh").is_file());
    let src = out.data["src"].as_str().unwrap_or_default().to_owned();
    assert!(
        !Path::new(&src).exists(),
        "the download `{src}` was left behind"
    );
    let again = h.apply(
        &Unarchive,
        json!({"src": url, "dest": dest, "remote_src": true}),
    );
    assert!(!again.changed, "{}", again.msg);
    let missing = format!("{}/nope.tgz", server.base);
    let err = h.check_err(
        &Unarchive,
        json!({"src": missing, "dest": dest, "remote_src": true}),
    );
    assert!(
        err.starts_with(&format!("Failure downloading {missing}, HTTP Error 404")),
        "{err}"
    );
    let err = h.check_err(&Unarchive, json!({"src": url, "dest": dest}));
    assert!(
        err.contains("only supported when remote_src is True"),
        "{err}"
    );
}

#[test]
fn symlinks_and_hard_links_round_trip() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(3);
    h.set_mode(0o644);
    h.set_mtime(1_600_000_000);
    b.append_data(&mut h, "v1/bin", &b"v1\n"[..])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "current", "v1")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    h.set_mode(0o644);
    b.append_link(&mut h, "v1/bin.hard", "v1/bin")
        .unwrap_or_else(|e| panic!("{e}"));
    let h = harness(gzip(&b.into_inner().unwrap_or_else(|e| panic!("{e}"))));
    let a = args(dir.path(), json!({}));
    assert!(h.apply(&Unarchive, a.clone()).changed);
    assert_eq!(
        std::fs::read_link(dir.path().join("current")).unwrap_or_default(),
        Path::new("v1")
    );
    use std::os::unix::fs::MetadataExt;
    let ino = |p: &str| {
        std::fs::metadata(dir.path().join(p))
            .map(|m| m.ino())
            .unwrap_or(0)
    };
    assert_eq!(ino("v1/bin"), ino("v1/bin.hard"));
    assert!(!h.apply(&Unarchive, a.clone()).changed);
    std::fs::remove_file(dir.path().join("current")).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("elsewhere", dir.path().join("current"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(h.apply(&Unarchive, a.clone()).changed);
    assert!(!h.apply(&Unarchive, a).changed);
}

#[test]
fn a_pax_global_header_is_not_a_member() {
    // `git archive` starts every tarball with one.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut b = tar::Builder::new(Vec::new());
    let comment = b"52 comment=0123456789abcdef0123456789abcdef01234567\n";
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XGlobalHeader);
    h.set_size(comment.len() as u64);
    b.append_data(&mut h, "pax_global_header", &comment[..])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, "proj/x", &b"x!\n"[..])
        .unwrap_or_else(|e| panic!("{e}"));
    let h = harness(gzip(&b.into_inner().unwrap_or_else(|e| panic!("{e}"))));
    let out = h.apply(&Unarchive, args(dir.path(), json!({"list_files": true})));
    assert_eq!(out.data["files"], json!(["proj/x"]));
    assert!(!dir.path().join("pax_global_header").exists());
}

#[test]
fn an_absolute_member_lands_under_dest() {
    // As GNU tar, unzip and Ansible: the leading `/` is dropped.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut b = tar::Builder::new(Vec::new());
    let name = "/etc/dr-unarchive-test.conf";
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_mode(0o644);
    h.set_size(2);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, &b"x\n"[..]).unwrap_or_else(|e| panic!("{e}"));
    let h = harness(b.into_inner().unwrap_or_else(|e| panic!("{e}")));
    let out = h.apply(&Unarchive, args(dir.path(), json!({"list_files": true})));
    assert_eq!(out.data["files"], json!(["etc/dr-unarchive-test.conf"]));
    assert!(dir.path().join("etc/dr-unarchive-test.conf").is_file());
    assert!(!Path::new(name).exists());
}

#[test]
fn an_excluded_member_is_never_written_so_never_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut b = tar::Builder::new(Vec::new());
    for name in ["ok.txt", "../escaped.txt"] {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_mode(0o644);
        h.set_size(2);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, &b"x\n"[..]).unwrap_or_else(|e| panic!("{e}"));
    }
    let h = harness(b.into_inner().unwrap_or_else(|e| panic!("{e}")));
    let out = h.apply(
        &Unarchive,
        args(dir.path(), json!({"exclude": ["escaped.txt"]})),
    );
    assert!(out.changed && dir.path().join("ok.txt").is_file());
}

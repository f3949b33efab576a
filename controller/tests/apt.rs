//! `apt` against the oracle, with no network: tiny packages built here (`dpkg-deb`),
//! indexed into a `file:` repository (`dpkg-scanpackages`), and an apt configuration of
//! their own (`APT_CONFIG`: sources, lists, cache, preferences in a temp dir), so the
//! machine's sources are never read. Packages go into the real dpkg database under names
//! no distribution uses (`dr-test-apt-...`) and are purged at the end.
//!
//! `package` with an argument only `apt` takes runs as `apt`, as Ansible's does on Debian.
//!
//! Needs root, dpkg-dev and ansible-core with python3-apt (`tests/run` installs them).

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value as Json;
use util::{Dr, write_tree};

/// dpkg's database is one per machine: one test at a time.
static DPKG: Mutex<()> = Mutex::new(());

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

fn sh(cmd: &str) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "`{cmd}` failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds `name_version_all.deb` (no files, just a package) in `dir`.
fn build_deb(dir: &Path, name: &str, version: &str) -> PathBuf {
    let root = dir.join(format!("{name}-{version}"));
    write_tree(
        &root,
        &[(
            "DEBIAN/control",
            &format!(
                "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: dr <dr@example.invalid>\nDescription: dr test package\n"
            ),
        )],
    );
    let deb = dir.join(format!("{name}_{version}_all.deb"));
    // A fixed timestamp: the same bytes in every run, as apt's output shows their size.
    sh(&format!(
        "SOURCE_DATE_EPOCH=1700000000 dpkg-deb --root-owner-group --build {} {}",
        root.display(),
        deb.display()
    ));
    deb
}

/// A `file:` repository and an apt configuration that sees only it.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        for sub in [
            "repo",
            "lists/partial",
            "cache/archives/partial",
            "sources.list.d",
            "preferences.d",
            "log",
        ] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        write_tree(
            dir.path(),
            &[
                (
                    "sources.list",
                    &format!("deb [trusted=yes] file:{d}/repo ./\n"),
                ),
                (
                    "apt.conf",
                    &format!(
                        "Dir::Etc::SourceList \"{d}/sources.list\";\nDir::Etc::SourceParts \"{d}/sources.list.d\";\nDir::Etc::Preferences \"{d}/preferences\";\nDir::Etc::PreferencesParts \"{d}/preferences.d\";\nDir::State::Lists \"{d}/lists\";\nDir::Cache \"{d}/cache\";\nDir::Log \"{d}/log\";\nAPT::Sandbox::User \"root\";\n"
                    ),
                ),
            ],
        );
        Repo { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Puts `deb` into the repository and re-indexes it.
    fn publish(&self, deb: &Path) {
        let repo = self.path().join("repo");
        std::fs::copy(deb, repo.join(deb.file_name().unwrap())).unwrap();
        sh(&format!(
            "cd {} && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null",
            repo.display()
        ));
    }
}

/// The installed version of `name`, if any.
fn installed(name: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Abbrev} ${Version}", name])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.strip_prefix("ii  ").map(str::to_owned)
}

fn purge(names: &[&str]) {
    let _ = Command::new("dpkg").arg("--purge").args(names).output();
}

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  environment:
    APT_CONFIG: "{{ base }}/apt.conf"
  tasks:
    - apt: {update_cache: true}
      register: r01
    - apt: {name: dr-test-apt-a}
      check_mode: true
      register: r02
    - apt: {name: dr-test-apt-a}
      register: r03
    - apt: {name: "dr-test-apt-a"}
      register: r04
    - shell: cp {{ base }}/dr-test-apt-a_2.0_all.deb {{ base }}/repo/ && cd {{ base }}/repo && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null
    - apt: {update_cache: true, name: dr-test-apt-a}
      register: r05
    - apt: {upgrade: safe, force_apt_get: true}
      check_mode: true
      register: r17
    - apt: {autoremove: true}
      check_mode: true
      register: r18
    - apt: {name: dr-test-apt-a, state: latest}
      register: r06
    - apt: {name: dr-test-apt-a, state: latest}
      register: r07
    - package: {name: "dr-test-apt-a=1.0", allow_downgrade: true}
      register: r08
    - apt: {name: "dr-test-apt-a=1.*"}
      register: r09
    - apt: {name: dr-test-apt-a, state: absent, purge: true}
      register: r10
    - apt: {name: dr-test-apt-a, state: absent, purge: true}
      register: r11
    - apt: {deb: "{{ base }}/dr-test-apt-b_1.0_all.deb"}
      register: r12
    - apt: {deb: "{{ base }}/dr-test-apt-b_1.0_all.deb"}
      register: r13
    - apt: {name: "dr-test-apt-*", state: absent}
      register: r14
    - apt: {update_cache: true, cache_valid_time: 4000000000}
      register: r15
    - apt: {name: dr-test-apt-no-such}
      register: r16
      ignore_errors: true
    - copy:
        content: "{{ [r01, r02, r03, r04, r05, r06, r07, r08, r09, r10, r11, r12, r13, r14, r15, r16, r17, r18] | to_json }}"
        dest: "{{ playbook_dir }}/{{ out }}"
"#;

/// Runs the playbook with a fresh repository holding version 1.0 (2.0 waiting beside it).
fn run(tool: &str) -> Vec<Json> {
    let repo = Repo::new();
    let a1 = build_deb(repo.path(), "dr-test-apt-a", "1.0");
    build_deb(repo.path(), "dr-test-apt-a", "2.0");
    build_deb(repo.path(), "dr-test-apt-b", "1.0");
    repo.publish(&a1);
    write_tree(
        repo.path(),
        &[("inv.yml", INVENTORY), ("site.yml", PLAYBOOK)],
    );
    let base = format!("base={}", repo.path().display());
    let args = ["-i", "inv.yml", "site.yml", "-e", base.as_str()];
    let out = if tool == "ansible" {
        util::ansible_playbook_out(repo.path(), &args);
        "ansible.json"
    } else {
        util::dr_apply_out(repo.path(), &args);
        "dr.json"
    };
    // apt names the repository, in a temp dir of its own per run.
    let text = std::fs::read_to_string(repo.path().join(out))
        .unwrap()
        .replace(&repo.path().display().to_string(), "BASE");
    match serde_json::from_str(&text) {
        Ok(Json::Array(items)) => items,
        other => panic!("{out}: not a list: {other:?}"),
    }
}

#[test]
fn apt_installs_upgrades_and_removes_as_ansibles() {
    let _one = DPKG.lock().unwrap_or_else(|e| e.into_inner());
    util::assert_fresh_agent();
    purge(&["dr-test-apt-a", "dr-test-apt-b"]);
    let ansible = run("ansible");
    assert_eq!(installed("dr-test-apt-a"), None);
    let dr = run("dr");
    purge(&["dr-test-apt-a", "dr-test-apt-b"]);
    let differences = util::result_differences(&ansible, &dr, &["invocation", "diff"], &["diff"]);
    assert!(
        differences.is_empty(),
        "dr's apt differs from ansible's:\n{}\nansible: {ansible:#?}\ndr: {dr:#?}",
        differences.join("\n")
    );
    let changed: Vec<bool> = dr[..16].iter().map(|r| r["changed"] == true).collect();
    assert_eq!(
        changed,
        [
            false, true, true, false, false, true, false, true, false, true, false, true, false,
            true, false, false
        ],
        "{dr:#?}"
    );
    assert_eq!(dr[15]["failed"], true);
    assert_eq!(
        dr[16]["changed"], true,
        "the upgrade would take dr-test-apt-a to 2.0"
    );
    assert_eq!(
        dr[15]["msg"],
        "No package matching 'dr-test-apt-no-such' is available"
    );
}

#[test]
fn check_mode_changes_nothing_not_even_the_cache() {
    let _one = DPKG.lock().unwrap_or_else(|e| e.into_inner());
    purge(&["dr-test-apt-c"]);
    let repo = Repo::new();
    let deb = build_deb(repo.path(), "dr-test-apt-c", "1.0");
    repo.publish(&deb);
    let play = format!(
        "- hosts: h\n  gather_facts: false\n  environment:\n    APT_CONFIG: {}/apt.conf\n  tasks:\n    - apt: {{update_cache: true}}\n    - apt: {{deb: {}}}\n",
        repo.path().display(),
        deb.display()
    );
    write_tree(repo.path(), &[("inv.yml", INVENTORY), ("site.yml", &play)]);
    Dr::new(
        repo.path(),
        &["apply", "--check", "-i", "inv.yml", "site.yml"],
    )
    .run()
    .code(2);
    assert_eq!(installed("dr-test-apt-c"), None);
    let lists: Vec<_> = std::fs::read_dir(repo.path().join("lists"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "partial")
        .collect();
    assert!(lists.is_empty(), "check mode updated the cache: {lists:?}");
}

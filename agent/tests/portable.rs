//! The portable agent (`tests/build-agent`) starts on old hosts: the newest glibc symbol
//! version it needs is at most 2.17, read from its `.gnu.version_r` section (what the
//! dynamic loader checks before running anything), and it runs a play.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dr_agent::wire::{Event, PROTOCOL_VERSION};
use object::read::elf::ElfFile64;

/// The glibc floor `tests/build-agent` promises.
const FLOOR: (u32, u32) = (2, 17);

/// Every `GLIBC_x.y[.z]` version the ELF file at `path` needs, as `(x, y)`.
fn glibc_versions(path: &Path) -> Vec<(u32, u32)> {
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
    let elf = ElfFile64::<object::Endianness>::parse(&data[..])
        .unwrap_or_else(|e| panic!("`{}` is not a 64-bit ELF file: {e}", path.display()));
    let endian = elf.endian();
    let sections = elf.elf_section_table();
    let (mut needs, link) = sections
        .gnu_verneed(endian, &data[..])
        .expect("readable .gnu.version_r")
        .unwrap_or_else(|| panic!("`{}` needs no symbol versions", path.display()));
    let strings = sections
        .strings(endian, &data[..], link)
        .expect("the version names' string table");
    let mut versions = Vec::new();
    while let Some((_, mut aux)) = needs.next().expect("a Verneed entry") {
        while let Some(entry) = aux.next().expect("a Vernaux entry") {
            let name = String::from_utf8_lossy(entry.name(endian, strings).expect("name"));
            if let Some(v) = name.strip_prefix("GLIBC_") {
                let mut parts = v.split('.').map(|p| p.parse::<u32>());
                if let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) {
                    versions.push((major, minor));
                }
            }
        }
    }
    versions.sort_unstable();
    versions.dedup();
    versions
}

/// `tests/build-agent`'s output for this machine: `DR_PORTABLE_AGENT`, else
/// `<target>/portable/dr-agent-<uname -m>`. Never skipped when missing.
fn portable_agent() -> PathBuf {
    if let Some(p) = std::env::var_os("DR_PORTABLE_AGENT").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let uname = Command::new("uname")
        .arg("-m")
        .output()
        .expect("uname runs");
    let arch = String::from_utf8_lossy(&uname.stdout).trim().to_owned();
    // <target>/<profile>/dr-agent → <target>/portable/dr-agent-<arch>
    let target = Path::new(env!("CARGO_BIN_EXE_dr-agent"))
        .parent()
        .and_then(Path::parent)
        .expect("the target directory");
    let path = target.join(format!("portable/dr-agent-{arch}"));
    assert!(
        path.is_file(),
        "no portable agent at `{}`: build it with `tests/build-agent` (tests/run does), or set \
         DR_PORTABLE_AGENT",
        path.display()
    );
    path
}

#[test]
fn the_portable_agent_needs_glibc_2_17_at_most_and_runs_a_play() {
    let path = portable_agent();
    let versions = glibc_versions(&path);
    let newest = versions.last().copied().expect("some GLIBC_ version");
    assert!(
        newest <= FLOOR,
        "`{}` needs GLIBC_{}.{} (all: {versions:?}); the portable agent must start on glibc {}.{}",
        path.display(),
        newest.0,
        newest.1,
        FLOOR.0,
        FLOOR.1
    );
    // It runs a play: one request on stdin, events on stdout, the last one `finished`.
    let request = serde_json::json!({
        "protocol": PROTOCOL_VERSION,
        "host": "local",
        "mode": "apply",
        "diff": false,
        "play": {"name": "p", "tasks": [
            {"module": "shell", "args": "echo portable {{ who }}", "register": "r", "location": "p.yml:3:7"},
            {"module": "debug", "args": {"msg": "{{ r.stdout }}"}, "location": "p.yml:5:7"}
        ]},
        "vars": {"who": "agent"},
        "files": {}
    });
    let mut child = Command::new(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("`{}` does not start: {e}", path.display()));
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{request}").expect("write the request");
    let out = child.wait_with_output().expect("the agent finishes");
    drop(stdin);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("portable agent"),
        "`{}` (rebuild it with `tests/build-agent` if the protocol changed):\n{stdout}\n{stderr}",
        path.display()
    );
    let last = stdout.lines().last().map(Event::from_line);
    assert!(
        matches!(last, Some(Ok(Event::Finished { error: None, .. }))),
        "the play ends without error: {stdout}"
    );
}

/// The reader itself sees what `objdump -T` sees: this machine's own build of the agent
/// links its glibc, which is newer than 2.17 here (2.36 on Debian 12).
#[test]
fn the_version_reader_sees_a_plain_builds_glibc() {
    let plain = glibc_versions(Path::new(env!("CARGO_BIN_EXE_dr-agent")));
    let objdump = Command::new("objdump")
        .arg("-T")
        .arg(env!("CARGO_BIN_EXE_dr-agent"))
        .output()
        .expect("objdump runs (binutils)");
    let text = String::from_utf8_lossy(&objdump.stdout);
    let mut seen: Vec<(u32, u32)> = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next()??))
        })
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(plain, seen);
    assert!(plain.last().is_some_and(|v| *v > FLOOR), "{plain:?}");
}

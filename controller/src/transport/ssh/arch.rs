//! Machine architectures as `uname -m` names them, which is how agent binaries are named
//! (`dr-agent-x86_64`, `dr-agent-aarch64`) and how a host says what it runs.

/// The name the host's probe reports when the agent is not cached, on the line
/// `dr: agent not cached; arch: <uname -m>` (stderr of the warm-path command).
pub const PROBE_MARK: &str = "dr: agent not cached; arch: ";

/// Other spellings of the same machine (BSD and macOS say `amd64`/`arm64`).
const ALIASES: &[(&str, &[&str])] = &[("x86_64", &["amd64"]), ("aarch64", &["arm64"])];

/// The canonical name of `uname -m` output `raw` (`arm64` → `aarch64`), or `None` when it
/// is empty or holds characters no machine name has (it names a file and a shell pattern).
pub fn normalize(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let canonical = ALIASES
        .iter()
        .find(|(_, others)| others.contains(&raw))
        .map_or(raw, |(name, _)| name);
    Some(canonical.to_owned())
}

/// Every `uname -m` spelling of the canonical `arch`, itself first.
pub fn spellings(arch: &str) -> Vec<&str> {
    let mut all = vec![arch];
    if let Some((_, others)) = ALIASES.iter().find(|(name, _)| *name == arch) {
        all.extend_from_slice(others);
    }
    all
}

/// What `uname -m` says on the machine `dr` itself runs on: the architecture a plain
/// `dr-agent` built beside it is for.
pub fn controller() -> &'static str {
    match std::env::consts::ARCH {
        "x86" => "i686",
        "arm" => "armv7l",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        other => other,
    }
}

/// The architecture a host reported in the warm-path command's stderr, canonical; `None`
/// when the probe line is missing or `uname -m` printed nothing usable.
pub fn reported(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix(PROBE_MARK))
        .and_then(normalize)
}

/// The Rust target to build the agent with for `arch`, when the usual one is known.
pub fn rust_target(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "x86_64" => "x86_64-unknown-linux-gnu",
        "aarch64" => "aarch64-unknown-linux-gnu",
        "armv7l" => "armv7-unknown-linux-gnueabihf",
        "i686" => "i686-unknown-linux-gnu",
        "riscv64" => "riscv64gc-unknown-linux-gnu",
        "ppc64le" => "powerpc64le-unknown-linux-gnu",
        "s390x" => "s390x-unknown-linux-gnu",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uname_names_are_canonical_and_safe() {
        assert_eq!(normalize("x86_64\n").as_deref(), Some("x86_64"));
        assert_eq!(normalize("amd64").as_deref(), Some("x86_64"));
        assert_eq!(normalize("arm64").as_deref(), Some("aarch64"));
        assert_eq!(normalize("riscv64").as_deref(), Some("riscv64"));
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("x86_64; rm -rf /"), None);
        assert_eq!(spellings("aarch64"), ["aarch64", "arm64"]);
        assert_eq!(spellings("s390x"), ["s390x"]);
    }

    #[test]
    fn the_probe_line_is_found_among_others() {
        let stderr = "bash: warning: setlocale\ndr: agent not cached; arch: arm64\n";
        assert_eq!(reported(stderr).as_deref(), Some("aarch64"));
        assert_eq!(reported("dr: agent not cached; arch: \n"), None);
        assert_eq!(reported("sh: 1: uname: not found\n"), None);
    }

    #[test]
    fn the_controller_arch_is_what_uname_says_here() {
        let out = std::process::Command::new("uname")
            .arg("-m")
            .output()
            .expect("uname runs");
        let here = String::from_utf8_lossy(&out.stdout);
        assert_eq!(normalize(&here).as_deref(), Some(controller()));
    }
}

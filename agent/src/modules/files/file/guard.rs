//! Paths `file: state=absent` never removes, whatever the flags or the consent: `/`, an
//! empty path (an empty variable in `path: "{{ app_dir }}/"` renders to `/`), and the
//! system's top-level directories. The check looks at the path as written, with `..`,
//! `.`, `//` and trailing slashes resolved lexically, and at what the kernel resolves it to
//! (symlinks included), so no spelling of `/usr` gets through.

use std::path::{Component, Path, PathBuf};

use crate::fsutil::lexical;

/// Directories directly under `/` that are never removed.
const TOP_LEVEL: &[&str] = &[
    "bin",
    "boot",
    "dev",
    "etc",
    "home",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "lost+found",
    "media",
    "mnt",
    "opt",
    "proc",
    "root",
    "run",
    "sbin",
    "snap",
    "srv",
    "sys",
    "tmp",
    "usr",
    "var",
];

/// Directories one level further down that hold the system itself.
const SECOND_LEVEL: &[&str] = &[
    "/usr/bin",
    "/usr/include",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/mail",
    "/var/spool",
    "/var/tmp",
];

/// Why removing `path` is refused, or `None` when it may be removed. Reads the file system
/// only to resolve links; never changes it.
pub(super) fn refusal(path: &str) -> Option<String> {
    const RULE: &str = "dr never removes `/`, an empty path, a home directory or a top-level system directory, whatever the flags";
    if path.trim().is_empty() {
        return Some(format!(
            "refusing to remove an empty path (is a variable in it empty or undefined?): {RULE}"
        ));
    }
    let absolute = match Path::new(path).is_absolute() {
        true => PathBuf::from(path),
        false => std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path),
    };
    let mut seen = vec![lexical(&absolute)];
    // What the kernel reaches: a trailing slash or `.` follows a final link, and `..`
    // after a link climbs from the link's target. Otherwise a final link is removed
    // as a link (its target stays), so only the directories above it are resolved.
    let follows_last = path.ends_with('/') || path.ends_with("/.") || path == ".";
    let climbs = Path::new(path)
        .components()
        .any(|c| c == Component::ParentDir);
    if follows_last || climbs {
        if let Ok(real) = std::fs::canonicalize(&absolute) {
            seen.push(real);
        }
    } else if let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name())
        && let Ok(real_parent) = std::fs::canonicalize(parent)
    {
        seen.push(real_parent.join(name));
    }
    let hit = seen.iter().find(|p| protected(p))?;
    let resolved = if hit.as_os_str() == path {
        String::new()
    } else {
        format!(
            " (it is `{}` once `..`, `//`, trailing slashes and links are resolved)",
            hit.display()
        )
    };
    Some(format!("refusing to remove `{path}`{resolved}: {RULE}"))
}

fn protected(path: &Path) -> bool {
    let text = path.to_string_lossy();
    if text == "/" || SECOND_LEVEL.contains(&text.as_ref()) {
        return true;
    }
    let home = std::env::var_os("HOME").map(|h| lexical(Path::new(&h)));
    if home.is_some_and(|h| h == path) {
        return true;
    }
    let mut parts = path.components().skip(1);
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(top)), None) => TOP_LEVEL.contains(&top.to_string_lossy().as_ref()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_empty_and_system_directories_in_every_spelling_are_refused() {
        for p in [
            "/",
            "//",
            "/.",
            "/..",
            "/../..",
            "",
            " ",
            "/usr",
            "/usr/",
            "//usr//",
            "/usr/.",
            "/tmp/../etc",
            "/srv/app/../..",
            "/var/lib/",
            "/home",
            "/root",
            "/boot/",
        ] {
            assert!(refusal(p).is_some(), "`{p}` was not refused");
        }
        assert_eq!(
            refusal("/srv/app/../../usr/").as_deref(),
            Some(
                "refusing to remove `/srv/app/../../usr/` (it is `/usr` once `..`, `//`, trailing slashes and links are resolved): dr never removes `/`, an empty path, a home directory or a top-level system directory, whatever the flags"
            )
        );
    }

    #[test]
    fn ordinary_directories_are_allowed() {
        for p in [
            "/srv/app",
            "/srv/app/",
            "/opt/akira/data",
            "/var/lib/postgresql/15/main",
            "/tmp/x",
        ] {
            assert_eq!(refusal(p), None, "`{p}` was refused");
        }
    }

    #[test]
    fn a_link_to_a_system_directory_is_refused_through_a_trailing_slash() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let link = dir.path().join("etc-link");
        std::os::unix::fs::symlink("/etc", &link).unwrap_or_else(|e| panic!("{e}"));
        // The link itself may go (removing it leaves /etc alone) ...
        assert_eq!(refusal(&link.display().to_string()), None);
        // ... but through a trailing slash the path is /etc itself.
        let through = format!("{}/", link.display());
        let why = refusal(&through).unwrap_or_default();
        assert!(why.contains("it is `/etc` once"), "{why}");
        // A parent that is a link to `/` makes `x/usr` the real /usr.
        let root = dir.path().join("root-link");
        std::os::unix::fs::symlink("/", &root).unwrap_or_else(|e| panic!("{e}"));
        let why = refusal(&root.join("usr").display().to_string()).unwrap_or_default();
        assert!(why.contains("it is `/usr` once"), "{why}");
    }
}

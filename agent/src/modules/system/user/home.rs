//! A home directory made as Ansible's `user` module makes one when `useradd` did not: a
//! copy of the skeleton directory, its mode from `/etc/login.defs`, owned by the user.

use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, lchown};
use std::path::Path;

/// Where `useradd` takes its defaults from.
const LOGIN_DEFS: &str = "/etc/login.defs";

/// Creates `home` (and its parents) from `skeleton` (default `/etc/skel`; an empty
/// directory when there is none) unless it exists, sets its mode, and gives the whole
/// tree to `uid:gid`.
pub(super) fn create(home: &Path, skeleton: Option<&str>, uid: u32, gid: u32) -> io::Result<()> {
    if !home.exists() {
        let skeleton = Path::new(skeleton.unwrap_or("/etc/skel"));
        if skeleton.exists() && skeleton != Path::new("/dev/null") {
            copy_tree(skeleton, home)?;
        } else {
            fs::create_dir_all(home)?;
        }
        if let Ok(defs) = fs::read_to_string(LOGIN_DEFS) {
            fs::set_permissions(home, fs::Permissions::from_mode(mode(&defs)))?;
        }
    }
    chown_tree(home, uid, gid)
}

/// The mode of a new home directory: `HOME_MODE`, else what `UMASK` leaves of 0777, else
/// 0755 (useradd's own default umask is 022).
fn mode(login_defs: &str) -> u32 {
    let value = |line: &str, key: &str| {
        let rest = line.strip_prefix(key)?;
        let digits = rest
            .strip_prefix([' ', '\t'])?
            .trim_start_matches([' ', '\t']);
        (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
            .then(|| u32::from_str_radix(digits, 8).ok())
            .flatten()
    };
    let mut mode = 0o755;
    for line in login_defs.lines() {
        if let Some(m) = value(line, "HOME_MODE") {
            return m;
        }
        if let Some(umask) = value(line, "UMASK") {
            mode = 0o777 & !umask;
        }
    }
    mode
}

/// How many entries are below `dir` (links counted, never followed; counting stops at
/// 100 000); 0 when it is not a directory.
pub(super) fn entries(dir: &Path) -> u64 {
    let mut count = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(listing) = fs::read_dir(&d) else {
            continue;
        };
        for entry in listing.flatten() {
            count += 1;
            if count >= 100_000 {
                return count;
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(entry.path());
            }
        }
    }
    count
}

/// Copies a directory tree, keeping symlinks as links and files' modes.
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src)?, &dst)?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst)?;
        }
    }
    let mode = fs::metadata(from)?.permissions().mode();
    fs::set_permissions(to, fs::Permissions::from_mode(mode))
}

/// Gives `path` and everything under it (links themselves, not their targets) to
/// `uid:gid`.
fn chown_tree(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    lchown(path, Some(uid), Some(gid))?;
    if fs::symlink_metadata(path)?.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_comes_from_login_defs() {
        assert_eq!(mode("UMASK\t\t022\n"), 0o755);
        assert_eq!(mode("UMASK 027\n#HOME_MODE 0700\n"), 0o750);
        assert_eq!(mode("HOME_MODE 0700\nUMASK 022\n"), 0o700);
        assert_eq!(mode("UMASK 022\nHOME_MODE\t0711\n"), 0o711);
        assert_eq!(mode(""), 0o755);
    }

    #[test]
    fn a_home_is_a_copy_of_the_skeleton_owned_by_the_user() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let skel = dir.path().join("skel");
        fs::create_dir_all(skel.join("sub")).unwrap_or_else(|e| panic!("{e}"));
        fs::write(skel.join("sub/.rc"), "x").unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("sub/.rc", skel.join("link")).unwrap_or_else(|e| panic!("{e}"));
        let home = dir.path().join("a/b/home");
        create(&home, skel.to_str(), 4321, 4322).unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::MetadataExt;
        let meta = fs::symlink_metadata(home.join("sub/.rc")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
        let link = fs::symlink_metadata(home.join("link")).unwrap_or_else(|e| panic!("{e}"));
        assert!(link.file_type().is_symlink() && link.uid() == 4321);
        assert_eq!(fs::metadata(&home).map(|m| m.uid()).ok(), Some(4321));
        assert_eq!(entries(&home), 3);
        assert_eq!(entries(&home.join("missing")), 0);
    }
}

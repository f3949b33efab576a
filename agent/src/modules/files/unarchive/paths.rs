//! Where a member lands under `dest`, refusing any member that would land outside it:
//! `..` components, a path through a symlink the archive itself made, or through one on
//! the host that leads out of `dest`. A leading `/` is dropped, as GNU tar, unzip and
//! Ansible do (the member lands under `dest`).

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// Why a member is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Traversal {
    /// Its name climbs out with `..`.
    #[error(
        "path traversal: member `{0}` has a `..` component and would be written outside `dest`"
    )]
    DotDot(String),
    /// It lies below a symlink the archive made.
    #[error(
        "path traversal: member `{member}` lies below `{link}`, a symlink of the archive, and would be written through it"
    )]
    ThroughArchiveLink {
        /// The member.
        member: String,
        /// The symlink member.
        link: String,
    },
    /// It lies below a symlink on the host that leads out of `dest`.
    #[error(
        "path traversal: member `{member}` lies below `{link}`, a symlink that leads outside `dest`"
    )]
    ThroughHostLink {
        /// The member.
        member: String,
        /// The symlink on the host.
        link: String,
    },
}

/// The path of member `name` relative to `dest` (empty for `dest` itself, as `./`).
pub fn relative(name: &str) -> Result<PathBuf, Traversal> {
    let mut out = PathBuf::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(Traversal::DotDot(name.to_owned())),
            p => out.push(p),
        }
    }
    Ok(out)
}

/// Checks, member by member in archive order, that nothing is written through a link.
pub struct Guard {
    dest: PathBuf,
    real_dest: PathBuf,
    archive_links: HashSet<PathBuf>,
}

impl Guard {
    /// A guard for extraction into `dest` (an existing directory).
    pub fn new(dest: &Path) -> std::io::Result<Guard> {
        Ok(Guard {
            dest: dest.to_path_buf(),
            real_dest: dest.canonicalize()?,
            archive_links: HashSet::new(),
        })
    }

    /// Checks member `name` at `rel`; `is_link` records it as a symlink for later members.
    pub fn check(&mut self, name: &str, rel: &Path, is_link: bool) -> Result<(), Traversal> {
        let mut ancestor = PathBuf::new();
        let parents: Vec<Component<'_>> = rel.components().collect();
        for part in parents.iter().take(parents.len().saturating_sub(1)) {
            ancestor.push(part);
            if self.archive_links.contains(&ancestor) {
                return Err(Traversal::ThroughArchiveLink {
                    member: name.to_owned(),
                    link: ancestor.display().to_string(),
                });
            }
            let on_host = self.dest.join(&ancestor);
            let is_symlink =
                std::fs::symlink_metadata(&on_host).is_ok_and(|m| m.file_type().is_symlink());
            if is_symlink {
                let inside = on_host
                    .canonicalize()
                    .is_ok_and(|real| real.starts_with(&self.real_dest));
                if !inside {
                    return Err(Traversal::ThroughHostLink {
                        member: name.to_owned(),
                        link: on_host.display().to_string(),
                    });
                }
            }
        }
        if is_link {
            self.archive_links.insert(rel.to_path_buf());
        } else {
            // A later member of the same name replaces the link.
            self.archive_links.remove(rel);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_under_dest() {
        assert_eq!(relative("./a/b.txt"), Ok(PathBuf::from("a/b.txt")));
        assert_eq!(relative("/etc/passwd"), Ok(PathBuf::from("etc/passwd")));
        assert_eq!(relative("./"), Ok(PathBuf::new()));
        assert_eq!(
            relative("a/../../x"),
            Err(Traversal::DotDot("a/../../x".into()))
        );
    }

    #[test]
    fn nothing_is_written_through_a_link() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut guard = Guard::new(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        guard
            .check("evil", Path::new("evil"), true)
            .unwrap_or_else(|e| panic!("{e}"));
        let err = guard.check("evil/passwd", Path::new("evil/passwd"), false);
        assert!(
            matches!(err, Err(Traversal::ThroughArchiveLink { .. })),
            "{err:?}"
        );
        std::os::unix::fs::symlink("/etc", dir.path().join("out"))
            .unwrap_or_else(|e| panic!("{e}"));
        let err = guard.check("out/x", Path::new("out/x"), false);
        assert!(
            matches!(err, Err(Traversal::ThroughHostLink { .. })),
            "{err:?}"
        );
        std::fs::create_dir(dir.path().join("real")).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("real", dir.path().join("inside"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            guard
                .check("inside/x", Path::new("inside/x"), false)
                .is_ok()
        );
    }
}

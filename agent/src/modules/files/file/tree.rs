//! What a directory holds, counted before it is removed, so the plan and the refusal can
//! say what would be destroyed ("12 files, 3 subdirectories").

use std::fs;
use std::path::Path;

/// Counting stops here: the number is for people, and a huge tree must not stall the plan.
const MAX_COUNTED: u64 = 100_000;

/// The entries below a directory (links are counted, never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Census {
    /// Files, links and other non-directories.
    pub files: u64,
    /// Directories below the top one.
    pub dirs: u64,
    /// Counting stopped at [`MAX_COUNTED`] entries.
    pub truncated: bool,
}

impl Census {
    /// Counts what is below `dir`.
    pub fn of(dir: &Path) -> std::io::Result<Census> {
        let mut census = Census::default();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(d) = pending.pop() {
            for entry in fs::read_dir(&d)? {
                if census.files + census.dirs >= MAX_COUNTED {
                    census.truncated = true;
                    return Ok(census);
                }
                let entry = entry?;
                if entry.file_type()?.is_dir() {
                    census.dirs += 1;
                    pending.push(entry.path());
                } else {
                    census.files += 1;
                }
            }
        }
        Ok(census)
    }

    /// Nothing below the directory.
    pub fn is_empty(&self) -> bool {
        self.files == 0 && self.dirs == 0
    }

    /// "12 files, 3 subdirectories" (with "at least" when counting stopped).
    pub fn describe(&self) -> String {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut text = plural(self.files, "file", "files");
        if self.dirs > 0 {
            text.push_str(&format!(
                ", {}",
                plural(self.dirs, "subdirectory", "subdirectories")
            ));
        }
        if self.truncated {
            text = format!("at least {text}");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_files_and_subdirectories_without_following_links() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path();
        fs::create_dir_all(root.join("a/b")).unwrap_or_else(|e| panic!("{e}"));
        for f in ["x", "a/y", "a/b/z"] {
            fs::write(root.join(f), f).unwrap_or_else(|e| panic!("{e}"));
        }
        std::os::unix::fs::symlink("/usr", root.join("usr-link")).unwrap_or_else(|e| panic!("{e}"));
        let census = Census::of(root).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            census,
            Census {
                files: 4,
                dirs: 2,
                truncated: false
            }
        );
        assert_eq!(census.describe(), "4 files, 2 subdirectories");
        let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let none = Census::of(empty.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(none.is_empty());
        assert_eq!(none.describe(), "0 files");
    }
}

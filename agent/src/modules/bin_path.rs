//! Finding a host program as Ansible's `get_bin_path` does: on `PATH`, then in the `sbin`
//! directories a non-login `PATH` may lack (where `useradd` and `groupadd` live).

use std::path::{Path, PathBuf};

/// Searched after `PATH`.
const SBIN: &[&str] = &["/sbin", "/usr/sbin", "/usr/local/sbin"];

/// The path of `name`, or why it was not found.
pub(super) fn find(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .filter(|d| !d.is_empty())
        .chain(SBIN.iter().copied())
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("cannot find `{name}` on PATH or in {}", SBIN.join(", ")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn programs_are_found_in_sbin_too() {
        assert!(super::find("sh").is_ok_and(|p| p.ends_with("sh")));
        let e = super::find("no-such-program-dr").unwrap_err();
        assert_eq!(
            e,
            "cannot find `no-such-program-dr` on PATH or in /sbin, /usr/sbin, /usr/local/sbin"
        );
    }
}

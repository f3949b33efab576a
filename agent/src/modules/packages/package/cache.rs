//! The apt cache's age, read as Ansible's `apt` reads it for `cache_valid_time`: the
//! success stamp apt's periodic job writes, else the lists directory.

use std::path::Path;
use std::time::SystemTime;

const STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";
const LISTS: &str = "/var/lib/apt/lists";

/// Seconds since the apt cache was last updated; `None` when that cannot be told.
pub fn age() -> Option<u64> {
    age_of(Path::new(STAMP), Path::new(LISTS))
}

/// [`age`] from these two paths.
pub fn age_of(stamp: &Path, lists: &Path) -> Option<u64> {
    let modified = std::fs::metadata(stamp)
        .or_else(|_| std::fs::metadata(lists))
        .ok()?
        .modified()
        .ok()?;
    Some(
        SystemTime::now()
            .duration_since(modified)
            .map_or(0, |d| d.as_secs()),
    )
}

/// Whether the cache is to be updated: `cache_valid_time` (which implies `update_cache`,
/// as in Ansible) when the cache is older than it, else `update_cache` itself.
pub fn wants_update(update_cache: bool, valid_for: Option<u64>, age: Option<u64>) -> bool {
    match valid_for {
        Some(valid) => age.is_none_or(|a| a > valid),
        None => update_cache,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_cache_is_kept_and_a_stale_or_unknown_one_updated() {
        assert!(!wants_update(true, Some(3600), Some(10)));
        assert!(wants_update(false, Some(3600), Some(7200)));
        assert!(wants_update(false, Some(3600), None));
        assert!(wants_update(true, None, Some(10)));
        assert!(!wants_update(false, None, None));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let stamp = dir.path().join("stamp");
        assert_eq!(age_of(&stamp, &dir.path().join("none")), None);
        std::fs::write(&stamp, "").unwrap_or_else(|e| panic!("{e}"));
        assert!(age_of(&stamp, &dir.path().join("none")).is_some_and(|a| a < 60));
    }
}

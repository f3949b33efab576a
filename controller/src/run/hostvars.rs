//! The `hostvars` the next requests carry: the inventory's entries as `add_host`/`group_by`
//! left them, with the facts and registered results of the plays that ended. Built once
//! after each change and shared by every request until the next one, instead of once per
//! host (which made the controller's memory and time grow with the square of the hosts).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use dr_agent::wire::SharedVars;

/// The last `hostvars` built per playbook directory (whose `group_vars/`/`host_vars/`
/// they include), and what they were built from.
#[derive(Default)]
pub struct HostvarsCache {
    /// Bumped by every change to what `hostvars` is built from.
    generation: AtomicU64,
    built: Mutex<HashMap<PathBuf, (u64, SharedVars)>>,
}

impl HostvarsCache {
    /// What `hostvars` is built from changed (facts kept, the inventory changed): the next
    /// request builds them again.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The `hostvars` for the plays of the playbook in `dir`: the ones built since the last
    /// change, else `build`'s. Building holds the cache, so hosts starting together build
    /// once and share.
    pub fn get_or_build<E>(
        &self,
        dir: &Path,
        build: impl FnOnce() -> Result<SharedVars, E>,
    ) -> Result<SharedVars, E> {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        // Read under the lock and before building: a change made while building bumps it
        // after, so what is built then is kept as older than it is, never as newer.
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some((at, vars)) = built.get(dir)
            && *at == generation
        {
            return Ok(vars.clone());
        }
        let vars = build()?;
        built.insert(dir.to_path_buf(), (generation, vars.clone()));
        Ok(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn vars(n: i64) -> SharedVars {
        let mut map = Map::new();
        map.insert("h".into(), json!({ "n": n }));
        SharedVars::new(map)
    }

    #[test]
    fn built_once_per_change_and_per_directory() {
        let cache = HostvarsCache::default();
        let builds = std::cell::Cell::new(0);
        let get = |dir: &str, n: i64| {
            cache
                .get_or_build::<()>(Path::new(dir), || {
                    builds.set(builds.get() + 1);
                    Ok(vars(n))
                })
                .unwrap_or_default()
        };
        let a = get("p", 1);
        let b = get("p", 2);
        assert!(a.same(&b), "the second request shares the first one's");
        assert_eq!(b.map()["h"]["n"], json!(1));
        let other = get("q", 3);
        assert_eq!(other.map()["h"]["n"], json!(3));
        assert_eq!(builds.get(), 2);
        cache.changed();
        let fresh = cache
            .get_or_build::<()>(Path::new("p"), || Ok(vars(4)))
            .unwrap_or_default();
        assert_eq!(fresh.map()["h"]["n"], json!(4), "a change builds again");
    }

    #[test]
    fn a_failed_build_is_not_kept() {
        let cache = HostvarsCache::default();
        let failed = cache.get_or_build(Path::new("p"), || Err("no"));
        assert_eq!(failed.err(), Some("no"));
        let then = cache
            .get_or_build::<()>(Path::new("p"), || Ok(vars(5)))
            .unwrap_or_default();
        assert_eq!(then.map()["h"]["n"], json!(5));
    }
}

//! The variables every host of a play's batch has alike: `groups` (every group's hosts),
//! `ansible_play_hosts`, `ansible_play_hosts_all` and `ansible_play_batch`, each a list of
//! host names. They are built once per batch and shared by its requests
//! ([`dr_agent::wire::Request::play_vars`]), each host's own variables holding a null in
//! their place, instead of being copied into every host's variables: at 300 hosts those
//! copies were ~35 MB of the controller's memory, growing with the square of the hosts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dr_agent::wire::SharedVars;
use serde_json::Value;

/// The names a batch's requests share; a host's own variables keep a null in their place.
pub const NAMES: [&str; 4] = [
    "groups",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_batch",
];

/// The shared variables of the batches whose requests were built since the inventory last
/// changed.
#[derive(Default)]
pub struct PlayVarsCache {
    /// Bumped when `add_host`/`group_by` change the inventory (and so `groups`).
    generation: AtomicU64,
    built: Mutex<Vec<Built>>,
}

struct Built {
    generation: u64,
    play: usize,
    /// Kept so that its address, the key, is not reused while the entry lives.
    batch: Arc<[String]>,
    vars: SharedVars,
}

impl PlayVarsCache {
    /// The inventory changed: `groups` is built again for the next requests.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The shared variables of `batch` (the batch of play `play`): the ones built since the
    /// inventory last changed, else `groups` and the lists built now.
    pub fn get_or_build(
        &self,
        play: usize,
        play_hosts: &[String],
        batch: &Arc<[String]>,
        groups: impl FnOnce() -> Value,
    ) -> SharedVars {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        // Read under the lock, as the `hostvars` cache does: a change made while building
        // bumps it after, so what is built then is never kept as newer than it is.
        let generation = self.generation.load(Ordering::SeqCst);
        built.retain(|b| b.generation == generation);
        if let Some(b) = built
            .iter()
            .find(|b| b.play == play && Arc::ptr_eq(&b.batch, batch))
        {
            return b.vars.clone();
        }
        let values = [
            groups(),
            play_hosts.into(),
            play_hosts.into(),
            batch.to_vec().into(),
        ];
        let vars = SharedVars::new(NAMES.into_iter().map(String::from).zip(values).collect());
        built.push(Built {
            generation,
            play,
            batch: batch.clone(),
            vars: vars.clone(),
        });
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> Arc<[String]> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn built_once_per_batch_and_again_after_an_inventory_change() {
        let cache = PlayVarsCache::default();
        let hosts = ["a".to_owned(), "b".to_owned()];
        let (first, second) = (names(&["a"]), names(&["b"]));
        let builds = std::cell::Cell::new(0);
        let get = |batch: &Arc<[String]>| {
            cache.get_or_build(0, &hosts, batch, || {
                builds.set(builds.get() + 1);
                json!({"all": ["a", "b"]})
            })
        };
        let one = get(&first);
        assert!(one.same(&get(&first)));
        assert_eq!(builds.get(), 1);
        let two = get(&second);
        assert!(!two.same(&one));
        assert_eq!(two.map()["ansible_play_batch"], json!(["b"]));
        assert_eq!(one.map()["ansible_play_batch"], json!(["a"]));
        assert_eq!(one.map()["ansible_play_hosts_all"], json!(["a", "b"]));
        assert_eq!(builds.get(), 2);
        // An equal list at another address is another batch (another play's).
        assert!(!get(&names(&["a"])).same(&one));
        cache.changed();
        assert!(!get(&first).same(&one));
        assert_eq!(builds.get(), 4);
    }

    #[test]
    fn joined_in_place_of_the_nulls() {
        let mut vars = match json!({"x": 1, "groups": null, "ansible_play_batch": null, "z": 2}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let cache = PlayVarsCache::default();
        let shared = cache.get_or_build(
            0,
            &["h".to_owned()],
            &names(&["h"]),
            || json!({"all": ["h"]}),
        );
        shared.join_into(&mut vars);
        let keys: Vec<&str> = vars.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "x",
                "groups",
                "ansible_play_batch",
                "z",
                "ansible_play_hosts",
                "ansible_play_hosts_all"
            ]
        );
        assert_eq!(vars["groups"], json!({"all": ["h"]}));
    }
}

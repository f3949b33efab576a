//! Answers of `ssh -G` kept for the run, one per distinct command line. `ssh -G` prints
//! what OpenSSH would use for a destination: a function of its arguments (address, port,
//! user, the inventory's `-F`/`-o` options), the config files and the environment, none
//! of which a run changes; so hosts that share all of its arguments (hosts behind one
//! address on different inventory names, or hundreds of hosts on a few ports of one test
//! machine) share one answer instead of starting one OpenSSH process (~4 ms) each. A
//! `Match exec` command is then run once per distinct command line in a run, not once per
//! host.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Answers by command line; the first host to ask for one resolves it, the others asking
/// at the same time wait for it rather than starting their own.
pub struct Resolved<T> {
    answers: Mutex<HashMap<Vec<String>, Arc<OnceLock<T>>>>,
}

impl<T> Default for Resolved<T> {
    fn default() -> Self {
        Resolved {
            answers: Mutex::default(),
        }
    }
}

impl<T> std::fmt::Debug for Resolved<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.answers.lock().map_or(0, |a| a.len());
        f.debug_struct("Resolved")
            .field("command_lines", &n)
            .finish()
    }
}

impl<T: Clone> Resolved<T> {
    /// The answer for `command_line`, from `resolve` the first time it is asked for.
    pub fn get_or_resolve(&self, command_line: Vec<String>, resolve: impl FnOnce() -> T) -> T {
        let slot = {
            let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
            answers.entry(command_line).or_default().clone()
        };
        slot.get_or_init(resolve).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_resolution_per_command_line() {
        let resolved = Resolved::default();
        let mut runs = 0;
        let line = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = resolved.get_or_resolve(line(&["-p", "22", "a"]), || {
            runs += 1;
            1
        });
        let again = resolved.get_or_resolve(line(&["-p", "22", "a"]), || {
            runs += 1;
            2
        });
        let other = resolved.get_or_resolve(line(&["-p", "23", "a"]), || {
            runs += 1;
            3
        });
        assert_eq!((a, again, other, runs), (1, 1, 3, 2));
    }

    #[test]
    fn hosts_asking_at_once_wait_for_one_resolution() {
        let resolved = Arc::new(Resolved::default());
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (resolved, runs) = (resolved.clone(), runs.clone());
                std::thread::spawn(move || {
                    resolved.get_or_resolve(vec!["h".into()], || {
                        runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        7
                    })
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().ok(), Some(7));
        }
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}

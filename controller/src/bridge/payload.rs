//! Bridged modules' payloads: built by ansible-core's own dependency finder (the module
//! plus the `module_utils` it imports, zipped with a fixed date so the same module always
//! has the same SHA-256), once per module per run.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// One module's payload.
#[derive(Debug)]
pub struct Payload {
    /// The module's Python name inside the zip (`ansible.modules.replace`).
    pub python_name: String,
    /// The serialization profile of its `module_utils`.
    pub profile: String,
    /// SHA-256 of the zip, lowercase hex.
    pub sha256: String,
    /// The zip, base64 (as the request carries it).
    pub zip: Arc<str>,
}

/// Payloads built so far in this run (or why one could not be built), by module name.
pub struct Payloads {
    built: Mutex<HashMap<String, Arc<Result<Payload, String>>>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Built {
    Ok {
        python_name: String,
        profile: String,
        zip: String,
    },
    Err {
        error: String,
    },
}

impl Payloads {
    /// No payloads yet.
    pub fn new() -> Self {
        Payloads {
            built: Mutex::new(HashMap::new()),
        }
    }

    /// The payloads of `modules` (fully qualified names), building those not built yet in
    /// one run of `python`. Concurrent callers wait for one build rather than repeat it.
    pub fn get(
        &self,
        python: &Path,
        modules: &[String],
    ) -> HashMap<String, Arc<Result<Payload, String>>> {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        let missing: Vec<&String> = modules.iter().filter(|m| !built.contains_key(*m)).collect();
        if !missing.is_empty() {
            for (name, payload) in build(python, &missing) {
                built.insert(name, Arc::new(payload));
            }
        }
        modules
            .iter()
            .map(|m| {
                let p = built.get(m).cloned().unwrap_or_else(|| {
                    Arc::new(Err(format!("ansible-core built no payload for `{m}`")))
                });
                (m.clone(), p)
            })
            .collect()
    }
}

impl Default for Payloads {
    fn default() -> Self {
        Payloads::new()
    }
}

/// Runs the helper's `build` for `modules`.
fn build(python: &Path, modules: &[&String]) -> Vec<(String, Result<Payload, String>)> {
    let started = std::time::Instant::now();
    let all_failed = |why: String| {
        modules
            .iter()
            .map(|m| ((*m).clone(), Err(why.clone())))
            .collect()
    };
    let mut args = vec!["build"];
    args.extend(modules.iter().map(|m| m.as_str()));
    let out = match super::helper(python, &args).output() {
        Ok(out) => out,
        Err(e) => return all_failed(format!("cannot run `{}`: {e}", python.display())),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().rev().find(|l| l.starts_with('{')) else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return all_failed(format!(
            "ansible-core could not build the module payload: {}",
            last.unwrap_or("no output")
        ));
    };
    let parsed: HashMap<String, Built> = match serde_json::from_str(line) {
        Ok(p) => p,
        Err(e) => return all_failed(format!("cannot read the built payloads: {e} (a bug in dr)")),
    };
    tracing::debug!(
        "built {} module payload(s) in {} ms",
        modules.len(),
        started.elapsed().as_millis()
    );
    parsed
        .into_iter()
        .map(|(name, built)| {
            let payload = match built {
                Built::Err { error } => Err(error),
                Built::Ok {
                    python_name,
                    profile,
                    zip,
                } => base64::engine::general_purpose::STANDARD
                    .decode(&zip)
                    .map_err(|e| {
                        format!("the payload of `{name}` is not base64: {e} (a bug in dr)")
                    })
                    .map(|bytes| Payload {
                        python_name,
                        profile,
                        sha256: hex::encode(Sha256::digest(&bytes)),
                        zip: Arc::from(zip.as_str()),
                    }),
            };
            (name, payload)
        })
        .collect()
}

//! `recovery_point`: records what a restore gave back, for the drill report's RPO.
//!
//! A restore knows the point its data is restored to (a dump's creation time, a PITR
//! target) and the operator knows when the data was lost (the incident). The difference
//! is the recovery point actually achieved. This module checks both are UTC timestamps in
//! order and returns them with the difference under `rpo`, which travels with the task's
//! result into the journal; `dr report` compares it with the playbook's `rpo_target`.
//! It changes nothing on the host.

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `recovery_point` module.
pub struct RecoveryPoint;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoveryPointSpec {
    /// The point the data is restored to.
    restored_to: String,
    /// When the data was lost.
    incident_time: String,
}

impl Module for RecoveryPoint {
    fn name(&self) -> &'static str {
        "recovery_point"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["restored_to", "incident_time"]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: RecoveryPointSpec = parse_args("recovery_point", args)?;
        let restored = seconds_of("restored_to", &spec.restored_to)?;
        let incident = seconds_of("incident_time", &spec.incident_time)?;
        if restored > incident {
            return Err(ModuleError::Failed(format!(
                "`restored_to` ({}) is after `incident_time` ({}): a restore cannot hold data \
                 from after the loss; check the incident time",
                spec.restored_to, spec.incident_time
            )));
        }
        let rpo = incident - restored;
        let mut outcome = Outcome::ok(format!(
            "data restored to {}, lost at {}: recovery point {rpo:.1} s before the incident",
            spec.restored_to, spec.incident_time
        ));
        outcome.data.insert(
            "rpo".into(),
            json!({
                "restored_to": spec.restored_to,
                "incident_time": spec.incident_time,
                "rpo_secs": (rpo * 1000.0).round() / 1000.0,
            }),
        );
        Ok(Plan::done(outcome))
    }
}

/// Seconds since the epoch of a UTC timestamp: `YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)`
/// (a space for the `T` too, as PostgreSQL prints them).
fn seconds_of(key: &str, text: &str) -> Result<f64, ModuleError> {
    let bad = || {
        ModuleError::Failed(format!(
            "`{key}` must be a UTC timestamp like `2026-11-29T10:15:00Z`, found `{text}`"
        ))
    };
    let t = text.trim();
    let body = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix("+00:00"))
        .or_else(|| t.strip_suffix("+00"))
        .ok_or_else(bad)?;
    let at = chrono::NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(body, "%Y-%m-%d %H:%M:%S%.f"))
        .map_err(|_| bad())?
        .and_utc();
    Ok(at.timestamp() as f64 + f64::from(at.timestamp_subsec_nanos()) / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_utc_to_seconds() {
        assert_eq!(seconds_of("t", "1970-01-01T00:00:00Z").unwrap(), 0.0);
        assert_eq!(
            seconds_of("t", "2026-11-29T10:15:00Z").unwrap(),
            1_795_947_300.0
        );
        assert_eq!(
            seconds_of("t", "2026-11-29 10:15:00.25+00").unwrap(),
            1_795_947_300.25
        );
        assert_eq!(
            seconds_of("t", "2024-02-29T00:00:00+00:00").unwrap(),
            1_709_164_800.0
        );
    }

    #[test]
    fn other_zones_and_shapes_are_refused_by_name() {
        for text in [
            "2026-11-29T10:15:00",
            "2026-11-29T10:15:00+01:00",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-29T10:15Z",
        ] {
            let e = seconds_of("incident_time", text).unwrap_err().to_string();
            assert!(
                e.starts_with("`incident_time` must be a UTC timestamp"),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn a_restore_after_the_incident_is_refused() {
        let h = crate::modules::testutil::Harness::new();
        let late =
            json!({"restored_to": "2026-11-29T10:15:01Z", "incident_time": "2026-11-29T10:15:00Z"});
        let e = h.check_err(&RecoveryPoint, late);
        assert!(e.contains("is after `incident_time`"), "{e}");
        let ok = json!({"restored_to": "2026-11-29T10:00:00Z", "incident_time": "2026-11-29T10:15:00.5Z"});
        let outcome = h.apply(&RecoveryPoint, ok.clone());
        assert!(!outcome.changed && !outcome.failed);
        assert_eq!(outcome.data["rpo"]["rpo_secs"], json!(900.5));
        // It changes nothing: a second run and check mode report the same.
        let again = h.apply(&RecoveryPoint, ok.clone());
        assert!(!again.changed);
        assert_eq!(again.data["rpo"], outcome.data["rpo"]);
        let plan = h.check(&RecoveryPoint, ok);
        assert!(plan.action.is_none() && !plan.outcome.changed);
        assert_eq!(plan.outcome.data["rpo"], outcome.data["rpo"]);
    }
}

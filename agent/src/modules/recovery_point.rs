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
    let (date, clock) = body.split_once(['T', ' ']).ok_or_else(bad)?;
    let num = |s: &str| -> Result<i64, ModuleError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let mut d = date.split('-');
    let (Some(y), Some(m), Some(day), None) = (d.next(), d.next(), d.next(), d.next()) else {
        return Err(bad());
    };
    let (y, m, day) = (num(y)?, num(m)?, num(day)?);
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut c = whole.split(':');
    let (Some(h), Some(min), Some(s), None) = (c.next(), c.next(), c.next(), c.next()) else {
        return Err(bad());
    };
    let (h, min, s) = (num(h)?, num(min)?, num(s)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 60 {
        return Err(bad());
    }
    let fraction = if fraction.is_empty() {
        0.0
    } else {
        num(fraction)?;
        format!("0.{fraction}").parse::<f64>().map_err(|_| bad())?
    };
    let days = days_from_civil(y, m, day);
    Ok((days * 86_400 + h * 3_600 + min * 60 + s) as f64 + fraction)
}

/// Days from 1970-01-01 to the proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
        let outcome = h.apply(&RecoveryPoint, ok);
        assert!(!outcome.changed && !outcome.failed);
        assert_eq!(outcome.data["rpo"]["rpo_secs"], json!(900.5));
    }
}

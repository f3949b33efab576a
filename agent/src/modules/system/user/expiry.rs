//! Account and password expiry: `expires` (given to `useradd`/`usermod -e`) and the
//! `password_expire_*` family (set with `chage` after the account), decided as Ansible's
//! `user` module decides them (`modify_user_usermod`, `set_password_expire`).

use std::process::Command;

use crate::modules::{ModuleError, accounts};

/// The shadow file's fields (`getspnam`), by index.
const SP_MIN: usize = 3;
const SP_MAX: usize = 4;
const SP_WARN: usize = 5;
const SP_INACT: usize = 6;
const SP_EXPIRE: usize = 7;

/// A shadow number as Python's `spwd` gives it: an empty field is -1.
fn number(fields: &[String], i: usize) -> i64 {
    fields
        .get(i)
        .filter(|f| !f.is_empty())
        .and_then(|f| f.parse().ok())
        .unwrap_or(-1)
}

/// `expires` as `useradd`/`usermod -e` takes it: `YYYY-MM-DD` of the UTC day, or the
/// empty string (no expiry) for a time before the epoch.
pub(super) fn date_arg(expires: f64) -> String {
    if expires < 0.0 {
        return String::new();
    }
    let (y, m, d) = crate::clock::civil_from_days(days(expires));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Whole days since the epoch of an `expires` time.
fn days(expires: f64) -> i64 {
    (expires / 86400.0).floor() as i64
}

/// The account's expiry day now (`-1`: never), or `None` for a user without a shadow entry.
pub(super) fn current_expires(name: &str) -> Result<Option<i64>, ModuleError> {
    let fields = accounts::shadow_fields(name)
        .map_err(|e| ModuleError::io("cannot read", "/etc/shadow", e))?;
    Ok(fields.map(|f| number(&f, SP_EXPIRE)))
}

/// The shadow entry's inactive days (`-1`: never), or `None` for a user without an entry.
pub(super) fn current_inactive(name: &str) -> Result<Option<i64>, ModuleError> {
    let fields = accounts::shadow_fields(name)
        .map_err(|e| ModuleError::io("cannot read", "/etc/shadow", e))?;
    Ok(fields.map(|f| number(&f, SP_INACT)))
}

/// Whether `usermod -e` must run: a time before the epoch removes an expiry that is set;
/// another is a change when the day differs (Ansible compares year, month and day).
pub(super) fn expires_differs(current: i64, wanted: f64) -> bool {
    if wanted < 0.0 {
        current >= 0
    } else {
        current < 0 || current != days(wanted)
    }
}

/// The expiry day as the diff shows it.
pub(super) fn show_day(day: i64) -> String {
    if day < 0 {
        "never".into()
    } else {
        date_arg(day as f64 * 86400.0)
    }
}

/// The `password_expire_*` values asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct PasswordExpiry {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub warn: Option<i64>,
}

impl PasswordExpiry {
    /// `chage`'s options for the values that differ from the shadow entry (none when the
    /// user has no entry, as Ansible returns then).
    pub(super) fn chage_args(&self, name: &str) -> Result<Vec<String>, ModuleError> {
        if self.min.is_none() && self.max.is_none() && self.warn.is_none() {
            return Ok(Vec::new());
        }
        let Some(fields) = accounts::shadow_fields(name)
            .map_err(|e| ModuleError::io("cannot read", "/etc/shadow", e))?
        else {
            return Ok(Vec::new());
        };
        let mut args = Vec::new();
        for (flag, wanted, i) in [
            ("-m", self.min, SP_MIN),
            ("-M", self.max, SP_MAX),
            ("-W", self.warn, SP_WARN),
        ] {
            if let Some(w) = wanted.filter(|w| *w != number(&fields, i)) {
                args.push(flag.to_owned());
                args.push(w.to_string());
            }
        }
        Ok(args)
    }
}

/// `chage ARGS NAME`.
pub(super) fn chage(args: &[String], name: &str) -> Result<Command, ModuleError> {
    let mut cmd = super::commands::tool("chage")?;
    cmd.args(args).arg(name);
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::{date_arg, expires_differs, show_day};

    #[test]
    fn expiry_days_as_ansible_compares_them() {
        assert_eq!(date_arg(1_767_225_600.0), "2026-01-01");
        assert_eq!(date_arg(1_767_225_600.0 + 86_399.5), "2026-01-01");
        assert_eq!(date_arg(-1.0), "");
        let day = 1_767_225_600 / 86_400;
        assert!(!expires_differs(day, 1_767_225_600.0 + 3600.0));
        assert!(expires_differs(day, 1_767_225_600.0 + 86_400.0));
        assert!(expires_differs(-1, 1_767_225_600.0));
        assert!(expires_differs(day, -1.0));
        assert!(!expires_differs(-1, -1.0));
        assert_eq!(show_day(-1), "never");
        assert_eq!(show_day(day), "2026-01-01");
    }
}

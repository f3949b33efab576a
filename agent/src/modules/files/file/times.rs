//! `modification_time` / `access_time` (with their `*_format`): `preserve`, `now`, or a
//! local time read with a `strptime` format (default `%Y%m%d%H%M.%S`), as Ansible's file
//! module reads them. `now` is always a change; a given time only when it differs.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Change;
use crate::diff;
use crate::modules::ModuleError;
use crate::wire::Diff;

/// Ansible's default format.
pub(super) const DEFAULT_FORMAT: &str = "%Y%m%d%H%M.%S";

/// A wanted access or modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stamp {
    /// Left as it is.
    Preserve,
    /// The time the change is made.
    Now,
    /// This time.
    At(SystemTime),
}

impl Stamp {
    /// `value` read with `format`; `default` when not given (Ansible's: `now` for
    /// `state: touch`, `preserve` otherwise).
    pub fn parse(value: Option<&str>, format: &str, default: Stamp) -> Result<Stamp, ModuleError> {
        let Some(value) = value else {
            return Ok(default);
        };
        match value {
            "preserve" => return Ok(Stamp::Preserve),
            "now" => return Ok(Stamp::Now),
            _ => {}
        }
        use chrono::TimeZone as _;
        let fail = |why: String| {
            ModuleError::Failed(format!(
                "Error while obtaining timestamp for time {value} using format {format}: {why}"
            ))
        };
        let naive = chrono::NaiveDateTime::parse_from_str(value, format)
            .or_else(|e| {
                chrono::NaiveDate::parse_from_str(value, format)
                    .map(|d| d.and_time(chrono::NaiveTime::MIN))
                    .map_err(|_| e)
            })
            .map_err(|e| {
                fail(format!(
                    "time data '{value}' does not match format '{format}' ({e})"
                ))
            })?;
        let local = chrono::Local
            .from_local_datetime(&naive)
            .earliest()
            .ok_or_else(|| fail("that local time does not exist".to_owned()))?;
        Ok(Stamp::At(SystemTime::from(local)))
    }

    fn shown(self) -> String {
        match self {
            Stamp::Preserve => "preserved".to_owned(),
            Stamp::Now => "now".to_owned(),
            Stamp::At(t) => epoch(t),
        }
    }
}

fn epoch(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    crate::template::pyrepr::float_repr(secs)
}

/// Plans the times of `path`: `exists` false means it is created by an earlier change
/// (any wanted time other than `preserve` is set then).
pub(super) fn plan(
    path: &Path,
    exists: bool,
    mtime: Stamp,
    atime: Stamp,
    changes: &mut Vec<Change>,
    diffs: &mut Vec<Diff>,
) -> Result<(), ModuleError> {
    if mtime == Stamp::Preserve && atime == Stamp::Preserve {
        return Ok(());
    }
    let shown = path.display().to_string();
    let (m_now, a_now) = if exists {
        let meta =
            std::fs::metadata(path).map_err(|e| ModuleError::io("cannot stat", &shown, e))?;
        (meta.modified().ok(), meta.accessed().ok())
    } else {
        (None, None)
    };
    let differs = |want: Stamp, have: Option<SystemTime>| match want {
        Stamp::Preserve => false,
        Stamp::Now => true,
        Stamp::At(t) => have != Some(t),
    };
    let m_change = differs(mtime, m_now);
    let a_change = differs(atime, a_now);
    if !(m_change || a_change) {
        return Ok(());
    }
    let before = |have: Option<SystemTime>| have.map_or_else(|| "absent".to_owned(), epoch);
    if m_change {
        diffs.push(diff::line(&shown, "mtime", &before(m_now), &mtime.shown()));
    }
    if a_change {
        diffs.push(diff::line(&shown, "atime", &before(a_now), &atime.shown()));
    }
    changes.push(Change::Times(PathBuf::from(path), mtime, atime));
    Ok(())
}

/// Sets the times: `now` is the time of this call, `preserve` keeps the current one.
pub(super) fn set(path: &Path, mtime: Stamp, atime: Stamp) -> std::io::Result<()> {
    // Both `now`: `utimensat` with UTIME_NOW, which needs only write access to the file,
    // not its ownership (a `become_user` touching a world-writable file), as Ansible's
    // `utime(path, None)`.
    if mtime == Stamp::Now && atime == Stamp::Now {
        use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, UTIME_NOW, utimensat};
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_NOW,
        };
        let both = Timestamps {
            last_access: now,
            last_modification: now,
        };
        return utimensat(CWD, path, &both, AtFlags::empty()).map_err(std::io::Error::from);
    }
    let now = SystemTime::now();
    let meta = std::fs::metadata(path)?;
    let pick = |s: Stamp, current: std::io::Result<SystemTime>| match s {
        Stamp::Preserve => current.unwrap_or(now),
        Stamp::Now => now,
        Stamp::At(t) => t,
    };
    let times = std::fs::FileTimes::new()
        .set_modified(pick(mtime, meta.modified()))
        .set_accessed(pick(atime, meta.accessed()));
    std::fs::File::open(path)?.set_times(times)
}

//! Wall-clock formatting without a time-zone database (the agent always speaks UTC).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Year, month, day, hour, minute, second, microsecond of `t` in UTC.
fn parts(t: SystemTime) -> (i64, u32, u32, u64, u64, u64, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, dd) = civil_from_days(days as i64);
    (
        y,
        m,
        dd,
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_micros(),
    )
}

/// `YYYY-MM-DD HH:MM:SS.ffffff`, as Ansible prints a command's `start`/`end`.
pub fn timestamp(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss, us) = parts(t);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}.{us:06}")
}

/// `YYYY-MM-DD@HH:MM:SS`, as in Ansible's backup file names.
pub fn backup_stamp(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss, _) = parts(t);
    format!("{y:04}-{m:02}-{d:02}@{hh:02}:{mm:02}:{ss:02}")
}

/// `H:MM:SS.ffffff`, as Ansible prints a command's `delta`.
pub fn delta(d: Duration) -> String {
    let secs = d.as_secs();
    format!(
        "{}:{:02}:{:02}.{:06}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60,
        d.subsec_micros()
    )
}

/// Howard Hinnant's days-to-civil conversion: days since 1970-01-01 to (year, month, day).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_micros(5);
        assert_eq!(timestamp(t), "2023-11-14 22:13:20.000005");
        assert_eq!(backup_stamp(t), "2023-11-14@22:13:20");
        assert_eq!(delta(Duration::from_millis(1500)), "0:00:01.500000");
    }
}

//! The run journal: JSON lines with UTC timestamps, one file per plan or apply, under
//! `.dr/runs/`. It is the record an RTO is measured from. Secrets are masked before writing.

mod record;
mod writer;

pub use record::{Entry, Journal, read};
pub use writer::JournalWriter;

/// Formats a UTC time as RFC 3339 with milliseconds: `2026-11-21T23:01:02.345Z`.
pub fn timestamp(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

//! Polling until something holds, with a deadline and the last error for the message.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Calls `probe` every `interval` until it returns `Ok(Some(value))`, or fails with
/// a timeout naming `what` and the last error the probe returned.
pub fn until<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match probe() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e.to_string()),
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what.to_owned(),
                seconds: timeout.as_secs(),
                last_error,
            });
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_out_with_the_last_error() {
        let err = until(
            "nothing",
            Duration::from_millis(30),
            Duration::from_millis(5),
            || Err::<Option<()>, _>(Error::NoDebianMirror),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("waiting for nothing"), "{msg}");
        assert!(
            msg.contains("last error: no Debian bookworm mirror"),
            "{msg}"
        );
    }

    #[test]
    fn returns_the_first_value() {
        let mut n = 0;
        let got = until(
            "three",
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                n += 1;
                Ok((n == 3).then_some(n))
            },
        )
        .expect("value");
        assert_eq!(got, 3);
    }
}

//! Pacing a large upload (the agent push) to what the host has taken in, so that OpenSSH's
//! sshd never holds much of it unconsumed.
//!
//! Why: sshd appends every data packet it receives to the buffer that feeds the command's
//! stdin and drains that buffer into a 64 KiB pipe; an append that does not fit packs
//! (moves) or grows (copies) the whole buffer. A client that fills sshd's 2 MiB window keeps
//! ~2 MiB in that buffer, and sshd then copies megabytes for every 32 KiB packet: strace of
//! a 3.8 MB upload showed an mmap/copy/munmap of ~3 MB per packet, and OpenSSH's own client
//! uploads at ~30 MB/s on loopback that way. Keeping a few hundred KiB unconsumed keeps the
//! buffer small; the cold push of one host took 0.27-0.37 s unpaced against 0.17-0.22 s.
//!
//! What the host has consumed is read from its window adjustments: after one, the window
//! left (`new_size`, as russh reports it) is the channel's full window less what was sent
//! and not yet consumed. The full window is the largest seen: sshd confirms a session
//! channel with none and grants its 2 MiB when the command starts, before any data. Pacing is used only with OpenSSH, whose rule (adjust once more than
//! three packets are unconsumed) guarantees an adjustment while the limit holds data back;
//! a server that adjusts only when half its window is used would never answer. Should no
//! adjustment come for [`STALL`] anyway, the upload goes on unpaced.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

/// Unconsumed bytes allowed on a connection with no round trip to speak of (loopback).
const BASE: u64 = 256 * 1024;

/// On top of [`BASE`], what a round trip needs to keep this rate (bytes per second):
/// ~2 Gbit/s, so that a distant host is not paced below what its link carries.
const RATE: u64 = 256 * 1024 * 1024;

/// Waiting this long for an adjustment ends pacing for that upload.
pub const STALL: Duration = Duration::from_secs(1);

/// The window state of a connection's channels (by channel number), fed by the
/// connection's handler.
#[derive(Default)]
pub struct Flow {
    channels: Mutex<HashMap<u32, Window>>,
    adjusted: Notify,
}

/// What is known of one channel's window.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    /// The channel's full window: the largest the server has granted at once.
    window: u32,
    /// Whether the server is OpenSSH (see the module's documentation).
    openssh: bool,
    /// Bytes handed to russh for this channel so far.
    sent: u64,
    /// Bytes the server has consumed, as of its last adjustment.
    consumed: u64,
}

impl Flow {
    /// The server confirmed channel `id` with `window` bytes of window.
    pub fn opened(&self, id: u32, window: u32, openssh: bool) {
        self.lock().insert(
            id,
            Window {
                window,
                openssh,
                ..Window::default()
            },
        );
    }

    /// The server adjusted channel `id`'s window; `left` is the window it now has.
    pub fn adjusted(&self, id: u32, left: u32) {
        if let Some(w) = self.lock().get_mut(&id) {
            w.window = w.window.max(left);
            let consumed = (w.sent + u64::from(left)).saturating_sub(u64::from(w.window));
            w.consumed = w.consumed.max(consumed);
        }
        self.adjusted.notify_waiters();
    }

    /// Channel `id` is gone.
    pub fn closed(&self, id: u32) {
        self.lock().remove(&id);
    }

    /// The unconsumed bytes allowed on channel `id` of a connection whose round trip is
    /// `rtt`, or `None` when it is not paced (not OpenSSH, round trip unknown, or a window
    /// smaller than the limit anyway). Waits for the server to grant the channel its window
    /// (no data could go before that anyway), for [`STALL`] at most.
    pub async fn limit(&self, id: u32, rtt: Option<Duration>) -> Option<u64> {
        let rtt = rtt?;
        let limit = BASE + u64::try_from(rtt.as_micros() * u128::from(RATE) / 1_000_000).ok()?;
        let window = loop {
            let adjusted = self.adjusted.notified();
            let w = *self.lock().get(&id)?;
            if w.window > 0 {
                break w;
            }
            tokio::time::timeout(STALL, adjusted).await.ok()?;
        };
        (window.openssh && limit < u64::from(window.window)).then_some(limit)
    }

    /// Notes `n` more bytes handed to russh for channel `id`.
    pub fn sent(&self, id: u32, n: usize) {
        if let Some(w) = self.lock().get_mut(&id) {
            w.sent += n as u64;
        }
    }

    /// Waits until at most `limit` bytes sent on channel `id` are unconsumed. `false` when no
    /// adjustment came for [`STALL`] (the caller stops pacing).
    pub async fn until_consumed(&self, id: u32, limit: u64) -> bool {
        loop {
            let adjusted = self.adjusted.notified();
            let unconsumed = match self.lock().get(&id) {
                Some(w) => w.sent.saturating_sub(w.consumed),
                None => return false,
            };
            if unconsumed <= limit {
                return true;
            }
            if tokio::time::timeout(STALL, adjusted).await.is_err() {
                return false;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Window>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The smallest round trip the kernel has measured on `socket` (its SYN and SYN-ACK, right
/// after connecting), when it can say.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn min_rtt(socket: &tokio::net::TcpStream) -> Option<Duration> {
    use std::os::fd::AsRawFd;
    let mut info = std::mem::MaybeUninit::<libc::tcp_info>::zeroed();
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` is a writable buffer of `len` bytes that outlives the call, and the
    // descriptor is the live socket `socket` borrows; the kernel writes at most `len` bytes
    // and reports how many, checked before the value is read.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    // An older kernel fills less of the struct than libc declares: enough if it reaches the
    // field read.
    let needed = std::mem::offset_of!(libc::tcp_info, tcpi_min_rtt) + 4;
    if rc != 0 || (len as usize) < needed {
        return None;
    }
    // SAFETY: all zeroes is a valid `tcp_info` (integers only), and the kernel wrote the part
    // read (checked above).
    let info = unsafe { info.assume_init() };
    (info.tcpi_min_rtt != 0 && info.tcpi_min_rtt != u32::MAX)
        .then(|| Duration::from_micros(u64::from(info.tcpi_min_rtt)))
}

/// Elsewhere the round trip is not known, and uploads are not paced.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn min_rtt(_socket: &tokio::net::TcpStream) -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u32 = 1024 * 1024;

    #[test]
    fn consumed_is_read_from_the_window_left() {
        let flow = Flow::default();
        // As sshd does it: no window at confirmation, all of it when the command starts.
        flow.opened(0, 0, true);
        flow.adjusted(0, 2 * MIB);
        assert_eq!(flow.lock()[&0].consumed, 0);
        flow.sent(0, 512 * 1024);
        // 512 KiB sent, 2 MiB - 512 KiB + 128 KiB left: 128 KiB consumed.
        flow.adjusted(0, 2 * MIB - 384 * 1024);
        let w = flow.lock()[&0];
        assert_eq!((w.sent, w.consumed), (512 * 1024, 128 * 1024));
        // An adjustment reported late (the window left already lowered by later sends)
        // never moves consumption back.
        flow.sent(0, 64 * 1024);
        flow.adjusted(0, 2 * MIB - 512 * 1024);
        assert_eq!(flow.lock()[&0].consumed, 128 * 1024);
        flow.closed(0);
        assert!(flow.lock().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn paced_only_for_openssh_with_a_known_round_trip_and_a_larger_window() {
        let flow = Flow::default();
        flow.opened(1, 0, true);
        flow.opened(2, 2 * MIB, false);
        flow.opened(3, 64 * 1024, true);
        let started = tokio::time::Instant::now();
        assert_eq!(
            flow.limit(1, Some(Duration::ZERO)).await,
            None,
            "no window granted"
        );
        assert_eq!(started.elapsed(), STALL);
        flow.adjusted(1, 2 * MIB);
        let loopback = Some(Duration::from_micros(20));
        assert_eq!(
            flow.limit(1, loopback).await,
            Some(BASE + RATE * 20 / 1_000_000)
        );
        assert_eq!(flow.limit(1, None).await, None, "round trip unknown");
        assert_eq!(flow.limit(2, loopback).await, None, "not OpenSSH");
        assert_eq!(
            flow.limit(3, loopback).await,
            None,
            "window below the limit"
        );
        assert_eq!(flow.limit(9, loopback).await, None, "channel unknown");
        // A distant host: the limit covers the round trip at RATE, here past the window.
        let far = Some(Duration::from_millis(20));
        assert_eq!(flow.limit(1, far).await, None);
        let near = Some(Duration::from_millis(1));
        assert_eq!(flow.limit(1, near).await, Some(BASE + RATE / 1000));
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_granted_after_the_confirmation_is_waited_for() {
        let flow = std::sync::Arc::new(Flow::default());
        flow.opened(0, 0, true);
        let limit = tokio::spawn({
            let flow = flow.clone();
            async move { flow.limit(0, Some(Duration::from_micros(20))).await }
        });
        tokio::task::yield_now().await;
        flow.adjusted(0, 2 * MIB);
        assert!(limit.await.unwrap().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_an_adjustment_and_gives_up_after_a_stall() {
        let flow = std::sync::Arc::new(Flow::default());
        flow.opened(0, 2 * MIB, true);
        flow.sent(0, 300 * 1024);
        assert!(flow.until_consumed(0, 300 * 1024).await, "within the limit");
        let waiting = tokio::spawn({
            let flow = flow.clone();
            async move { flow.until_consumed(0, 256 * 1024).await }
        });
        tokio::task::yield_now().await;
        // 64 KiB consumed: 236 KiB unconsumed.
        flow.adjusted(0, 2 * MIB - 300 * 1024 + 64 * 1024);
        assert!(waiting.await.unwrap());
        // Nothing more consumed: after STALL the caller is told to stop pacing.
        flow.sent(0, 300 * 1024);
        let started = tokio::time::Instant::now();
        assert!(!flow.until_consumed(0, 256 * 1024).await);
        assert_eq!(started.elapsed(), STALL);
    }
}

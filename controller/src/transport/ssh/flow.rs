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
//! channel with none and grants its 2 MiB when the command starts, before any data. Pacing
//! is used only with OpenSSH, whose rule (adjust once more than three packets are
//! unconsumed) guarantees an adjustment while the limit holds data back; a server that
//! adjusts only when half its window is used would never answer. Should no adjustment come
//! for [`STALL`] anyway, the upload goes on unpaced.
//!
//! The allowance is probed, because the kernel's round trip is the nearest hop's: behind a
//! TCP forwarder on dr's machine (`ssh -L`, a cloud tunnel) a distant sshd looks near, and
//! 256 KiB per real round trip would take seconds for the agent. The upload goes in rounds,
//! each ending when the bytes allowed at its start are consumed; after a first round (the
//! command starting), the allowance doubles while a round's delivery rate beats the best
//! before it by 60% (limited by the round trip, a doubled allowance doubles the rate), and
//! probing ends after two rounds in a row without that (limited by the host: more allowed
//! only fills sshd's buffer), going back to the allowance of the best round. A busy near
//! host fakes a faster round now and then, so a few near hosts end up allowed more, which
//! is harmless up to ~512 KiB; a distant host may take a second round trip to carry a
//! doubled allowance once (its TCP sender growing into it), which one flat round allows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Unconsumed bytes allowed on a connection with no round trip to speak of (loopback), to
/// begin with.
const BASE: u64 = 256 * 1024;

/// On top of [`BASE`], what a round trip needs to keep this rate (bytes per second):
/// ~2 Gbit/s, so that a distant host is not paced below what its link carries.
const RATE: u64 = 256 * 1024 * 1024;

/// A round whose delivery rate beats the best before it by this factor doubles the
/// allowance. 1.25 let too many busy near hosts through to the whole window (300 cold
/// hosts took 10% longer); a path limited by its round trip doubles its rate.
const GROWTH: f64 = 1.6;

/// Probing ends after this many rounds in a row that did not beat the best: one may be
/// the path settling after a doubling (a TCP sender's congestion window growing into it).
const FLAT: u32 = 2;

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
    /// The allowance and its probing, once the channel is paced.
    probe: Option<Probe>,
}

/// The unconsumed bytes allowed on a paced channel, and the round measuring them.
#[derive(Debug, Clone, Copy)]
struct Probe {
    allowance: u64,
    /// When the current round began, and what was consumed then.
    began: Instant,
    from: u64,
    /// The round ends when this much is consumed (what was allowed at its start).
    until: u64,
    /// The first round (the command starting, not a measure of the path) has ended.
    measuring: bool,
    /// The best delivery rate of a round (bytes per second), and the allowance it had.
    best: f64,
    best_allowance: u64,
    /// Rounds in a row that did not beat the best.
    flat: u32,
    /// Probing has ended: the allowance stays.
    settled: bool,
}

impl Probe {
    fn new(allowance: u64, consumed: u64) -> Probe {
        Probe {
            allowance,
            began: Instant::now(),
            from: consumed,
            until: consumed + allowance,
            measuring: false,
            best: 0.0,
            best_allowance: allowance,
            flat: 0,
            settled: false,
        }
    }

    /// `consumed` bytes are consumed now: ends the round when they reach its end, and
    /// decides the allowance of the next, up to the channel's `window` (where probing ends:
    /// nothing is held back any more).
    fn consumed(&mut self, consumed: u64, window: u64) {
        if consumed < self.until {
            return;
        }
        let now = Instant::now();
        let seconds = now.duration_since(self.began).as_secs_f64().max(1e-6);
        let rate = (consumed - self.from) as f64 / seconds;
        if self.measuring && !self.settled {
            if rate >= self.best * GROWTH {
                self.best = rate;
                self.best_allowance = self.allowance;
                self.allowance = window.min(self.allowance * 2);
                self.settled = self.allowance == window;
                self.flat = 0;
            } else {
                self.flat += 1;
                if self.flat == FLAT {
                    self.settled = true;
                    self.allowance = self.best_allowance;
                }
            }
        }
        *self = Probe {
            measuring: true,
            began: now,
            from: consumed,
            until: consumed + self.allowance,
            ..*self
        };
    }
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
            if let Some(probe) = &mut w.probe {
                probe.consumed(w.consumed, u64::from(w.window));
            }
        }
        self.adjusted.notify_waiters();
    }

    /// Channel `id` is gone.
    pub fn closed(&self, id: u32) {
        self.lock().remove(&id);
    }

    /// Whether channel `id` of a connection whose round trip is `rtt` is paced (OpenSSH,
    /// round trip known, a window larger than the first allowance), and if so starts
    /// probing its allowance. Waits for the server to grant the channel its window (no data
    /// could go before that anyway), for [`STALL`] at most.
    pub async fn pace(&self, id: u32, rtt: Option<Duration>) -> bool {
        let Some(limit) =
            rtt.and_then(|rtt| u64::try_from(rtt.as_micros() * u128::from(RATE) / 1_000_000).ok())
        else {
            return false;
        };
        self.start(id, BASE + limit).await.unwrap_or(false)
    }

    /// [`Flow::pace`] once the first allowance is known; `None` when the channel is gone or
    /// no window came.
    async fn start(&self, id: u32, limit: u64) -> Option<bool> {
        loop {
            let adjusted = self.adjusted.notified();
            {
                let mut channels = self.lock();
                let w = channels.get_mut(&id)?;
                if w.window > 0 {
                    let paced = w.openssh && limit < u64::from(w.window);
                    if paced {
                        w.probe = Some(Probe::new(limit, w.consumed));
                    }
                    return Some(paced);
                }
            }
            tokio::time::timeout(STALL, adjusted).await.ok()?;
        }
    }

    /// The unconsumed bytes channel `id` is allowed now, when it is paced.
    pub fn allowance(&self, id: u32) -> Option<u64> {
        Some(self.lock().get(&id)?.probe?.allowance)
    }

    /// Notes `n` more bytes handed to russh for channel `id`.
    pub fn sent(&self, id: u32, n: usize) {
        if let Some(w) = self.lock().get_mut(&id) {
            w.sent += n as u64;
        }
    }

    /// Waits until what is unconsumed on channel `id` is within its allowance. `false` when
    /// no adjustment came for [`STALL`] (the caller stops pacing).
    pub async fn until_consumed(&self, id: u32) -> bool {
        loop {
            let adjusted = self.adjusted.notified();
            let within = match self.lock().get(&id) {
                Some(w) => {
                    let allowance = w.probe.map_or(u64::MAX, |p| p.allowance);
                    w.sent.saturating_sub(w.consumed) <= allowance
                        || allowance >= u64::from(w.window)
                }
                None => return false,
            };
            if within {
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
    const KIB: u64 = 1024;

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
        let started = Instant::now();
        assert!(
            !flow.pace(1, Some(Duration::ZERO)).await,
            "no window granted"
        );
        assert_eq!(started.elapsed(), STALL);
        flow.adjusted(1, 2 * MIB);
        assert!(!flow.pace(1, None).await, "round trip unknown");
        assert_eq!(flow.allowance(1), None);
        assert!(!flow.pace(2, Some(Duration::ZERO)).await, "not OpenSSH");
        assert!(
            !flow.pace(3, Some(Duration::ZERO)).await,
            "window below the limit"
        );
        assert!(!flow.pace(9, Some(Duration::ZERO)).await, "channel unknown");
        // A distant host: the first allowance covers the round trip at RATE, here past the
        // window.
        assert!(!flow.pace(1, Some(Duration::from_millis(20))).await);
        assert!(flow.pace(1, Some(Duration::from_millis(1))).await);
        assert_eq!(flow.allowance(1), Some(BASE + RATE / 1000));
        assert!(flow.pace(1, Some(Duration::from_micros(20))).await);
        assert_eq!(flow.allowance(1), Some(BASE + RATE * 20 / 1_000_000));
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_granted_after_the_confirmation_is_waited_for() {
        let flow = std::sync::Arc::new(Flow::default());
        flow.opened(0, 0, true);
        let paced = tokio::spawn({
            let flow = flow.clone();
            async move { flow.pace(0, Some(Duration::ZERO)).await }
        });
        tokio::task::yield_now().await;
        flow.adjusted(0, 2 * MIB);
        assert!(paced.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_an_adjustment_and_gives_up_after_a_stall() {
        let flow = std::sync::Arc::new(Flow::default());
        flow.opened(0, 2 * MIB, true);
        assert!(flow.pace(0, Some(Duration::ZERO)).await);
        flow.sent(0, 256 * 1024);
        assert!(flow.until_consumed(0).await, "within the allowance");
        flow.sent(0, 44 * 1024);
        let waiting = tokio::spawn({
            let flow = flow.clone();
            async move { flow.until_consumed(0).await }
        });
        tokio::task::yield_now().await;
        // 64 KiB consumed: 236 KiB unconsumed.
        flow.adjusted(0, 2 * MIB - 300 * 1024 + 64 * 1024);
        assert!(waiting.await.unwrap());
        // Nothing more consumed: after STALL the caller is told to stop pacing.
        flow.sent(0, 300 * 1024);
        let started = Instant::now();
        assert!(!flow.until_consumed(0).await);
        assert_eq!(started.elapsed(), STALL);
    }

    /// One round on channel 0 of a 2 MiB window: sends what the allowance (and the window)
    /// let through, lets `took` pass, has it all consumed, and returns the allowance then.
    async fn round(flow: &Flow, took: impl Fn(u64) -> Duration) -> u64 {
        let w = flow.lock()[&0];
        let allowance = flow.allowance(0).expect("paced");
        let in_flight = allowance.min(u64::from(w.window));
        flow.sent(0, (w.consumed + in_flight - w.sent) as usize);
        tokio::time::advance(took(in_flight)).await;
        // All of it consumed: the whole window is left.
        flow.adjusted(0, w.window);
        flow.allowance(0).expect("paced")
    }

    #[tokio::test(start_paused = true)]
    async fn the_allowance_grows_while_the_round_trip_limits_and_settles_when_the_host_does() {
        // Far away: each round takes the round trip, whatever it carries. The allowance
        // doubles up to the window, and nothing is held back from then on.
        let flow = Flow::default();
        flow.opened(0, 2 * MIB, true);
        assert!(flow.pace(0, Some(Duration::ZERO)).await);
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(round(&flow, |_| Duration::from_millis(40)).await / KIB);
        }
        assert_eq!(seen, [256, 512, 1024, 2048, 2048, 2048]);
        flow.sent(0, 3 * MIB as usize);
        assert!(
            flow.until_consumed(0).await,
            "the window is all that limits"
        );

        // The same, when the first round at 1 MiB takes two round trips.
        let flow = Flow::default();
        flow.opened(0, 2 * MIB, true);
        assert!(flow.pace(0, Some(Duration::ZERO)).await);
        let slow_once = std::cell::Cell::new(true);
        let far = |bytes: u64| match bytes == u64::from(MIB) && slow_once.replace(false) {
            true => Duration::from_millis(80),
            false => Duration::from_millis(40),
        };
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(round(&flow, far).await / KIB);
        }
        assert_eq!(seen, [256, 512, 1024, 1024, 2048, 2048]);

        // Near but slow: each round takes what the host needs for its bytes (100 MB/s).
        // The first measured round doubles the allowance, the next two find no gain, and it
        // goes back.
        let flow = Flow::default();
        flow.opened(0, 2 * MIB, true);
        assert!(flow.pace(0, Some(Duration::ZERO)).await);
        let host = |bytes: u64| Duration::from_micros(bytes / 100);
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(round(&flow, host).await / KIB);
        }
        assert_eq!(seen, [256, 512, 512, 256, 256, 256]);
    }
}

//! Ctrl-C and SIGTERM. The handlers are installed first thing in `main`, before any work,
//! so no signal is ever lost; what a signal does depends on the phase:
//!
//! - from the start, signals are recorded; a command other than `plan`/`apply` then
//!   [`release`]s them, and from there (and at prompts) a signal acts as if no handler were
//!   installed: the process dies of it, as any command-line tool does;
//! - while a plan or apply runs ([`record`]), signals are counted: the first SIGINT asks
//!   for a stop after the running tasks ([`StopLevel::AfterTask`]), a second SIGINT or a
//!   SIGTERM for an immediate kill ([`StopLevel::Now`]). The run polls [`level`], stops,
//!   and still writes the end of its journal.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::transport::StopLevel;

/// SIGINTs received while recording.
static INTERRUPTS: AtomicU32 = AtomicU32::new(0);
/// A SIGTERM was received while recording.
static TERMINATED: AtomicBool = AtomicBool::new(false);
/// Signals are recorded (true) or act as if unhandled (false).
static RECORDING: AtomicBool = AtomicBool::new(true);

/// Installs the SIGINT and SIGTERM handlers. Call once, first thing in `main`.
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` only touches atomics and calls async-signal-safe functions
        // (`signal`, `raise`); the sigaction struct is fully initialised.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// Signals act as if unhandled from now on; one recorded already takes effect now.
pub fn release() {
    RECORDING.store(false, Ordering::SeqCst);
    if TERMINATED.load(Ordering::SeqCst) {
        die_of(libc::SIGTERM);
    }
    if INTERRUPTS.load(Ordering::SeqCst) > 0 {
        die_of(libc::SIGINT);
    }
}

fn die_of(sig: libc::c_int) {
    // SAFETY: both are async-signal-safe (this also runs inside the handler).
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    if RECORDING.load(Ordering::SeqCst) {
        if sig == libc::SIGTERM {
            TERMINATED.store(true, Ordering::SeqCst);
        } else {
            INTERRUPTS.fetch_add(1, Ordering::SeqCst);
        }
        return;
    }
    // Not in a run: die of the signal, as without a handler.
    die_of(sig);
}

/// How far the operator has asked the run to stop so far.
pub fn level() -> StopLevel {
    if TERMINATED.load(Ordering::SeqCst) || INTERRUPTS.load(Ordering::SeqCst) >= 2 {
        StopLevel::Now
    } else if INTERRUPTS.load(Ordering::SeqCst) == 1 {
        StopLevel::AfterTask
    } else {
        StopLevel::Run
    }
}

/// Signals are recorded (not fatal) while the guard lives: a run is going on.
#[must_use = "signals are recorded only while the guard lives"]
pub struct Recording {
    _private: (),
}

/// Starts recording signals for a run.
pub fn record() -> Recording {
    RECORDING.store(true, Ordering::SeqCst);
    Recording { _private: () }
}

impl Drop for Recording {
    fn drop(&mut self) {
        RECORDING.store(false, Ordering::SeqCst);
    }
}

/// Runs `f` (a prompt: a password, a confirmation) with signals fatal again, as the
/// operator expects of a prompt; nothing has run yet, so nothing is lost. Without a
/// terminal there is no prompt: signals stay recorded, so a Ctrl-C that lands there still
/// ends the run with its journal.
pub fn prompting<T>(f: impl FnOnce() -> T) -> T {
    use std::io::IsTerminal as _;
    if !std::io::stdin().is_terminal() {
        return f();
    }
    let was = RECORDING.swap(false, Ordering::SeqCst);
    let result = f();
    RECORDING.store(was, Ordering::SeqCst);
    result
}

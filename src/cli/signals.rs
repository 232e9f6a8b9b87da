//! Ctrl-C and SIGTERM: a clean shutdown on the first signal, an immediate exit (130) on the
//! second. Signals are blocked in every thread and taken by one `sigwait` thread, so no
//! handler runs in an arbitrary thread. Call [`install`] first thing in `main`, before any
//! other thread exists.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set once a shutdown signal arrived.
///
/// Until the command says it watches the flag ([`ShutdownSignal::watch`], or any call of
/// [`ShutdownSignal::received`]), the first signal ends the process at once (exit 130):
/// a command still starting (waiting for a scheduler file, connecting) has nothing to clean up
/// and may be blocked where it cannot look.
#[derive(Clone)]
pub struct ShutdownSignal(Arc<AtomicBool>, Arc<AtomicBool>);

impl ShutdownSignal {
    /// True once SIGINT or SIGTERM arrived. Calling it marks the flag as watched.
    pub fn received(&self) -> bool {
        self.watch();
        self.0.load(Ordering::SeqCst)
    }

    /// From now on the first signal only sets the flag: this command shuts down cleanly.
    pub fn watch(&self) {
        self.1.store(true, Ordering::SeqCst);
    }
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a plain sigset_t we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        set
    }
}

/// Block SIGINT/SIGTERM in this (and every future) thread and start the waiting thread.
pub fn install() -> ShutdownSignal {
    let flag = ShutdownSignal(
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let set = signal_set();
    // SAFETY: set is initialised; a null old-set pointer is allowed.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let f = flag.clone();
    let _ = std::thread::Builder::new()
        .name("tessera-signals".into())
        .spawn(move || loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: set is initialised and sig is a valid out pointer.
            let rc = unsafe { libc::sigwait(&set, &mut sig) };
            if rc != 0 {
                continue;
            }
            if !f.1.load(Ordering::SeqCst) {
                eprintln!("tessera: interrupted while starting, exiting");
                std::process::exit(130);
            }
            if f.0.swap(true, Ordering::SeqCst) {
                eprintln!("tessera: second interrupt, exiting now");
                std::process::exit(130);
            }
            tracing::info!(signal = sig, "shutdown signal received");
        });
    flag
}

//! Writing to stdout and stderr without panicking when the reader goes away.
//!
//! `std`'s `println!` panics (exit 101, "failed printing to stdout: Broken pipe") when stdout
//! is a pipe whose reader has exited, as in `slipway profile ... | head`. This crate's
//! `println!` and `eprintln!` (defined in `main.rs`, ahead of every module) write through
//! here instead: once a stream is closed, later output to it is dropped silently and the
//! command finishes with its own exit code (the bundle, the run and the gate outcome are as
//! they would be with a reader). Any other write error on stdout (a full disk under
//! `> file`) is reported once at the end and turns a successful exit into 1.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);
static STDOUT_ERROR: Mutex<Option<String>> = Mutex::new(None);

/// Writes one line to stdout; see the module docs.
pub fn stdout_line(args: fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != io::ErrorKind::BrokenPipe {
            let mut first = STDOUT_ERROR.lock().unwrap_or_else(|p| p.into_inner());
            first.get_or_insert_with(|| e.to_string());
        }
    }
}

/// Writes one line to stderr; a closed stderr drops it.
pub fn stderr_line(args: fmt::Arguments<'_>) {
    if STDERR_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut err = io::stderr().lock();
    if err
        .write_fmt(args)
        .and_then(|()| err.write_all(b"\n"))
        .is_err()
    {
        STDERR_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Flushes stdout; returns the first write error other than a closed pipe, if any.
pub fn finish() -> Option<String> {
    if !STDOUT_CLOSED.load(Ordering::Relaxed)
        && let Err(e) = io::stdout().lock().flush()
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return Some(e.to_string());
    }
    STDOUT_ERROR
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
}

//! Progress of long work on standard error: `hwformer run`'s bar
//! (indicatif) and the notes every step prints ("synthesizing ...").
//! The bar is drawn when standard error is a terminal and standard output
//! is not (`hwformer run > run.log`): on one terminal the sections' own
//! output is the progress, and a bar redrawn between its lines would
//! overwrite them. While the bar is shown, a note is printed above it;
//! without a bar a note is a plain line.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Prints a note about work under way on standard error.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::progress::print_note(&format!($($arg)*))
    };
}
pub(crate) use note;

/// Prints `text` above the bar, or alone when there is none.
pub fn print_note(text: &str) {
    match BAR.lock().ok().and_then(|bar| bar.clone()) {
        Some(bar) => bar.println(text),
        None => eprintln!("{text}"),
    }
}

/// A bar of `steps` steps, each a `step` (`section`, `point`), on
/// standard error (drawn as the module says), ticking every second,
/// until [`finish`].
pub fn start(steps: u64, step: &str) -> ProgressBar {
    let target = if std::io::stdout().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(steps), target);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "[{{elapsed_precise}}] {step} {{pos}}/{{len}} {{wide_msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_secs(1));
    if let Ok(mut shown) = BAR.lock() {
        *shown = Some(bar.clone());
    }
    bar
}

/// Removes the bar; notes are plain lines again.
pub fn finish() {
    if let Ok(mut shown) = BAR.lock() {
        if let Some(bar) = shown.take() {
            bar.finish_and_clear();
        }
    }
}

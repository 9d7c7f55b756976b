//! The console report: a line per canary as it finishes, failures in detail, and a summary line.

use std::io::{IsTerminal, Write};

use super::{Summary, millis};
use crate::run::{Attempt, Outcome, Run};

/// Writes runs to a stream, in colour only on a terminal (and without `NO_COLOR`).
pub struct Console<W: Write> {
    out: W,
    colour: bool,
    progress: Option<Progress>,
}

/// A progress line on stderr, for many canaries on a terminal.
struct Progress {
    done: usize,
    total: usize,
}

/// Show a progress line from this many canaries on.
const PROGRESS_FROM: usize = 10;

impl Console<std::io::Stdout> {
    /// The console on stdout, with progress on stderr when both are terminals.
    pub fn stdout(total: usize) -> Self {
        let tty = std::io::stdout().is_terminal();
        let colour = tty && std::env::var_os("NO_COLOR").is_none();
        let progress = (tty && std::io::stderr().is_terminal() && total >= PROGRESS_FROM)
            .then_some(Progress { done: 0, total });
        Console {
            out: std::io::stdout(),
            colour,
            progress,
        }
    }
}

impl<W: Write> Console<W> {
    /// A console on any stream, without colour or progress.
    pub fn plain(out: W) -> Self {
        Console {
            out,
            colour: false,
            progress: None,
        }
    }

    /// Writes one finished run.
    pub fn run(&mut self, run: &Run) {
        self.clear_progress();
        let (mark, colour) = match run.outcome() {
            Outcome::Passed => ("✓", "32"),
            Outcome::Degraded => ("~", "33"),
            Outcome::Failed => ("✗", "31"),
            Outcome::Errored => ("!", "35"),
        };
        let attempts = match run.attempts.len() {
            1 => String::new(),
            n if run.flaky() => format!("  ({n} attempts: passed after retry)"),
            n => format!("  ({n} attempts)"),
        };
        let degraded = match run.outcome() {
            Outcome::Degraded => "  degraded",
            _ => "",
        };
        let line = format!(
            "{} {}  {:.0}ms{degraded}{attempts}",
            self.paint(mark, colour),
            run.canary,
            millis(run.duration)
        );
        let _ = writeln!(self.out, "{line}");
        if run.outcome() != Outcome::Passed {
            let _ = write!(self.out, "{}", details(run.last()));
        }
        if let Some(p) = &mut self.progress {
            p.done += 1;
            let _ = write!(std::io::stderr(), "[{}/{}] running…\r", p.done, p.total);
        }
    }

    /// Writes the closing summary line.
    pub fn summary(&mut self, s: &Summary) {
        self.clear_progress();
        let _ = writeln!(self.out, "{}", summary_line(s));
    }

    fn clear_progress(&mut self) {
        if self.progress.is_some() {
            let _ = write!(std::io::stderr(), "\x1b[2K\r");
        }
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// "5 passed (1 after retry, 1 degraded), 0 failed, 1 errored": what qualifies the passes
/// stays beside them.
fn summary_line(s: &Summary) -> String {
    let mut about = Vec::new();
    if s.flaky > 0 {
        about.push(format!("{} after retry", s.flaky));
    }
    if s.degraded > 0 {
        about.push(format!("{} degraded", s.degraded));
    }
    let about = match about.is_empty() {
        true => String::new(),
        false => format!(" ({})", about.join(", ")),
    };
    format!(
        "{} passed{about}, {} failed, {} errored",
        s.passed, s.failed, s.errored
    )
}

/// The failing steps of an attempt: each error, and each assertion that did not hold with
/// expected vs actual. Indented, one item a line.
pub fn details(a: &Attempt) -> String {
    let mut out = String::new();
    for s in a.steps.iter().filter(|s| s.outcome != Outcome::Passed) {
        let status = s.status.map_or(String::new(), |c| format!(" (status {c})"));
        out.push_str(&format!("    step {}{status}\n", s.name));
        if let Some(e) = &s.error {
            out.push_str(&format!("      error {}: {}\n", e.kind, e.message));
        }
        if let Some(d) = &s.dns {
            out.push_str(&format!(
                "      dns {} from {}: {}\n",
                d.rcode,
                d.server,
                d.summary()
            ));
        }
        for f in s.assertions.iter().filter(|x| !x.passed) {
            let note = if f.degraded { " (degraded)" } else { "" };
            out.push_str(&format!(
                "      {}: expected {}, got {}{note}\n",
                f.subject, f.expected, f.actual
            ));
        }
        for a in &s.artifacts {
            out.push_str(&format!("      saved {}\n", a.display()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_after_retry_are_told_beside_the_passes() {
        let s = Summary {
            passed: 5,
            degraded: 1,
            failed: 0,
            errored: 1,
            flaky: 1,
        };
        assert_eq!(
            summary_line(&s),
            "5 passed (1 after retry, 1 degraded), 0 failed, 1 errored"
        );
        let s = Summary {
            passed: 2,
            errored: 3,
            ..Summary::default()
        };
        assert_eq!(summary_line(&s), "2 passed, 0 failed, 3 errored");
    }
}

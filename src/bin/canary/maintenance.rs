//! `canary maintenance`: the next maintenance windows of the project, and the canaries each covers.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::args::NextArgs;
use crate::commands;
use canary::canary::Canary;
use canary::canary::maintenance::{When, Window};

/// Prints the next `--count` openings of each window, and what it covers.
pub fn run(args: &NextArgs) -> Result<ExitCode> {
    let (canaries, opts) = match commands::load_with(&args.load)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let windows: Vec<Arc<Window>> = (opts.project.maintenance.iter())
        .map(|c| c.window.clone())
        .collect();
    if windows.is_empty() {
        commands::emit(
            "no maintenance windows: add them under `maintenance:` in the project file\n",
        );
        return Ok(ExitCode::SUCCESS);
    }
    commands::emit(&listing(&windows, &canaries, args.count, Utc::now()));
    Ok(ExitCode::SUCCESS)
}

/// Each window: how it is written, the canaries it covers, and its next `count` openings from
/// `now` (the open one first, marked).
pub fn listing(
    windows: &[Arc<Window>],
    canaries: &[Canary],
    count: usize,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    for w in windows {
        out += &format!("{}  {}\n", w.name, written(w));
        let covered: Vec<&str> = (canaries.iter())
            .filter(|c| c.maintenance.iter().any(|m| Arc::ptr_eq(m, w)))
            .map(|c| c.name.as_str())
            .collect();
        out += &match covered.len() == canaries.len() {
            true => format!("  covers: all {} canaries\n", covered.len()),
            false => format!("  covers: {}\n", covered.join(", ")),
        };
        let mut t = now;
        for _ in 0..count {
            let Some((start, end)) = w.next(t) else {
                break;
            };
            let open = if start <= now && now < end {
                "  (open now)"
            } else {
                ""
            };
            let utc = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            out += &format!("  {} – {}{}{open}\n", utc(start), utc(end), local(w, start));
            t = end;
        }
    }
    out
}

/// The window as the project file gives it.
fn written(w: &Window) -> String {
    match &w.when {
        When::Every { schedule, duration } => {
            format!(
                "{} for {}",
                schedule.source,
                humantime::format_duration(*duration)
            )
        }
        When::Once { .. } => "once".into(),
    }
}

/// The start in the cron's time zone, when it is not UTC.
fn local(w: &Window, start: DateTime<Utc>) -> String {
    match &w.when {
        When::Every { schedule, .. } if schedule.tz != chrono_tz::UTC => {
            let at = start.with_timezone(&schedule.tz);
            format!("  ({})", at.format("%Y-%m-%d %H:%M %Z"))
        }
        _ => String::new(),
    }
}

//! `canary test --watch`: run the canaries, then re-run those whose files change (all of them on
//! `r`, Enter), until `q` or Ctrl-C. A bad edit shows its errors and the loop goes on.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use canary::canary::Canary;
use canary::config;
use canary::report::console::Console;

use crate::args::TestArgs;
use crate::commands::{emit, load, with_console};

/// How often the files are looked at.
const POLL: Duration = Duration::from_millis(250);

/// Each canary file's size and modification time.
type Stamps = HashMap<PathBuf, (u64, Option<SystemTime>)>;

fn stamps(paths: &[PathBuf]) -> Stamps {
    config::files(paths)
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let stamp = meta.map_or((0, None), |m| (m.len(), m.modified().ok()));
            (p, stamp)
        })
        .collect()
}

/// What to run next: every canary, or those of these files.
enum Round {
    All(&'static str),
    Changed(Vec<PathBuf>),
}

pub fn run(args: &TestArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let keys = keys();
    let mut seen = stamps(&args.load.paths);
    let mut round = Round::All("start");
    loop {
        run_round(args, &rt, &round)?;
        emit(&format!(
            "\nwatching {} · r Enter: run all · q Enter: quit\n",
            canary::report::count(seen.len(), "file", "files")
        ));
        round = loop {
            std::thread::sleep(POLL);
            match keys.try_recv().map(|k| k.trim().to_string()) {
                Ok(k) if k == "q" => return Ok(ExitCode::SUCCESS),
                Ok(k) if k == "r" => break Round::All("r"),
                _ => {}
            }
            let now = stamps(&args.load.paths);
            let changed: Vec<PathBuf> = now
                .iter()
                .filter(|(p, s)| seen.get(*p) != Some(s))
                .map(|(p, _)| p.clone())
                .collect();
            let removed = seen.keys().any(|p| !now.contains_key(p));
            seen = now;
            if !changed.is_empty() || removed {
                break Round::Changed(changed);
            }
        };
    }
}

/// Lines typed on stdin, read by a thread of their own.
fn keys() -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Loads everything (so every error shows) and runs the canaries the round is for.
fn run_round(args: &TestArgs, rt: &tokio::runtime::Runtime, round: &Round) -> Result<()> {
    let tty = std::io::stdout().is_terminal();
    if tty {
        emit("\x1b[2J\x1b[H");
    }
    let what = match round {
        Round::All(why) => format!("all canaries ({why})"),
        Round::Changed(files) => format!("changed: {}", names(files)),
    };
    let time = chrono::Local::now().format("%H:%M:%S");
    emit(&format!("canary test --watch · {time} · {what}\n\n"));
    let _ = std::io::stdout().flush();
    let Ok(canaries) = load(&args.load)? else {
        emit("the files do not load (errors above); fix them and save\n");
        return Ok(());
    };
    let selected: Vec<Arc<Canary>> = canaries
        .into_iter()
        .filter(|c| args.tags.is_empty() || c.tags.iter().any(|t| args.tags.contains(t)))
        .filter(|c| match round {
            Round::All(_) => true,
            Round::Changed(files) => files.contains(&c.file),
        })
        .map(Arc::new)
        .collect();
    if selected.is_empty() {
        emit("no canary to run in what changed\n");
        return Ok(());
    }
    let ctx = args.browser.context(
        &selected.iter().map(|c| &**c).collect::<Vec<_>>(),
        false,
        Default::default(),
    );
    let console = Console::stdout(selected.len());
    with_console(console, &selected, args.parallel.into(), &ctx, rt);
    if let Some(driver) = &ctx.webdriver {
        driver.shutdown();
    }
    Ok(())
}

fn names(files: &[PathBuf]) -> String {
    if files.is_empty() {
        return "a file was removed".into();
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    names.join(", ")
}

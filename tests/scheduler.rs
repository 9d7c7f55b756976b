//! The scheduler under tokio's paused clock, with a stand-in runner: firing instants,
//! skip-on-overlap, the concurrency bound, spread, outside timeouts, shutdown, reload.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use canary::canary::Canary;
use canary::config::{self, LoadOptions};
use canary::run::{Attempt, ErrorKind, Outcome, Run};
use canary::scheduler::{self, Clock, Control, Event, Options, RunFn};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

const T0: &str = "2026-11-24T10:00:30Z";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(T0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Canaries named as given, with these schedules (and `extra` YAML lines).
fn canaries(specs: &[(&str, &str)], extra: &str) -> Vec<Canary> {
    let files: Vec<(String, String)> = specs
        .iter()
        .map(|(n, s)| {
            (
                format!("{n}.yaml"),
                format!(
                    "name: {n}\nschedule: {s}\n{extra}http: {{ url: 'http://127.0.0.1:9/' }}\n"
                ),
            )
        })
        .collect();
    let dir = support::canary_dir_owned(&files);
    config::load(&[dir.path().into()], &LoadOptions::default()).unwrap()
}

/// A stand-in runner: each canary's run takes its duration (default 1 s) of tokio time and
/// passes; it records how many run at once.
struct Fake {
    takes: HashMap<String, Duration>,
    now: AtomicUsize,
    max: AtomicUsize,
}

fn fake(takes: &[(&str, u64)]) -> (Arc<Fake>, RunFn) {
    let f = Arc::new(Fake {
        takes: takes
            .iter()
            .map(|(n, s)| (n.to_string(), Duration::from_secs(*s)))
            .collect(),
        now: AtomicUsize::new(0),
        max: AtomicUsize::new(0),
    });
    let state = f.clone();
    let run_fn: RunFn = Arc::new(move |c: Arc<Canary>| {
        let f = state.clone();
        Box::pin(async move {
            let n = f.now.fetch_add(1, Ordering::SeqCst) + 1;
            f.max.fetch_max(n, Ordering::SeqCst);
            let took = f
                .takes
                .get(&c.name)
                .copied()
                .unwrap_or(Duration::from_secs(1));
            tokio::time::sleep(took).await;
            f.now.fetch_sub(1, Ordering::SeqCst);
            let attempt = Attempt {
                outcome: Outcome::Passed,
                steps: Vec::new(),
                duration: took,
            };
            Run {
                canary: c.name.clone(),
                file: c.file.clone(),
                started_at: SystemTime::now(),
                attempts: vec![attempt],
                duration: took,
                dimensions: Vec::new(),
                maintenance: None,
            }
        })
    });
    (f, run_fn)
}

fn opts(max_concurrent: usize, spread: u64, grace: u64) -> Options {
    Options {
        max_concurrent,
        spread: Duration::from_secs(spread),
        grace: Duration::from_secs(grace),
        heartbeat: None,
    }
}

/// Runs the scheduler; `script` gets the control channel and drives time; returns every event.
async fn drive<F, Fut>(set: Vec<Canary>, o: Options, run_fn: RunFn, script: F) -> Vec<Event>
where
    F: FnOnce(mpsc::UnboundedSender<Control>) -> Fut,
    Fut: Future<Output = ()>,
{
    let (ctl, ctl_rx) = mpsc::unbounded_channel();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(scheduler::run(
        set,
        o,
        Clock::following_tokio(t0()),
        run_fn,
        ctl_rx,
        ev_tx,
    ));
    script(ctl.clone()).await;
    let _ = ctl.send(Control::Shutdown);
    task.await.unwrap();
    let mut events = Vec::new();
    while let Ok(e) = ev_rx.try_recv() {
        events.push(e);
    }
    events
}

/// Seconds after T0 of each finished run of `name`, by planned instant.
fn planned(events: &[Event], name: &str) -> Vec<i64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Finished { run, planned, .. } if run.canary == name => {
                Some((*planned - t0()).num_milliseconds())
            }
            _ => None,
        })
        .map(|ms| ms / 1000)
        .collect()
}

fn sleep(secs: u64) -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_secs(secs))
}

#[tokio::test(start_paused = true)]
async fn fires_at_the_schedule_instants_on_time() {
    let set = canaries(
        &[
            ("every-minute", "rate(1 minute)"),
            ("even-minutes", "cron(0/2 * * * ? *)"),
        ],
        "",
    );
    let (_, run_fn) = fake(&[]);
    let events = drive(set, opts(10, 0, 5), run_fn, |_| async { sleep(299).await }).await;
    assert_eq!(planned(&events, "every-minute"), [0, 60, 120, 180, 240]);
    // 10:02:00 and 10:04:00 are 90 s and 210 s after 10:00:30.
    assert_eq!(planned(&events, "even-minutes"), [90, 210]);
    for e in &events {
        if let Event::Finished { lateness, .. } = e {
            assert!(*lateness < Duration::from_millis(2), "{lateness:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_instant_is_skipped_while_the_previous_run_goes_on() {
    let set = canaries(&[("slow", "rate(1 minute)")], "timeout: 5m\n");
    let (_, run_fn) = fake(&[("slow", 90)]);
    let events = drive(set, opts(10, 0, 100), run_fn, |_| async {
        sleep(230).await
    })
    .await;
    assert_eq!(planned(&events, "slow"), [0, 120]);
    let skips: Vec<(i64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Skipped { planned, total, .. } => {
                Some(((*planned - t0()).num_seconds(), *total))
            }
            _ => None,
        })
        .collect();
    assert_eq!(skips, [(60, 1), (180, 2)]);
}

#[tokio::test(start_paused = true)]
async fn the_global_bound_holds_and_waiting_shows_as_lateness() {
    let set = canaries(
        &[
            ("a", "rate(1 hour)"),
            ("b", "rate(1 hour)"),
            ("c", "rate(1 hour)"),
            ("d", "rate(1 hour)"),
        ],
        "timeout: 5m\n",
    );
    let (f, run_fn) = fake(&[("a", 30), ("b", 30), ("c", 30), ("d", 30)]);
    let events = drive(set, opts(2, 0, 5), run_fn, |_| async { sleep(100).await }).await;
    assert_eq!(f.max.load(Ordering::SeqCst), 2);
    let mut late: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Finished { lateness, .. } => Some(lateness.as_secs()),
            _ => None,
        })
        .collect();
    late.sort();
    assert_eq!(late, [0, 0, 30, 30]);
}

#[tokio::test(start_paused = true)]
async fn spread_moves_each_canary_by_a_fixed_offset() {
    let names: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
    let specs: Vec<(&str, &str)> = names
        .iter()
        .map(|n| (n.as_str(), "rate(1 minute)"))
        .collect();
    let (_, run_fn) = fake(&[]);
    let events = drive(canaries(&specs, ""), opts(100, 10, 5), run_fn, |_| async {
        sleep(119).await
    })
    .await;
    let mut firsts = Vec::new();
    for n in &names {
        let ms: Vec<i64> = events
            .iter()
            .filter_map(|e| match e {
                Event::Finished { run, planned, .. } if &run.canary == n => {
                    Some((*planned - t0()).num_milliseconds())
                }
                _ => None,
            })
            .collect();
        assert_eq!(ms.len(), 2, "{n}: {ms:?}");
        assert_eq!(ms[1] - ms[0], 60_000, "{n}: {ms:?}");
        assert!((0..10_000).contains(&ms[0]), "{n}: {ms:?}");
        // 20 canaries 500 ms apart on average: they start on a grid of whole seconds.
        assert_eq!(ms[0] % 1000, 0, "{n}: {ms:?}");
        firsts.push(ms[0]);
    }
    firsts.sort();
    firsts.dedup();
    assert!(firsts.len() >= 7, "offsets should differ: {firsts:?}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_records_finished_runs_and_cuts_off_the_rest() {
    let set = canaries(
        &[("quick", "rate(1 minute)"), ("long", "rate(1 minute)")],
        "timeout: 5m\n",
    );
    let (_, run_fn) = fake(&[("quick", 10), ("long", 120)]);
    let start = tokio::time::Instant::now();
    let events = drive(set, opts(10, 0, 30), run_fn, |_| async { sleep(5).await }).await;
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(35),
        "shutdown waits for the grace period, no longer"
    );
    let outcome = |name: &str| {
        events.iter().find_map(|e| match e {
            Event::Finished { run, .. } if run.canary == name => Some(run.clone()),
            _ => None,
        })
    };
    assert_eq!(outcome("quick").unwrap().outcome(), Outcome::Passed);
    let long = outcome("long").unwrap();
    let err = long.last().steps[0].error.clone().unwrap();
    assert_eq!(
        (long.outcome(), err.kind),
        (Outcome::Errored, ErrorKind::Shutdown)
    );
    assert!(err.message.contains("grace period"), "{err:?}");
    // Its real start (at T0, no spread) and the 35 s it ran until it was cut off.
    assert_eq!(long.started_at, std::time::SystemTime::from(t0()));
    assert_eq!(long.duration, Duration::from_secs(35));
    assert_eq!(long.last().duration, Duration::from_secs(35));
}

#[tokio::test(start_paused = true)]
async fn a_run_that_hangs_is_cut_off_from_outside() {
    let set = canaries(&[("hung", "rate(1 hour)")], "timeout: 1s\nretries: 1\n");
    let (_, run_fn) = fake(&[("hung", 1000)]);
    let events = drive(set, opts(10, 0, 5), run_fn, |_| async { sleep(20).await }).await;
    let Event::Finished { run, .. } = &events[0] else {
        panic!("{events:?}")
    };
    let err = run.last().steps[0].error.clone().unwrap();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert!(
        err.message.contains("7s"),
        "2 attempts × 1 s + 5 s: {err:?}"
    );
    assert_eq!(run.started_at, std::time::SystemTime::from(t0()));
    assert_eq!(run.duration, Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn reload_adds_removes_and_reschedules() {
    let first = canaries(
        &[("gone", "rate(1 minute)"), ("kept", "rate(1 minute)")],
        "timeout: 5m\n",
    );
    let second = canaries(
        &[("kept", "rate(2 minutes)"), ("new", "rate(1 minute)")],
        "",
    );
    let (_, run_fn) = fake(&[("gone", 50)]);
    let events = drive(first, opts(10, 0, 5), run_fn, |ctl| async move {
        sleep(30).await;
        ctl.send(Control::Reload(second)).unwrap();
        sleep(140).await;
    })
    .await;
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Reloaded {
            added: 1,
            removed: 1,
            kept: 1
        }
    )));
    assert_eq!(
        planned(&events, "gone"),
        [0],
        "its in-flight run is still recorded"
    );
    assert_eq!(planned(&events, "kept"), [0, 30, 150]);
    assert_eq!(planned(&events, "new"), [30, 90, 150]);
}

#[tokio::test(start_paused = true)]
async fn a_canary_removed_while_it_runs_and_brought_back_fires_again() {
    let both = || {
        canaries(
            &[("slow", "rate(1 minute)"), ("other", "rate(1 minute)")],
            "timeout: 5m\n",
        )
    };
    let without = canaries(&[("other", "rate(1 minute)")], "");
    let (_, run_fn) = fake(&[("slow", 50)]);
    let events = drive(both(), opts(10, 0, 5), run_fn, |ctl| async move {
        sleep(10).await;
        ctl.send(Control::Reload(without)).unwrap();
        sleep(10).await;
        ctl.send(Control::Reload(both())).unwrap();
        sleep(100).await;
    })
    .await;
    // Back at 20 s, while its first run still goes on: planned afresh from then.
    assert_eq!(planned(&events, "slow"), [0, 80]);
}

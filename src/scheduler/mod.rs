//! The daemon loop: every canary fires at its schedule's instants; one canary never runs twice
//! at once (the instant is skipped and counted); a global bound on concurrent runs; spread;
//! an outside timeout on every run; reload; and a clean shutdown that loses no run.

mod clock;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{Id, JoinSet};

pub use clock::Clock;

use crate::canary::Canary;
use crate::run::{ErrorKind, Run};
use crate::runner;

/// A run in progress.
pub type RunFuture = Pin<Box<dyn Future<Output = Run> + Send>>;

/// Runs a canary once: the real runner, or a stand-in in tests.
pub type RunFn = Arc<dyn Fn(Arc<Canary>) -> RunFuture + Send + Sync>;

/// The real runner, with this context.
pub fn real_runner(ctx: Arc<crate::check::Context>) -> RunFn {
    Arc::new(move |canary| {
        let ctx = ctx.clone();
        Box::pin(async move { runner::run_canary(&canary, &ctx).await })
    })
}

/// How the scheduler behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// At most this many runs at once; a run over the bound waits (and its lateness shows it).
    pub max_concurrent: usize,
    /// Each canary's instants are moved by a fixed offset in `[0, spread)`, from its name;
    /// offsets share steps so that a few canaries start on one wake-up (see `Spread::new`).
    pub spread: Duration,
    /// How long in-flight runs may finish after shutdown starts.
    pub grace: Duration,
    /// Beats every few seconds while the loop turns (for `/healthz` and `canary health`).
    pub heartbeat: Option<Arc<crate::health::Heartbeat>>,
}

/// What the scheduler reports.
#[derive(Debug)]
pub enum Event {
    /// A run finished, timed out from outside, or was cut off at shutdown.
    Finished {
        /// The run.
        run: Run,
        /// The instant it was planned for (spread included).
        planned: DateTime<Utc>,
        /// How late it started: actual start − planned instant.
        lateness: Duration,
    },
    /// An instant was skipped because the canary's previous run was still going.
    Skipped {
        /// The canary.
        canary: String,
        /// The instant skipped.
        planned: DateTime<Utc>,
        /// Instants this canary has skipped so far.
        total: u64,
        /// The canary's metric dimensions.
        dimensions: Vec<(String, String)>,
    },
    /// A new set of canaries took effect.
    Reloaded {
        /// Canaries that are new.
        added: usize,
        /// Canaries that are gone (after their in-flight run).
        removed: usize,
        /// Canaries kept (their new definition applies from their next instant).
        kept: usize,
    },
}

/// What the scheduler can be told while it runs.
#[derive(Debug)]
pub enum Control {
    /// Apply this (valid) set of canaries.
    Reload(Vec<Canary>),
    /// Stop starting runs, let in-flight ones finish within the grace period, then return.
    Shutdown,
}

/// One canary's place in the schedule.
struct Slot {
    canary: Arc<Canary>,
    /// When the scheduler took the canary on (a rate counts from here).
    start: DateTime<Utc>,
    /// Its spread offset.
    offset: TimeDelta,
    /// The next planned instant, None when it will not fire again.
    next: Option<DateTime<Utc>>,
    /// A run is queued or in flight.
    running: bool,
    /// Removed by a reload; dropped when its run finishes.
    removed: bool,
    skipped: u64,
}

impl Slot {
    fn new(canary: Arc<Canary>, now: DateTime<Utc>, spread: Spread) -> Slot {
        let offset = spread.offset(&canary.name);
        let mut slot = Slot {
            canary,
            start: now,
            offset,
            next: None,
            running: false,
            removed: false,
            skipped: 0,
        };
        slot.next = slot.after(now - TimeDelta::milliseconds(1));
        slot
    }

    /// The first planned instant strictly after `t`.
    fn after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let base = self
            .canary
            .schedule
            .next_after(t - self.offset, self.start)?;
        Some(base + self.offset)
    }
}

/// The longest spread that counts (offsets stay within the dates a schedule can reach).
const YEAR: Duration = Duration::from_secs(366 * 24 * 3600);

/// How instants are spread: a fixed offset per canary, one of `steps` multiples of `step`.
#[derive(Debug, Clone, Copy)]
struct Spread {
    step: Duration,
    steps: u64,
}

impl Spread {
    /// Canaries that start together share one wake-up, and a wake-up from idle costs more than
    /// the run it starts (two to three times on a virtual machine). So offsets fall on a grid,
    /// and a step of it holds as many canaries as there are milliseconds between two offsets
    /// spread evenly, at most 8, a quarter of `max_concurrent` and an eighth of the canaries (a
    /// few canaries stay apart): 1,000 canaries over 60 s start 8 at a time every 0.48 s; at
    /// 100,000 the daemon never idles long, grouping would only add lateness, and the step is
    /// 1 ms. The step is 1 ms to 1 s; a spread over a year counts as a year.
    fn new(spread: Duration, canaries: usize, max_concurrent: usize) -> Spread {
        let spread = spread.min(YEAR);
        let apart_ms = spread.as_millis() / canaries.max(1) as u128;
        let together = (apart_ms as usize)
            .min(max_concurrent / 4)
            .min(canaries / 8)
            .clamp(1, 8) as u32;
        let step = (spread * together / canaries.max(1) as u32)
            .clamp(Duration::from_millis(1), Duration::from_secs(1));
        let steps = (spread.as_millis() / step.as_millis()) as u64;
        Spread { step, steps }
    }

    /// A fixed offset in `[0, spread)` from the canary's name (FNV-1a), so a restart with the
    /// same canaries keeps it.
    fn offset(&self, name: &str) -> TimeDelta {
        if self.steps == 0 {
            return TimeDelta::zero();
        }
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        TimeDelta::milliseconds(((hash % self.steps) * self.step.as_millis() as u64) as i64)
    }
}

/// The longest a run may take before the scheduler cuts it off: every attempt's timeout, and 5 s.
fn outer_limit(canary: &Canary) -> Duration {
    canary.timeout * (canary.retries + 1) + Duration::from_secs(5)
}

/// The scheduler's state.
struct Scheduler {
    opts: Options,
    clock: Clock,
    run_fn: RunFn,
    events: mpsc::UnboundedSender<Event>,
    slots: BTreeMap<Arc<str>, Slot>,
    /// Every slot's next instant, earliest first, so a wake-up costs what fires, not what
    /// exists. An entry whose slot has moved on since (fired, rescheduled, removed) is stale and
    /// dropped when it comes up. It shares its slot's name: planning allocates nothing.
    due: BinaryHeap<Reverse<(DateTime<Utc>, Arc<str>)>>,
    tasks: JoinSet<(Run, Duration)>,
    /// The runs under way: their canary, planned instant, and real start once it began.
    in_flight: HashMap<Id, (Arc<Canary>, DateTime<Utc>, StartCell)>,
    permits: Arc<Semaphore>,
    stopping: Arc<AtomicBool>,
}

/// Runs `canaries` on their schedules until told to shut down (or `control` closes);
/// every run, skip and reload is sent to `events`. Returns once shutdown is complete.
pub async fn run(
    canaries: Vec<Canary>,
    opts: Options,
    clock: Clock,
    run_fn: RunFn,
    mut control: mpsc::UnboundedReceiver<Control>,
    events: mpsc::UnboundedSender<Event>,
) {
    let permits = Arc::new(Semaphore::new(opts.max_concurrent.max(1)));
    let mut s = Scheduler {
        opts,
        clock,
        run_fn,
        events,
        slots: BTreeMap::new(),
        due: BinaryHeap::new(),
        tasks: JoinSet::new(),
        in_flight: HashMap::new(),
        permits,
        stopping: Arc::new(AtomicBool::new(false)),
    };
    s.apply(canaries);
    crate::memory::give_back();
    let mut beat = tokio::time::interval(crate::health::EVERY);
    let heartbeat = s.opts.heartbeat.clone();
    loop {
        let due = s.next_due();
        let clock = s.clock.clone();
        let wake = async move {
            match due {
                Some(t) => clock.sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = wake => s.fire_due(),
            Some(joined) = s.tasks.join_next_with_id(), if !s.tasks.is_empty() => s.finished(joined),
            _ = beat.tick(), if heartbeat.is_some() => {
                if let Some(h) = &heartbeat {
                    h.beat();
                }
            }
            msg = control.recv() => match msg {
                Some(Control::Reload(canaries)) => {
                    let (added, removed, kept) = s.apply(canaries);
                    crate::memory::give_back();
                    s.emit(Event::Reloaded { added, removed, kept });
                }
                Some(Control::Shutdown) | None => break,
            },
        }
    }
    s.shutdown().await;
}

impl Scheduler {
    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Plans `name`'s next instant, if it has one.
    fn plan(&mut self, name: &str) {
        if let Some((name, Some(t))) = self.slots.get_key_value(name).map(|(n, s)| (n, s.next)) {
            self.due.push(Reverse((t, name.clone())));
        }
    }

    /// The earliest planned instant, stale entries dropped on the way.
    fn next_due(&mut self) -> Option<DateTime<Utc>> {
        while let Some(Reverse((t, name))) = self.due.peek() {
            if self
                .slots
                .get(name)
                .is_some_and(|slot| slot.next == Some(*t))
            {
                return Some(*t);
            }
            self.due.pop();
        }
        None
    }

    /// Takes on a set of canaries: new ones start now, kept ones keep their instants unless
    /// their schedule changed, gone ones stop (after their in-flight run).
    fn apply(&mut self, canaries: Vec<Canary>) -> (usize, usize, usize) {
        let now = self.clock.now();
        let (mut added, mut kept) = (0, 0);
        let names: HashSet<String> = canaries.iter().map(|c| c.name.clone()).collect();
        let spread = Spread::new(self.opts.spread, names.len(), self.opts.max_concurrent);
        for canary in canaries {
            let canary = Arc::new(canary);
            let name = canary.name.clone();
            let replanned = match self.slots.get_mut(name.as_str()) {
                Some(slot) => {
                    kept += 1;
                    let rescheduled = slot.canary.schedule != canary.schedule;
                    slot.canary = canary;
                    // A canary removed while it ran, and now back, is planned afresh.
                    let replan = rescheduled || slot.removed;
                    if replan {
                        slot.start = now;
                        slot.next = slot.after(now - TimeDelta::milliseconds(1));
                    }
                    slot.removed = false;
                    replan
                }
                None => {
                    added += 1;
                    let slot = Slot::new(canary, now, spread);
                    self.slots.insert(Arc::from(name.as_str()), slot);
                    true
                }
            };
            if replanned {
                self.plan(&name);
            }
        }
        let gone: Vec<Arc<str>> = self
            .slots
            .keys()
            .filter(|n| !names.contains(&***n))
            .cloned()
            .collect();
        for name in &gone {
            match self.slots.get_mut(name) {
                Some(slot) if slot.running => {
                    slot.removed = true;
                    slot.next = None;
                }
                _ => {
                    self.slots.remove(name);
                }
            }
        }
        (added, gone.len(), kept)
    }

    /// Starts (or skips) every canary whose instant has come.
    fn fire_due(&mut self) {
        let now = self.clock.now();
        let mut skipped = Vec::new();
        let mut start = Vec::new();
        while let Some(Reverse((planned, _))) = self.due.peek() {
            if *planned > now {
                break;
            }
            let Some(Reverse((planned, name))) = self.due.pop() else {
                break;
            };
            let Some(slot) = self.slots.get_mut(&name) else {
                continue;
            };
            if slot.next != Some(planned) {
                continue;
            }
            if slot.running {
                slot.skipped += 1;
                skipped.push(Event::Skipped {
                    canary: slot.canary.name.clone(),
                    planned,
                    total: slot.skipped,
                    dimensions: slot.canary.dimensions.clone(),
                });
            } else {
                slot.running = true;
                start.push((slot.canary.clone(), planned));
            }
            // From the later of the planned instant and now: missed instants are not run in a burst.
            slot.next = slot.after(planned.max(now));
            self.plan(&name);
        }
        for event in skipped {
            self.emit(event);
        }
        for (canary, planned) in start {
            self.spawn(canary, planned);
        }
    }

    fn spawn(&mut self, canary: Arc<Canary>, planned: DateTime<Utc>) {
        let (permits, stopping, clock, run_fn) = (
            self.permits.clone(),
            self.stopping.clone(),
            self.clock.clone(),
            self.run_fn.clone(),
        );
        let c = canary.clone();
        let start = StartCell::default();
        let began = start.clone();
        let handle = self.tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let now = clock.now();
            let lateness = (now - planned).to_std().unwrap_or_default();
            if stopping.load(Ordering::SeqCst) {
                let why = "not started: canary was shutting down".to_string();
                return (runner::not_run(&c, ErrorKind::Shutdown, why), lateness);
            }
            let started = runner::Started {
                at: now.into(),
                instant: tokio::time::Instant::now(),
            };
            let _ = began.set(started);
            let limit = outer_limit(&c);
            let run = match tokio::time::timeout(limit, run_fn(c.clone())).await {
                Ok(run) => run,
                Err(_) => {
                    let why = format!(
                        "the run did not end within {limit:?} (all attempts' timeouts); cut off"
                    );
                    runner::cut_off(&c, ErrorKind::Timeout, why, started)
                }
            };
            (run, lateness)
        });
        self.in_flight.insert(handle.id(), (canary, planned, start));
    }

    /// Records a finished run task.
    fn finished(&mut self, joined: Result<(Id, (Run, Duration)), tokio::task::JoinError>) {
        let (id, outcome) = match joined {
            Ok((id, done)) => (id, Ok(done)),
            Err(e) => (e.id(), Err(e)),
        };
        let Some((canary, planned, start)) = self.in_flight.remove(&id) else {
            return;
        };
        let (run, lateness) = outcome.unwrap_or_else(|e| {
            let why = format!("canary crashed: {e}");
            (
                stopped(&canary, ErrorKind::Internal, why, &start),
                Duration::ZERO,
            )
        });
        if let Some(slot) = self.slots.get_mut(canary.name.as_str()) {
            slot.running = false;
            if slot.removed {
                self.slots.remove(canary.name.as_str());
            }
        }
        self.emit(Event::Finished {
            run,
            planned,
            lateness,
        });
    }

    /// Stops starting runs, waits up to the grace period for in-flight ones, and records the
    /// rest as cut off (errored, kind `shutdown`).
    async fn shutdown(mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + self.opts.grace;
        while !self.tasks.is_empty() {
            tokio::select! {
                Some(joined) = self.tasks.join_next_with_id() => self.finished(joined),
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        self.tasks.abort_all();
        let grace = self.opts.grace;
        for (_, (canary, planned, start)) in std::mem::take(&mut self.in_flight) {
            let why = match start.get() {
                Some(_) => {
                    format!("cut off at shutdown: still running after the {grace:?} grace period")
                }
                None => "not started: canary was shutting down (it waited for a free slot)".into(),
            };
            let lateness = start.get().map_or(Duration::ZERO, |s| {
                let at = DateTime::<Utc>::from(s.at);
                (at - planned).to_std().unwrap_or_default()
            });
            let run = stopped(&canary, ErrorKind::Shutdown, why, &start);
            self.emit(Event::Finished {
                run,
                planned,
                lateness,
            });
        }
    }
}

/// A run's real start, set by its task once it holds a slot.
type StartCell = Arc<std::sync::OnceLock<runner::Started>>;

/// The record of a run stopped from outside: cut off from its real start when it had begun,
/// else not run at all.
fn stopped(canary: &Canary, kind: ErrorKind, why: String, start: &StartCell) -> Run {
    match start.get() {
        Some(s) => runner::cut_off(canary, kind, why, *s),
        None => runner::not_run(canary, kind, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(spread: Spread, n: usize) -> Vec<i64> {
        (0..n)
            .map(|i| spread.offset(&format!("canary-{i}")).num_milliseconds())
            .collect()
    }

    /// The canaries starting at each offset, largest group first.
    fn groups(offsets: &[i64]) -> Vec<usize> {
        let mut count = HashMap::new();
        for o in offsets {
            *count.entry(*o).or_insert(0) += 1;
        }
        let mut sizes: Vec<usize> = count.into_values().collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes
    }

    #[test]
    fn few_canaries_far_apart_start_in_small_groups_on_a_grid() {
        let s = Spread::new(Duration::from_secs(60), 1000, 64);
        assert_eq!(s.step, Duration::from_millis(480));
        let o = offsets(s, 1000);
        assert!(o.iter().all(|o| o % 480 == 0 && (0..60_000).contains(o)));
        let g = groups(&o);
        assert!(g.len() >= 110, "{} of 125 steps used", g.len());
        assert!(g[0] <= 24, "largest group {}", g[0]);
        // The concurrency bound caps a group: a quarter of 16 is 4.
        assert_eq!(step_ms(60_000, 1000, 16), 240);
    }

    /// The grid step, in milliseconds, for `canaries` spread over `spread_ms`.
    fn step_ms(spread_ms: u64, canaries: usize, max_concurrent: usize) -> u128 {
        let spread = Duration::from_millis(spread_ms);
        Spread::new(spread, canaries, max_concurrent)
            .step
            .as_millis()
    }

    #[test]
    fn many_canaries_close_together_are_not_grouped() {
        assert_eq!(step_ms(60_000, 100_000, 64), 1);
        assert_eq!(step_ms(60_000, 10_000, 64), 36);
        let s = Spread::new(Duration::from_secs(60), 10_000, 64);
        assert!(groups(&offsets(s, 10_000))[0] <= 20);
    }

    #[test]
    fn a_few_canaries_keep_apart() {
        assert_eq!(step_ms(1500, 2, 64), 750);
        assert_eq!(step_ms(10_000, 20, 100), 1000);
    }

    #[test]
    fn a_spread_of_ages_is_no_overflow() {
        let ages = Duration::from_secs(u64::MAX / 2);
        assert_eq!(Spread::new(ages, 1, 64).step, Duration::from_secs(1));
        assert!(Spread::new(ages, 1, 64).offset("c") < TimeDelta::days(366));
    }

    #[test]
    fn no_spread_is_no_offset() {
        let s = Spread::new(Duration::ZERO, 1000, 64);
        assert!(offsets(s, 100).iter().all(|o| *o == 0));
    }
}

//! Notifications from the runner itself: each canary's alert state (kept across restarts), and
//! its changes told to channels — webhook, Slack, SNS, EventBridge — behind one small trait.
//! Delivery never blocks runs: each channel has its own task that groups what arrives within a
//! short window into one message, retries with backoff, keeps what waits in an outbox file, and
//! counts and logs what it could not deliver.

pub mod event;
pub mod eventbridge;
pub mod shared;
pub mod slack;
pub mod sns;
pub mod state;
pub mod webhook;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::canary::Canary;
use crate::canary::alerting::{Alerting, Channel, ChannelKind};
use crate::redact::Redactor;
use crate::run::Run;
use event::{Event, Notice, RunNote};
use shared::SharedBook;
use state::{AlertBook, Transition};

pub use crate::delivery::BoxFuture;

/// What a send could not deliver, and why.
#[derive(Debug, Clone)]
pub struct Undelivered {
    /// The events still to deliver.
    pub events: Vec<Event>,
    /// Why.
    pub why: String,
}

/// A channel: it sends a group of events, all or — where it can tell — some.
pub trait Sender: Send + Sync {
    /// Sends `events` (one group); Err with those not delivered.
    fn send<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), Undelivered>>;

    /// Whether a finished run (not only a change of state) is sent on this channel.
    fn takes_runs(&self, _run: &RunNote) -> bool {
        false
    }
}

/// Why notifications cannot start.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The state folder is unusable.
    #[error("state folder {path}: {1}", path = .0.display())]
    State(PathBuf, std::io::Error),
    /// A channel cannot be set up.
    #[error("channel `{0}`: {1}")]
    Channel(String, String),
    /// The state in S3 cannot be read.
    #[error("state in S3: {0}")]
    SharedState(String),
    /// AWS cannot be reached (SNS, EventBridge, S3).
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
}

/// How notifications behave.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the alert state and the outbox are kept (None: in memory only).
    pub state_dir: Option<StateDir>,
    /// Changes arriving within this window go out as one message per channel.
    pub window: Duration,
    /// Another AWS endpoint (an emulator) for SNS and EventBridge.
    pub endpoint_url: Option<String>,
    /// Secret values to keep out of logs (webhook keys, Slack URLs).
    pub secrets: Vec<String>,
    /// Shown in messages as where canary runs.
    pub host: String,
    /// Where the runner runs (`--location`), told with each change.
    pub location: Option<String>,
    /// Where the counts go as metrics (Prometheus `canary_notifications_total`).
    pub metrics: Option<crate::metrics::Metrics>,
}

/// Where the alert state is kept (`--state-dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateDir {
    /// A folder: the alert state and the channels' outboxes.
    Local(PathBuf),
    /// An S3 bucket and prefix: the alert state only, shared by every runner that names it.
    S3(crate::archive::s3::Location),
}

impl StateDir {
    /// `s3://BUCKET/PREFIX`, or a folder.
    pub fn parse(s: &str) -> Result<StateDir, String> {
        if s.starts_with("s3://") {
            return crate::archive::s3::Location::from_url(s).map(StateDir::S3);
        }
        if s.is_empty() {
            return Err("give a folder or s3://BUCKET/PREFIX".into());
        }
        Ok(StateDir::Local(PathBuf::from(s)))
    }

    /// The folder, when the state is kept in one.
    pub fn local(&self) -> Option<&Path> {
        match self {
            StateDir::Local(dir) => Some(dir),
            StateDir::S3(_) => None,
        }
    }
}

impl std::fmt::Display for StateDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateDir::Local(dir) => write!(f, "{}", dir.display()),
            StateDir::S3(l) => write!(f, "s3://{}/{}", l.bucket, l.prefix),
        }
    }
}

/// Counts of one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events delivered.
    pub sent: u64,
    /// Attempts that failed (each retried).
    pub failed: u64,
    /// Events dropped because the channel's queue was full.
    pub dropped: u64,
}

/// The most events a channel keeps waiting; beyond, the oldest are dropped, counted and logged.
const MAX_QUEUED: usize = 10_000;
/// The most events in one message.
const MAX_GROUP: usize = 500;

enum Msg {
    Event(Event),
    Flush(Instant, oneshot::Sender<Counts>),
}

/// The runner's notifications: alert state, and a delivery task per channel.
pub struct Notifier {
    book: Mutex<AlertBook>,
    /// The alert state in S3, when `--state-dir` names a bucket (then `book` is not used).
    shared: Option<SharedBook>,
    /// The S3 updates under way, waited for at shutdown.
    pending: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// The runtime the S3 updates run on.
    runtime: tokio::runtime::Handle,
    policies: Mutex<HashMap<String, Alerting>>,
    location: Option<String>,
    channels: HashMap<String, (mpsc::UnboundedSender<Msg>, Arc<dyn Sender>)>,
    counts: Arc<Mutex<HashMap<String, Counts>>>,
}

impl Notifier {
    /// Opens the alert state and starts a task per channel (replaying its outbox).
    pub async fn start(channels: &[Channel], s: Settings) -> Result<Notifier, NotifyError> {
        let dir = s.state_dir.as_ref().and_then(StateDir::local);
        let book = AlertBook::open(dir)
            .map_err(|e| NotifyError::State(dir.unwrap_or(Path::new("")).to_path_buf(), e))?;
        let needs_aws = matches!(s.state_dir, Some(StateDir::S3(_)))
            || channels.iter().any(|c| {
                matches!(
                    c.kind,
                    ChannelKind::Sns { .. } | ChannelKind::EventBridge { .. }
                )
            });
        let aws = match needs_aws {
            true => Some(
                crate::aws::config(s.endpoint_url.as_deref(), crate::aws::Patience::Sink).await?,
            ),
            false => None,
        };
        let shared = match (&s.state_dir, &aws) {
            (Some(StateDir::S3(location)), Some(conf)) => {
                let path_style = s.endpoint_url.is_some();
                let book = SharedBook::open(location.clone(), conf, path_style)
                    .await
                    .map_err(NotifyError::SharedState)?;
                Some(book)
            }
            _ => None,
        };
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let redactor = Redactor::new(s.secrets.iter().cloned());
        let mut senders = HashMap::new();
        for c in channels {
            let sender = sender(c, aws.as_ref(), &s.host)
                .map_err(|e| NotifyError::Channel(c.name.clone(), e))?;
            let outbox = dir.map(|d| d.join("outbox").join(format!("{}.json", c.name)));
            let (tx, rx) = mpsc::unbounded_channel();
            let delivery = Delivery {
                name: c.name.clone(),
                sender: sender.clone(),
                window: s.window,
                outbox,
                counts: counts.clone(),
                redactor: redactor.clone(),
                metrics: s.metrics.clone(),
            };
            tokio::spawn(delivery.run(rx));
            senders.insert(c.name.clone(), (tx, sender));
        }
        Ok(Notifier {
            book: Mutex::new(book),
            shared,
            pending: Mutex::new(Vec::new()),
            runtime: tokio::runtime::Handle::current(),
            policies: Mutex::new(HashMap::new()),
            location: s.location.clone(),
            channels: senders,
            counts,
        })
    }

    /// Takes the canaries' policies (at start and on every reload).
    pub fn set_canaries(&self, canaries: &[Canary]) {
        let policies: HashMap<String, Alerting> = canaries
            .iter()
            .filter_map(|c| Some((c.name.clone(), c.alerting.clone()?)))
            .collect();
        if let Ok(mut book) = self.book.lock() {
            let names: Vec<String> = canaries.iter().map(|c| c.name.clone()).collect();
            book.retain(&names);
        }
        if let Ok(mut p) = self.policies.lock() {
            *p = policies;
        }
    }

    /// Takes a finished run: updates its canary's alert state and queues what the channels must
    /// hear (never waits for a delivery).
    pub fn observe(&self, run: &Run) {
        let Some(policy) = self
            .policies
            .lock()
            .ok()
            .and_then(|p| p.get(&run.canary).cloned())
        else {
            return;
        };
        let note = RunNote::of(run);
        for (tx, sender) in self.channels.values() {
            if sender.takes_runs(&note) {
                let _ = tx.send(Msg::Event(Event::Run(Box::new(note.clone()))));
            }
        }
        if let Some(shared) = &self.shared {
            return self.observe_shared(shared.clone(), policy, run);
        }
        let Ok(mut book) = self.book.lock() else {
            return;
        };
        let change = book.observe(&policy, run);
        if let Err(e) = book.save(change.is_some()) {
            tracing::error!(error = %e, "cannot save the alert state");
        }
        if let Some(t) = change {
            let channels = policy.notify.iter().filter_map(|n| self.channels.get(n));
            let notice = Notice::of(&t, run, &policy, self.location.clone());
            tell(channels.map(|(tx, _)| tx), &t, notice);
        }
    }

    /// Updates the run's canary's state in S3 on the runtime the notifier started on (the runs
    /// may come from threads whose runtimes end first), then tells the channels of a change.
    fn observe_shared(&self, shared: SharedBook, policy: Alerting, run: &Run) {
        let run = run.clone();
        let location = self.location.clone();
        let channels: Vec<_> = (policy.notify.iter())
            .filter_map(|name| Some(self.channels.get(name)?.0.clone()))
            .collect();
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        pending.retain(|t| !t.is_finished());
        pending.push(self.runtime.spawn(async move {
            let observed = match (&policy.locations, &location) {
                (Some(q), Some(here)) => shared.observe_at(&policy, &run, here, q).await,
                _ => shared.observe(&policy, &run).await,
            };
            let t = match observed {
                Ok(Some(t)) => t,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(canary = %run.canary, "cannot update the alert state: {e}; this run's part in it is lost");
                    return;
                }
            };
            tell(channels.iter(), &t, Notice::of(&t, &run, &policy, location));
        }));
    }

    /// Saves the state and delivers what waits, trying for at most `within`; what is left stays
    /// in the outbox (when there is a state folder). Returns each channel's counts.
    pub async fn shutdown(&self, within: Duration) -> HashMap<String, Counts> {
        if let Ok(mut book) = self.book.lock()
            && let Err(e) = book.save(true)
        {
            tracing::error!(error = %e, "cannot save the alert state");
        }
        let deadline = Instant::now() + within;
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for task in pending {
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                tracing::error!("the alert state in S3 was not updated by shutdown");
                break;
            }
        }
        let mut out = HashMap::new();
        for (name, (tx, _)) in &self.channels {
            let (reply, got) = oneshot::channel();
            if tx.send(Msg::Flush(deadline, reply)).is_ok()
                && let Ok(c) = got.await
            {
                out.insert(name.clone(), c);
            }
        }
        out
    }

    /// The channels' counts so far.
    pub fn counts(&self) -> HashMap<String, Counts> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// Logs a change of state (or a reminder) and queues its notice for `channels`.
fn tell<'a>(
    channels: impl Iterator<Item = &'a mpsc::UnboundedSender<Msg>>,
    t: &Transition,
    notice: Notice,
) {
    match &t.reminder {
        Some(r) => {
            tracing::warn!(canary = %t.canary, state = t.to.as_str(), lasted = ?r.lasted, failed_runs = r.failed_runs, "alert state goes on: reminder")
        }
        None => {
            tracing::warn!(canary = %t.canary, from = t.from.as_str(), to = t.to.as_str(), "alert state changed")
        }
    }
    for tx in channels {
        let _ = tx.send(Msg::Event(Event::Change(Box::new(notice.clone()))));
    }
}

fn sender(
    c: &Channel,
    aws: Option<&aws_config::SdkConfig>,
    host: &str,
) -> Result<Arc<dyn Sender>, String> {
    let host = host.to_string();
    Ok(match &c.kind {
        ChannelKind::Webhook {
            url,
            secret,
            headers,
        } => Arc::new(webhook::Webhook::new(
            url.clone(),
            secret.clone(),
            headers.clone(),
            host,
        )?),
        ChannelKind::Slack { url } => Arc::new(slack::Slack::new(url.clone(), host)?),
        ChannelKind::Sns { topic } => Arc::new(sns::Sns::new(
            aws.ok_or("no AWS configuration")?,
            topic.clone(),
            host,
        )),
        ChannelKind::EventBridge { bus, source, runs } => Arc::new(eventbridge::EventBridge::new(
            aws.ok_or("no AWS configuration")?,
            bus.clone(),
            source.clone(),
            *runs,
        )),
    })
}

/// An HTTP client for webhooks: the default trust, a 10 s limit, no proxy from the environment.
pub fn http_client() -> Result<reqwest::Client, String> {
    let tls = crate::tls::shared_default()?;
    let (config, _) = tls.connection(&[b"http/1.1"]);
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .user_agent(concat!("canary/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// Sends a prepared POST; a 2xx answer delivers every event, anything else none.
pub async fn post(req: reqwest::RequestBuilder, events: &[Event]) -> Result<(), Undelivered> {
    let fail = |why: String| Undelivered {
        events: events.to_vec(),
        why,
    };
    match req.send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(fail(format!("answered {}", r.status()))),
        Err(e) => Err(fail(e.to_string())),
    }
}

/// One channel's delivery task.
struct Delivery {
    name: String,
    sender: Arc<dyn Sender>,
    window: Duration,
    outbox: Option<PathBuf>,
    counts: Arc<Mutex<HashMap<String, Counts>>>,
    redactor: Redactor,
    metrics: Option<crate::metrics::Metrics>,
}

impl Delivery {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        let mut queue: VecDeque<Event> =
            self.outbox.as_deref().map(load).unwrap_or_default().into();
        let mut failures = 0u32;
        let mut due: Option<Instant> = (!queue.is_empty()).then(Instant::now);
        loop {
            let wait = async {
                match due {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Event(e)) => {
                        self.push(&mut queue, e);
                        due.get_or_insert_with(|| Instant::now() + self.window);
                    }
                    Some(Msg::Flush(deadline, reply)) => {
                        while !queue.is_empty() && Instant::now() < deadline {
                            if !self.send_group(&mut queue).await {
                                tokio::time::sleep(Duration::from_millis(500).min(deadline.saturating_duration_since(Instant::now()))).await;
                            }
                        }
                        self.left_over(&queue);
                        let _ = reply.send(self.counts());
                        return;
                    }
                    None => return,
                },
                () = wait => {
                    if self.send_group(&mut queue).await {
                        failures = 0;
                        due = (!queue.is_empty()).then(Instant::now);
                    } else {
                        failures += 1;
                        due = Some(Instant::now() + crate::delivery::backoff(failures));
                    }
                }
            }
        }
    }

    fn push(&self, queue: &mut VecDeque<Event>, e: Event) {
        queue.push_back(e);
        if queue.len() > MAX_QUEUED {
            queue.pop_front();
            self.count(|c| c.dropped += 1);
            tracing::error!(channel = %self.name, "notification queue full: dropped the oldest");
        }
        self.save(queue);
    }

    /// Sends one group from the front; true when all of it was delivered.
    async fn send_group(&self, queue: &mut VecDeque<Event>) -> bool {
        let n = queue.len().min(MAX_GROUP);
        let group: Vec<Event> = queue.drain(..n).collect();
        match self.sender.send(&group).await {
            Ok(()) => {
                self.count(|c| c.sent += group.len() as u64);
                self.save(queue);
                true
            }
            Err(u) => {
                let delivered = group.len() - u.events.len();
                self.count(|c| {
                    c.sent += delivered as u64;
                    c.failed += 1;
                });
                tracing::warn!(channel = %self.name, waiting = u.events.len() + queue.len(), error = %self.redactor.apply(&u.why), "notification not delivered; will retry");
                for e in u.events.into_iter().rev() {
                    queue.push_front(e);
                }
                self.save(queue);
                false
            }
        }
    }

    fn left_over(&self, queue: &VecDeque<Event>) {
        if queue.is_empty() {
            return;
        }
        match &self.outbox {
            Some(f) => {
                tracing::warn!(channel = %self.name, waiting = queue.len(), outbox = %f.display(), "notifications not delivered by shutdown wait in the outbox for the next start")
            }
            None => {
                tracing::error!(channel = %self.name, lost = queue.len(), "notifications not delivered by shutdown are lost (use --state-dir to keep them)")
            }
        }
    }

    fn count(&self, f: impl FnOnce(&mut Counts)) {
        let Ok(mut all) = self.counts.lock() else {
            return;
        };
        let c = all.entry(self.name.clone()).or_default();
        let before = *c;
        f(c);
        if let Some(m) = &self.metrics {
            for (result, n) in [
                ("sent", c.sent - before.sent),
                ("failed", c.failed - before.failed),
                ("dropped", c.dropped - before.dropped),
            ] {
                if n > 0 {
                    m.notified(&self.name, result, n);
                }
            }
        }
    }

    fn counts(&self) -> Counts {
        self.counts
            .lock()
            .ok()
            .and_then(|c| c.get(&self.name).copied())
            .unwrap_or_default()
    }

    /// Keeps the queue in the outbox file (atomically), or removes the file when it is empty.
    fn save(&self, queue: &VecDeque<Event>) {
        let Some(f) = &self.outbox else { return };
        let r = if queue.is_empty() {
            std::fs::remove_file(f).or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
        } else {
            write_outbox(f, queue)
        };
        if let Err(e) = r {
            tracing::error!(channel = %self.name, file = %f.display(), error = %e, "cannot write the notification outbox");
        }
    }
}

fn write_outbox(f: &Path, queue: &VecDeque<Event>) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(queue).map_err(std::io::Error::other)?;
    crate::delivery::write_atomically(f, &bytes)
}

fn load(f: &Path) -> Vec<Event> {
    match std::fs::read(f) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::error!(file = %f.display(), error = %e, "unreadable notification outbox set aside");
            let _ = crate::delivery::set_aside(f);
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

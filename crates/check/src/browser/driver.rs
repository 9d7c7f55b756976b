//! WebDriver: chromedriver started by canary (once, in its own process group, restarted when it
//! dies) or an existing endpoint such as a Selenium Grid; a fresh browser session per attempt,
//! started ahead of the run when the driver is kept warm.

use std::fmt;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::run::{CheckError, ErrorKind};

/// Where browser sessions come from.
pub struct Driver {
    kind: Kind,
    /// The browser binary chromedriver starts (`/usr/lib/chromium/chromium` when present).
    chromium: Option<PathBuf>,
    /// Chromium's own sandbox: on, off, or None for on unless running as root.
    sandbox: Option<bool>,
    running: Arc<Mutex<Option<Running>>>,
    /// The session started ahead of the next run, when kept warm.
    warm: Warm,
}

/// One browser session started ahead of the run that takes it: the next run starts on a browser
/// that is already up, and still gets a browser (and profile) of its own.
#[derive(Clone, Default)]
struct Warm {
    on: Arc<AtomicBool>,
    spare: Arc<std::sync::Mutex<Option<Spare>>>,
}

/// A session being started, or started, for the next run.
struct Spare {
    viewport: (u32, u32),
    url: String,
    ready: tokio::task::JoinHandle<Result<Client, CheckError>>,
}

enum Kind {
    /// canary starts this chromedriver itself.
    Chromedriver(PathBuf),
    /// An existing WebDriver endpoint.
    Remote(String),
}

/// A chromedriver canary started, with the temporary directory it and its browsers use (their
/// profiles and sockets), which goes with it — also when they are killed rather than closed.
struct Running {
    child: std::process::Child,
    url: String,
    tmp: PathBuf,
}

impl Drop for Running {
    /// Stops chromedriver and every browser it started, and removes their files.
    fn drop(&mut self) {
        kill_group(&mut self.child);
        remove_tmp(&self.tmp);
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Chromedriver(p) => write!(f, "Driver(chromedriver {})", p.display()),
            Kind::Remote(u) => write!(f, "Driver({u})"),
        }
    }
}

/// The browser binary on Debian (`/usr/bin/chromium` is a wrapper script).
pub const DEBIAN_CHROMIUM: &str = "/usr/lib/chromium/chromium";

impl Driver {
    /// canary starts `chromedriver` (a path, or a name found on PATH) when first needed.
    pub fn chromedriver(path: PathBuf, chromium: Option<PathBuf>) -> Driver {
        let chromium =
            chromium.or_else(|| Some(PathBuf::from(DEBIAN_CHROMIUM)).filter(|p| p.exists()));
        Driver {
            kind: Kind::Chromedriver(path),
            chromium,
            sandbox: None,
            running: Arc::default(),
            warm: Warm::default(),
        }
    }

    /// Sessions come from an existing WebDriver endpoint (`http://grid:4444`).
    pub fn remote(url: String) -> Driver {
        Driver {
            kind: Kind::Remote(url),
            chromium: None,
            sandbox: None,
            running: Arc::default(),
            warm: Warm::default(),
        }
    }

    /// Chromium's sandbox on or off (None: on unless canary runs as root, where it cannot work).
    pub fn with_sandbox(mut self, sandbox: Option<bool>) -> Driver {
        self.sandbox = sandbox;
        self
    }

    /// The WebDriver URL: the remote one, or chromedriver's, started (again) if it is not running.
    async fn endpoint(&self) -> Result<String, CheckError> {
        let path = match &self.kind {
            Kind::Remote(url) => return Ok(url.clone()),
            Kind::Chromedriver(path) => path,
        };
        let mut running = self.running.lock().await;
        if let Some(r) = running.as_mut() {
            if matches!(r.child.try_wait(), Ok(None)) {
                return Ok(r.url.clone());
            }
            tracing::warn!("chromedriver has exited; starting it again");
        }
        // A chromedriver that has exited goes with its browsers and files.
        stop_aside(running.take());
        let started = start(path).await?;
        let url = started.url.clone();
        tokio::spawn(watch(self.running.clone(), started.child.id()));
        *running = Some(started);
        Ok(url)
    }

    /// Keeps a session started ahead of the next run (`canary run`, while any canary drives a
    /// browser; chromedriver started by canary only). Off closes the waiting one.
    pub fn keep_warm(&self, on: bool) {
        let on = on && matches!(self.kind, Kind::Chromedriver(_));
        self.warm.on.store(on, Ordering::Relaxed);
        if !on {
            // Dropped, its session is ended (fantoccini closes a session nobody holds).
            drop(self.warm.take());
        }
    }

    /// A new browser session: headless, a clean profile, the given viewport — the one started
    /// ahead when there is one.
    pub async fn session(
        &self,
        viewport: (u32, u32),
        page_load: Duration,
    ) -> Result<Session, CheckError> {
        let (client, url) = match self.warm.claim(viewport, page_load).await {
            Some(ready) => ready,
            None => self.start_session(viewport, page_load).await?,
        };
        let refill = self.warm.on.load(Ordering::Relaxed).then(|| Refill {
            warm: self.warm.clone(),
            url,
            caps: capabilities(self.chromium.as_ref(), self.sandbox, viewport, page_load),
            viewport,
        });
        Ok(Session { client, refill })
    }

    /// A session started now, and the WebDriver URL it came from.
    async fn start_session(
        &self,
        viewport: (u32, u32),
        page_load: Duration,
    ) -> Result<(Client, String), CheckError> {
        let mut url = self.endpoint().await?;
        let caps = capabilities(self.chromium.as_ref(), self.sandbox, viewport, page_load);
        let client = match connect(&url, caps.clone()).await {
            Ok(client) => client,
            // chromedriver died a moment ago (its socket closes before it can be reaped):
            // start it again and try once more.
            Err(_) if self.died(&url).await => {
                url = self.endpoint().await?;
                connect(&url, caps).await?
            }
            Err(e) => return Err(e),
        };
        fit_viewport(&client, viewport).await;
        Ok((client, url))
    }

    /// Whether the chromedriver serving `url` has exited (waiting up to a second for a process
    /// that is going away to be reaped).
    async fn died(&self, url: &str) -> bool {
        let mut running = self.running.lock().await;
        let Some(r) = running.as_mut().filter(|r| r.url == url) else {
            return false;
        };
        for _ in 0..10 {
            if !matches!(r.child.try_wait(), Ok(None)) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Stops chromedriver and every browser it started (its whole process group).
    pub fn shutdown(&self) {
        if let Ok(mut running) = self.running.try_lock() {
            running.take();
        }
    }

    /// The pid of the chromedriver canary started, if it is running (for tests).
    pub async fn chromedriver_pid(&self) -> Option<u32> {
        self.running.lock().await.as_ref().map(|r| r.child.id())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Warm {
    fn take(&self) -> Option<Spare> {
        self.spare.lock().ok()?.take()
    }

    /// The waiting session if it suits (same viewport, still answering), with this run's timeouts
    /// set.
    async fn claim(&self, viewport: (u32, u32), page_load: Duration) -> Option<(Client, String)> {
        let spare = self.take()?;
        if spare.viewport != viewport {
            return None;
        }
        let client = spare.ready.await.ok()?.ok()?;
        let timeouts = TimeoutConfiguration::new(Some(page_load), Some(page_load), None);
        // Also proves that its browser and chromedriver are still there.
        client.update_timeouts(timeouts).await.ok()?;
        Some((client, spare.url))
    }
}

/// What starting the next run's session takes.
struct Refill {
    warm: Warm,
    url: String,
    caps: Map<String, Value>,
    viewport: (u32, u32),
}

impl Refill {
    /// Starts the next session in the background, unless one waits already.
    fn start(self) {
        if !self.warm.on.load(Ordering::Relaxed) {
            return;
        }
        let Ok(mut slot) = self.warm.spare.lock() else {
            return;
        };
        if slot.is_some() {
            return;
        }
        let (url, caps, viewport) = (self.url.clone(), self.caps, self.viewport);
        let ready = tokio::spawn(async move {
            let client = connect(&url, caps).await?;
            fit_viewport(&client, viewport).await;
            Ok(client)
        });
        *slot = Some(Spare {
            viewport,
            url: self.url,
            ready,
        });
    }
}

/// A WebDriver session at `url` with `caps`.
async fn connect(url: &str, caps: Map<String, Value>) -> Result<Client, CheckError> {
    let connected = if url.starts_with("https://") {
        let mut builder = ClientBuilder::rustls()
            .map_err(|e| browser_error(format!("TLS setup for {url}: {e}")))?;
        builder.capabilities(caps).connect(url).await
    } else {
        let http = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut builder = ClientBuilder::new(http);
        builder.capabilities(caps).connect(url).await
    };
    connected.map_err(|e| browser_error(format!("cannot start a browser session at {url}: {e}")))
}

/// Checks every second that chromedriver `pid` still runs; once it has died (killed, crashed),
/// stops the browsers it left in its process group and reaps it, rather than leaving them until
/// the next browser session — which may never come after a reload removed the browser canaries.
async fn watch(running: Arc<Mutex<Option<Running>>>, pid: u32) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut guard = running.lock().await;
        let Some(r) = guard.as_mut().filter(|r| r.child.id() == pid) else {
            return;
        };
        if !matches!(r.child.try_wait(), Ok(None)) {
            tracing::warn!(
                pid,
                "chromedriver has exited; stopping the browsers it left"
            );
            stop_aside(guard.take());
            return;
        }
    }
}

/// Starts chromedriver on a free loopback port in a process group of its own, with a temporary
/// directory of its own (`TMPDIR`, which its browsers inherit).
async fn start(path: &PathBuf) -> Result<Running, CheckError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| browser_error(format!("no free port for chromedriver: {e}")))?
        .port();
    let tmp = std::env::temp_dir().join(format!("canary-browser-{}-{port}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(&tmp)
        .map_err(|e| browser_error(format!("cannot create {}: {e}", tmp.display())))?;
    let spawned = std::process::Command::new(path)
        .arg(format!("--port={port}"))
        .env("TMPDIR", &tmp)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn();
    let child = spawned.map_err(|e| {
        remove_tmp(&tmp);
        browser_error(format!(
                "cannot start {}: {e} (install Chromium and its driver: apt-get install chromium chromium-driver, or pass --chromedriver PATH or --webdriver-url URL)",
            path.display()
        ))
    })?;
    crate::reaper::own(child.id());
    let mut running = Running {
        child,
        url: format!("http://127.0.0.1:{port}"),
        tmp,
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            tracing::info!(pid = running.child.id(), port, "chromedriver started");
            return Ok(running);
        }
        if !matches!(running.child.try_wait(), Ok(None)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(running);
    Err(browser_error(format!(
        "{} did not start listening",
        path.display()
    )))
}

/// Sizes the window so that the page's viewport — not the window — is `w`×`h`.
async fn fit_viewport(client: &Client, (w, h): (u32, u32)) {
    let js =
        "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];";
    let Ok(Value::Array(d)) = client.execute(js, Vec::new()).await else {
        return;
    };
    let extra = |i: usize| d.get(i).and_then(Value::as_u64).unwrap_or(0) as u32;
    if extra(0) > 0 || extra(1) > 0 {
        let _ = client.set_window_size(w + extra(0), h + extra(1)).await;
    }
}

/// Stops what a chromedriver left (its browsers may take a moment to exit) on the blocking pool,
/// not on the thread that runs the other canaries.
fn stop_aside(left: Option<Running>) {
    if let Some(left) = left {
        tokio::task::spawn_blocking(move || drop(left));
    }
}

/// Kills a process and its whole process group (chromedriver and the browsers it started).
fn kill_group(child: &mut std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group `pid`, which
        // `process_group(0)` made for this child; it has no memory-safety preconditions.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    crate::reaper::release(child.id());
    // SIGKILL is sent, not done: a browser process can take a moment to exit, and canary, about
    // to exit itself, must not leave one behind.
    if let Ok(pid) = i32::try_from(child.id())
        && !crate::reaper::wait_group_gone(pid, Duration::from_secs(2))
    {
        tracing::warn!(
            group = pid,
            "browser processes still running 2 s after being killed"
        );
    }
}

/// Removes a stopped chromedriver's temporary directory; a browser process still exiting may
/// write into it a moment longer, so this tries a few times.
fn remove_tmp(tmp: &Path) {
    for _ in 0..10 {
        match std::fs::remove_dir_all(tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => return,
        }
    }
    tracing::warn!(dir = %tmp.display(), "cannot remove the browsers' temporary files");
}

/// The capabilities of a fresh headless Chromium for a container.
fn capabilities(
    chromium: Option<&PathBuf>,
    sandbox: Option<bool>,
    (w, h): (u32, u32),
    page_load: Duration,
) -> Map<String, Value> {
    let mut args = vec![
        "--headless=new".to_string(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-default-apps".into(),
        "--disable-extensions".into(),
        "--no-first-run".into(),
        "--mute-audio".into(),
        format!("--window-size={w},{h}"),
    ];
    // SAFETY: geteuid(2) only reads the process's effective user id.
    let root = unsafe { libc::geteuid() } == 0;
    if !sandbox.unwrap_or(!root) {
        args.push("--no-sandbox".into());
    }
    let mut options = json!({ "args": args });
    if let Some(binary) = chromium {
        options["binary"] = json!(binary);
    }
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": options,
        "goog:loggingPrefs": { "browser": "ALL" },
        "timeouts": { "pageLoad": page_load.as_millis() as u64, "script": page_load.as_millis() as u64, "implicit": 0 },
    });
    caps.as_object().cloned().unwrap_or_default()
}

/// An error of kind `browser`.
pub fn browser_error(message: String) -> CheckError {
    CheckError::new(ErrorKind::Browser, message)
}

/// One browser session.
pub struct Session {
    /// The WebDriver client.
    pub client: Client,
    /// Starts the next run's session once this one is closed (when kept warm).
    refill: Option<Refill>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Session")
    }
}

impl Session {
    /// Ends the session (the browser quits; gives up after 5 s), then starts the next run's
    /// when kept warm — after, so that a run's timings never share the CPU with a starting
    /// browser.
    pub async fn close(self) {
        if tokio::time::timeout(Duration::from_secs(5), self.client.close())
            .await
            .is_err()
        {
            tracing::warn!("closing a browser session timed out");
        }
        if let Some(refill) = self.refill {
            refill.start();
        }
    }
}

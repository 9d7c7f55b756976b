//! Browser canaries in real Chromium through chromedriver, against pages served on 127.0.0.1:
//! every action passing and failing, screenshots that are real PNGs, secrets kept out of
//! reports, a hung page, chromedriver killed and recovered, no processes left behind.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use canary::check::Context;
use canary::check::browser::Driver;
use canary::config::{self, LoadOptions};
use canary::reaper::Stat;
use canary::run::{ErrorKind, Outcome, Run};
use support::server::{Reply, Server};

/// One browser test at a time: two cores, one Chromium.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// This test's turn at the browser (one at a time), or None where Chromium is missing.
async fn turn() -> Option<tokio::sync::MutexGuard<'static, ()>> {
    let guard = SERIAL.lock().await;
    support::browser_available().then_some(guard)
}

const LOGIN: &str = r#"<!doctype html><html><head><title>Shop login</title></head><body>
<form id="f"><input id="email" name="email"><input id="password" type="password">
<select id="plan"><option value="a">Alpha</option><option value="b">Beta</option></select>
<input id="tos" type="checkbox"><button type="submit" data-kind="primary">Sign in</button></form>
<ul><li class="item">one</li><li class="item">two</li><li class="item">three</li></ul>
<p id="hovered">no</p><p id="echo"></p><p id="typed"></p><input id="prefilled" value="old">
<input id="upper"><p id="upkeys">0</p>
<div class="dashboard" style="display:none"><h1>Welcome back</h1></div>
<script>
document.getElementById('hovered').addEventListener('mouseover', e => e.target.textContent = 'yes');
const upper = document.getElementById('upper');
upper.addEventListener('input', () => upper.value = upper.value.toUpperCase());
upper.addEventListener('keydown', () => document.getElementById('upkeys').textContent++);
document.getElementById('email').addEventListener('keydown', e => e.target.dataset.keys = 'pressed');
document.getElementById('email').addEventListener('input', e => document.getElementById('typed').textContent = e.target.value);
document.getElementById('email').addEventListener('keyup', e => { if (e.key === 'Enter') document.getElementById('echo').textContent = 'entered'; });
document.getElementById('f').addEventListener('submit', e => { e.preventDefault();
  const ok = document.getElementById('tos').checked && document.getElementById('plan').value === 'b';
  setTimeout(() => { if (ok) { document.querySelector('.dashboard').style.display = 'block'; history.pushState({}, '', '/dashboard'); } }, 300); });
</script></body></html>"#;

/// Shows what an earlier visit left in the browser (a cookie, local and session storage), then
/// leaves its own.
const REMEMBER: &str = r#"<html><head><title>remember</title></head><body><p id="seen"></p><script>
document.getElementById('seen').textContent = 'cookie=' + document.cookie + ' local=' + localStorage.getItem('k') + ' session=' + sessionStorage.getItem('k');
document.cookie = 'k=1; path=/; max-age=3600'; localStorage.setItem('k', '1'); sessionStorage.setItem('k', '1');
</script></body></html>"#;

/// A spinner that the page removes right after a find has matched it, before the next command
/// can look at it: the reference the find returned is stale at once.
const VANISH: &str = r#"<html><head><title>vanish</title></head><body><p id="spinner">loading</p><script>
for (const proto of [Document.prototype, Element.prototype]) {
  const all = proto.querySelectorAll;
  proto.querySelectorAll = function (s) { const r = all.call(this, s);
    if (s === '#spinner' && r.length) queueMicrotask(() => r[0].remove()); return r; };
}
</script></body></html>"#;

fn site() -> Server {
    Server::http(|req| {
        let html = |body: &str| Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: body.as_bytes().to_vec(),
        };
        match req.path() {
            "/login" => html(LOGIN),
            "/js-error" => html(
                "<html><head><title>Oops</title></head><body><img src='/missing.png'><script>throw new Error('boom from the page')</script></body></html>",
            ),
            "/remember" => html(REMEMBER),
            "/vanish" => html(VANISH),
            "/hang" => html("<html><body>loading<img src='/never'></body></html>"),
            "/never" => Reply::Hang,
            _ => Reply::text(404, "no"),
        }
    })
}

struct Env {
    ctx: Arc<Context>,
    dir: tempfile::TempDir,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context {
        webdriver: Some(Driver::chromedriver("chromedriver".into(), None)),
        artifacts: dir.path().join("artifacts"),
        stop: Default::default(),
    };
    Env {
        ctx: Arc::new(ctx),
        dir,
    }
}

async fn run(env: &Env, yaml: &str, base: &str) -> Run {
    let file = env.dir.path().join(format!("c{}.yaml", rand_suffix()));
    std::fs::write(&file, yaml).unwrap();
    let opts = LoadOptions {
        vars: [("U".to_string(), base.to_string())].into(),
        env: [("PW".to_string(), "s3cret-pass".to_string())].into(),
        ..Default::default()
    };
    let canaries = config::load(&[file], &opts).unwrap_or_else(|e| panic!("{e}"));
    canary::runner::run_canary(&canaries[0], &env.ctx).await
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn browser(steps: &str) -> String {
    format!("name: b\ntimeout: 30s\nbrowser:\n  viewport: 1024x700\n  steps:\n{steps}")
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_flow_passes_with_every_action() {
    let Some(_turn) = turn().await else { return };
    let srv = site();
    let env = env();
    let steps = r##"
    - goto: ${U}/login
    - assert: { title_equals: Shop login }
    - fill: { selector: "#email", value: demo@example.com }
    - assert: { selector: "#typed", text_equals: demo@example.com }
    - eval: "document.getElementById('email').dataset.keys === undefined"   # one insertion, no keys
    - press: Enter
    - assert: { selector: "#echo", text_equals: entered }
    - fill: { selector: "#prefilled", value: new }
    - eval: "document.getElementById('prefilled').value === 'new'"
    - fill: { selector: "#prefilled", value: "" }
    - eval: "document.getElementById('prefilled').value === ''"
    - fill: { selector: "#password", value: "${secret:PW}" }
    # the page rewrites what is inserted at once, so the value is typed key by key instead
    - fill: { selector: "#upper", value: abc }
    - assert: { selector: "#upkeys", text_equals: "3" }
    - eval: "document.getElementById('upper').value === 'ABC'"
    - select: { selector: "#plan", label: Alpha }
    - fill: { selector: "#plan", value: b }
    - check: "#tos"
    - uncheck: "#tos"
    - check: "#tos"
    - hover: "#hovered"
    - assert: { selector: "#hovered", text_equals: "yes" }
    - assert: { selector: li.item, count: 3 }
    - assert: { selector: "button[type=submit]", attribute: data-kind, equals: primary }
    - assert: { selector: .dashboard, visible: false }
    - step:
        name: sign in
        actions:
          - click: "text=Sign in"
          - wait_for: { eval: "document.querySelector('.dashboard').offsetParent.tagName === 'BODY'", timeout: 5s }
          - wait_for: { selector: .dashboard, timeout: 1s }
    - assert: { selector: "xpath=//h1", text_contains: Welcome }
    - wait_for: { url: "/dashboard$" }
    - assert: { url_matches: "/dashboard$" }
    - eval: "document.querySelectorAll('li').length === 3"
    - assert: { no_console_errors: true }
    - screenshot: dashboard
"##;
    let r = run(&env, &browser(steps), &srv.url("")).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:#?}", r.last());
    let steps = &r.last().steps;
    assert!(
        steps.iter().any(|s| s.name == "sign in"),
        "a named step reports as one"
    );
    let goto = &steps[0];
    assert!(
        goto.page
            .is_some_and(|p| p.load >= p.dom_content_loaded && p.ttfb > 0.0),
        "{:?}",
        goto.page
    );
    assert_eq!(goto.status, Some(200));
    let shot = steps
        .iter()
        .flat_map(|s| &s.artifacts)
        .find(|p| p.ends_with("dashboard.png"))
        .expect("the screenshot");
    assert_eq!(png_size(shot), (1024, 700));
    let report = canary::report::json::render(std::slice::from_ref(&r));
    assert!(
        !report.contains("s3cret-pass") && !format!("{r:?}").contains("s3cret-pass"),
        "the typed secret leaked"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_element_removed_while_it_is_looked_at_is_gone() {
    let Some(_turn) = turn().await else { return };
    let srv = site();
    let env = env();
    let steps = "    - goto: ${U}/vanish\n    - wait_for: { selector: \"#spinner\", state: gone, timeout: 2s }\n";
    let r = run(&env, &browser(steps), &srv.url("")).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:#?}", r.last());
}

#[tokio::test(flavor = "multi_thread")]
async fn each_kind_of_step_fails_with_expected_and_actual_and_a_screenshot() {
    let Some(_turn) = turn().await else { return };
    let srv = site();
    let env = env();
    let cases = [
        (
            "- click: '#missing'",
            "an element matching #missing",
            "none",
        ),
        (
            "- fill: { selector: '#nope', value: x }",
            "an element matching #nope",
            "none",
        ),
        (
            "- wait_for: { selector: .dashboard, timeout: 300ms }",
            "to happen",
            "not within 300ms",
        ),
        (
            "- wait_for: { eval: \"window.never === true\", timeout: 200ms }",
            "to happen",
            "not within 200ms",
        ),
        (
            "- wait_for: { text: never there, timeout: 200ms }",
            "to happen",
            "not within 200ms",
        ),
        (
            "- assert: { selector: '#email', attribute: name, equals: mail }",
            "\"mail\"",
            "\"email\"",
        ),
        (
            "- assert: { selector: li.item, count: { gte: 4 } }",
            ">= 4",
            "3",
        ),
        (
            "- assert: { title_contains: Checkout }",
            "containing \"Checkout\"",
            "\"Shop login\"",
        ),
        (
            "- assert: { url_matches: /checkout }",
            "matching //checkout/",
            "",
        ),
        ("- eval: \"1 + 1 === 3\"", "true", "false"),
        (
            "- select: { selector: '#plan', value: z }",
            "an option \"z\"",
            "none",
        ),
    ];
    for (step, expected, actual) in cases {
        let yaml = browser(&format!("    - goto: ${{U}}/login\n    {step}\n"));
        let r = run(&env, &yaml, &srv.url("")).await;
        assert_eq!(r.outcome(), Outcome::Failed, "{step}: {:#?}", r.last());
        let failed = r.last().steps.last().unwrap();
        let a = failed.assertions.last().unwrap();
        assert!(
            !a.passed && a.expected == expected && a.actual.contains(actual),
            "{step}: {a:?}"
        );
        let shot = failed
            .artifacts
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "png"))
            .expect("a failure screenshot");
        assert_eq!(png_size(shot), (1024, 700), "{step}");
        assert!(
            failed
                .artifacts
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == "html")),
            "{step}: the page source"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn console_errors_and_failed_requests_are_recorded_and_asserted() {
    let Some(_turn) = turn().await else { return };
    let srv = site();
    let env = env();
    let r = run(
        &env,
        &browser("    - goto: ${U}/js-error\n    - assert: { no_failed_requests: true }\n"),
        &srv.url(""),
    )
    .await;
    let a = r
        .last()
        .steps
        .last()
        .unwrap()
        .assertions
        .last()
        .unwrap()
        .clone();
    assert!(!a.passed && a.actual.contains("missing.png"), "{a:?}");
    let r = run(
        &env,
        &browser("    - goto: ${U}/js-error\n    - assert: { no_console_errors: true }\n"),
        &srv.url(""),
    )
    .await;
    let a = r
        .last()
        .steps
        .last()
        .unwrap()
        .assertions
        .last()
        .unwrap()
        .clone();
    assert!(
        !a.passed && a.actual.contains("boom from the page"),
        "{a:?}"
    );
    assert!(r.last().steps[0].console.iter().any(|c| c.contains("boom")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_never_finishes_loading_times_out_within_the_limits() {
    let Some(_turn) = turn().await else { return };
    let srv = site();
    let env = env();
    let yaml = "name: hang\ntimeout: 20s\nbrowser:\n  steps:\n    - step: { name: open, timeout: 3s, actions: [ { goto: '${U}/hang' } ] }\n";
    let start = Instant::now();
    let r = run(&env, yaml, &srv.url("")).await;
    let err = r.last().steps[0]
        .error
        .clone()
        .unwrap_or_else(|| panic!("{:#?}", r.last()));
    assert_eq!(err.kind, ErrorKind::Timeout, "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(12),
        "{:?}",
        start.elapsed()
    );
    let r = run(&env, &browser("    - goto: ${U}/login\n"), &srv.url("")).await;
    assert_eq!(
        r.outcome(),
        Outcome::Passed,
        "the next run is fine: {:#?}",
        r.last()
    );
}

/// Every process now, with its /proc/<pid>/stat fields.
fn processes() -> Vec<(u32, Stat)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid as u32, Stat::read(pid)?)))
        .collect()
}

/// Live (not zombie) Chromium and crashpad processes, whoever started them.
fn browser_processes() -> usize {
    processes()
        .iter()
        .filter(|(_, s)| {
            (s.comm.starts_with("chrom") || s.comm.contains("crashpad")) && s.state != 'Z'
        })
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_chromedriver_is_restarted_and_nothing_is_left_behind() {
    let Some(_turn) = turn().await else { return };
    let before = browser_processes();
    let srv = site();
    let env = env();
    let r = run(&env, &browser("    - goto: ${U}/login\n"), &srv.url("")).await;
    assert_eq!(r.outcome(), Outcome::Passed);
    let pid = env
        .ctx
        .webdriver
        .as_ref()
        .unwrap()
        .chromedriver_pid()
        .await
        .expect("chromedriver runs");
    // Kill chromedriver while a step waits for something that never comes: once the page has
    // been asked for (however long the browser took to start), and a moment into the wait.
    let requests = srv.requests.clone();
    let asked = requests.lock().unwrap().len();
    let killer = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while requests.lock().unwrap().len() == asked && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(500));
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let r = run(
        &env,
        &browser("    - goto: ${U}/login\n    - wait_for: { selector: '#never', timeout: 10s }\n"),
        &srv.url(""),
    )
    .await;
    killer.join().unwrap();
    let err = r
        .last()
        .steps
        .last()
        .unwrap()
        .error
        .clone()
        .unwrap_or_else(|| panic!("{:#?}", r.last()));
    assert_eq!(err.kind, ErrorKind::Browser, "{err:?}");
    let r = run(&env, &browser("    - goto: ${U}/login\n"), &srv.url("")).await;
    assert_eq!(r.outcome(), Outcome::Passed, "recovered: {:#?}", r.last());
    assert_ne!(
        env.ctx.webdriver.as_ref().unwrap().chromedriver_pid().await,
        Some(pid)
    );
    drop(env);
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser_processes() > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // At most as many as before: ones still exiting from an earlier test may be gone by now.
    let after = browser_processes();
    assert!(
        after <= before,
        "browser processes left behind: {after}, {before} before"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_leaves_no_browser_processes() {
    let Some(_turn) = turn().await else { return };
    let before = browser_processes();
    let srv = site();
    let dir = support::canary_dir(&[(
        "b.yaml",
        &format!(
            "name: b\nschedule: rate(1 second)\nbrowser:\n  steps:\n    - goto: {}/login\n    - wait_for: {{ selector: '#never', timeout: 20s }}\n",
            srv.url("")
        ),
    )]);
    let (mut cmd, tmp) = canary_with_tmp(dir.path(), &["run", ".", "--grace", "1s"]);
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while srv.received().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the browser never loaded the page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(browser_processes() > before, "a browser runs");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser_processes() > before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // At most as many as before: ones still exiting from an earlier test may be gone by now.
    let after = browser_processes();
    assert!(
        after <= before,
        "browser processes left after SIGTERM: {after}, {before} before"
    );
    assert_eq!(left_in(&tmp), Vec::<String>::new(), "browser files left");
}

/// `canary ARGS --artifacts artifacts` in `dir`, with a temporary directory of its own there
/// (`TMPDIR`, returned to look into afterwards).
fn canary_with_tmp(dir: &Path, args: &[&str]) -> (std::process::Command, PathBuf) {
    let tmp = dir.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut cmd = std::process::Command::new(support::binary());
    cmd.args(args)
        .args(["--artifacts", "artifacts"])
        .current_dir(dir)
        .env("TMPDIR", &tmp);
    (cmd, tmp)
}

/// What is left in a directory.
fn left_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn canary_test_leaves_no_browser_profile_behind() {
    let Some(_turn) = turn().await else { return };
    let srv = site();
    let dir = support::canary_dir(&[(
        "b.yaml",
        &format!(
            "name: b\nbrowser:\n  steps:\n    - goto: {}/login\n",
            srv.url("")
        ),
    )]);
    let (mut cmd, tmp) = canary_with_tmp(dir.path(), &["test", "."]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    // The session is closed in the background after the run; what is left of it when canary
    // exits goes with chromedriver's temporary directory.
    assert_eq!(left_in(&tmp), Vec::<String>::new(), "browser files left");
}

/// The browsers chromedriver `parent` started (their main processes), by pid.
fn browsers_under(parent: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, s)| s.state != 'Z' && s.ppid as u32 == parent)
        .map(|(pid, _)| pid)
        .collect()
}

/// Seconds since boot.
fn uptime() -> f64 {
    let up = std::fs::read_to_string("/proc/uptime").unwrap();
    up.split_whitespace().next().unwrap().parse().unwrap()
}

/// When process `pid` started, in seconds since boot.
fn started(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
    let ticks: f64 = after
        .split_whitespace()
        .nth(19)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.0);
    // SAFETY: sysconf(3) only reads a system setting.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// Waits up to 20 s for `f` to give Some.
/// Runs `yaml` (it must pass) with a browser kept warm; returns chromedriver's pid and the
/// browser that then waits for the next run: the one started after the run ended, not the run's
/// own, which may still be closing.
async fn run_and_spare(env: &Env, yaml: &str, base: &str) -> (u32, u32) {
    let r = run(env, yaml, base).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:#?}", r.last());
    let ended = uptime();
    let driver = env.ctx.webdriver.as_ref().unwrap();
    let chromedriver = driver.chromedriver_pid().await.expect("chromedriver runs");
    let spare = eventually("a browser waits for the next run", || {
        let b = browsers_under(chromedriver);
        (b.len() == 1 && started(b[0]) >= ended).then(|| b[0])
    })
    .await;
    (chromedriver, spare)
}

async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_browser_serves_the_next_run_and_nothing_of_a_run_reaches_the_next() {
    let Some(_turn) = turn().await else { return };
    let srv = site();
    let env = env();
    let driver = env.ctx.webdriver.as_ref().unwrap();
    driver.keep_warm(true);
    let yaml = browser(
        "    - goto: ${U}/remember\n    - assert: { selector: '#seen', text_equals: 'cookie= local=null session=null' }\n",
    );
    // Its session closed (in the background), the run leaves one browser for the next run.
    let (chromedriver, spare) = run_and_spare(&env, &yaml, &srv.url("")).await;
    // The next run starts no browser: it takes the waiting one (the browsers seen while it runs).
    // The cookie and storage the last run left are not there: each run has a browser of its own.
    let mut seen = std::collections::BTreeSet::new();
    let base = srv.url("");
    let next = run(&env, &yaml, &base);
    tokio::pin!(next);
    let r = loop {
        tokio::select! {
            r = &mut next => break r,
            _ = tokio::time::sleep(Duration::from_millis(20)) => seen.extend(browsers_under(chromedriver)),
        }
    };
    assert_eq!(r.outcome(), Outcome::Passed, "{:#?}", r.last());
    let after = eventually("another browser waits", || {
        let b = browsers_under(chromedriver);
        (b.len() == 1 && b[0] != spare).then(|| b[0])
    })
    .await;
    seen.remove(&after);
    assert_eq!(seen, [spare].into(), "browsers seen during the run");
    let r = run(&env, &yaml, &srv.url("")).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:#?}", r.last());
    driver.keep_warm(false);
    eventually("no browser waits once none is needed", || {
        browsers_under(chromedriver).is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiting_browser_of_another_viewport_is_not_used_and_goes() {
    let Some(_turn) = turn().await else { return };
    let srv = site();
    let env = env();
    let driver = env.ctx.webdriver.as_ref().unwrap();
    driver.keep_warm(true);
    let login = browser("    - goto: ${U}/login\n");
    let (chromedriver, spare) = run_and_spare(&env, &login, &srv.url("")).await;
    // The next canary wants another size: it gets a browser of its own size, and the waiting one
    // (1024x700) is closed, not left running beside it.
    let narrow = "name: n\ntimeout: 30s\nbrowser:\n  viewport: 400x300\n  steps:\n    - goto: ${U}/login\n    - eval: \"window.innerWidth === 400 && window.innerHeight === 300\"\n";
    let r = run(&env, narrow, &srv.url("")).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:#?}", r.last());
    eventually("the browser of the other size is gone", || {
        (!browsers_under(chromedriver).contains(&spare)).then_some(())
    })
    .await;
    eventually("one browser waits, for the new size", || {
        (browsers_under(chromedriver).len() == 1).then_some(())
    })
    .await;
    driver.keep_warm(false);
}

/// The pids of `parent`'s children named `comm`.
fn children_named(parent: u32, comm: &str) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, s)| s.state != 'Z' && s.ppid as u32 == parent && s.comm == comm)
        .map(|(pid, _)| pid)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn canary_run_keeps_one_browser_waiting_unless_told_not_to() {
    let Some(_turn) = turn().await else { return };
    let srv = site();
    for warm in ["true", "false"] {
        let dir = support::canary_dir(&[(
            "b.yaml",
            &format!(
                "name: b\nschedule: rate(1 hour)\nbrowser:\n  steps:\n    - goto: {}/login\n",
                srv.url("")
            ),
        )]);
        let mut child = std::process::Command::new(support::binary())
            .args([
                "run",
                ".",
                "--artifacts",
                "artifacts",
                "--browser-warm",
                warm,
            ])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let canary = child.id();
        // The first run happens at start; once it is over, one browser waits (or none). The
        // site is shared by both rounds: this round's run is a request after the last one's.
        let asked = srv.received().len();
        let chromedriver = eventually("chromedriver", || {
            children_named(canary, "chromedriver").first().copied()
        })
        .await;
        eventually("the first run", || {
            (srv.received().len() > asked).then_some(())
        })
        .await;
        let want = usize::from(warm == "true");
        eventually(
            &format!("{want} browser waiting (--browser-warm {warm})"),
            || (browsers_under(chromedriver).len() == want).then_some(()),
        )
        .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            browsers_under(chromedriver).len(),
            want,
            "--browser-warm {warm}"
        );
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &canary.to_string()])
            .status();
        assert_eq!(child.wait().unwrap().code(), Some(0));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn after_shutdown_no_process_of_chromedriver_or_its_browsers_runs() {
    let Some(_turn) = turn().await else { return };
    let srv = site();
    let env = env();
    let driver = env.ctx.webdriver.as_ref().unwrap();
    driver.keep_warm(true);
    // A browser waits for the next run when the driver is shut down, as at SIGTERM.
    let (chromedriver, _spare) =
        run_and_spare(&env, &browser("    - goto: ${U}/login\n"), &srv.url("")).await;
    driver.shutdown();
    let left: Vec<(u32, Stat)> = processes()
        .into_iter()
        .filter(|(_, s)| s.pgrp as u32 == chromedriver && s.state != 'Z')
        .collect();
    assert!(
        left.is_empty(),
        "still running the moment shutdown returns: {left:?}"
    );
}

//! The container image's runtime, without Docker: `canary run` as PID 1 of its own PID namespace,
//! as the image's unprivileged user, in a read-only root with the image's volumes, its settings
//! read from the Dockerfile itself — browser canaries failing in various ways and chromedriver
//! killed twice, then every zombie and browser process counted, then SIGTERM.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use canary::reaper::Stat;
use support::server::{Reply, Server};

/// The `full` stage of the Dockerfile: its ENV, USER, WORKDIR, VOLUMEs, ENTRYPOINT and CMD.
#[derive(Debug, Default)]
struct Image {
    env: Vec<(String, String)>,
    user: String,
    workdir: String,
    volumes: Vec<String>,
    command: Vec<String>,
}

fn image() -> Image {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile"))
        .expect("the Dockerfile");
    let joined = text.replace("\\\n", " ");
    let stage = joined
        .split("\nFROM ")
        .find(|s| {
            s.lines()
                .next()
                .is_some_and(|l| l.trim_end().ends_with("AS full"))
        })
        .expect("a stage `AS full`");
    let mut img = Image::default();
    let (mut entry, mut cmd) = (Vec::new(), Vec::new());
    for line in stage.lines().map(str::trim) {
        let (op, rest) = line.split_once(' ').unwrap_or((line, ""));
        let json = || serde_json::from_str::<Vec<String>>(rest).expect("an exec-form array");
        match op {
            "ENV" => {
                for pair in rest.split_whitespace() {
                    let (k, v) = pair.split_once('=').expect("ENV K=V");
                    img.env.push((k.into(), v.into()));
                }
            }
            "USER" => img.user = rest.into(),
            "WORKDIR" => img.workdir = rest.into(),
            "VOLUME" => img.volumes = json(),
            "ENTRYPOINT" => entry = json(),
            "CMD" => cmd = json(),
            _ => {}
        }
    }
    img.command = entry.into_iter().chain(cmd).collect();
    img
}

/// Whether this machine lets us build the image's runtime (root, PID and mount namespaces).
fn namespaces() -> Result<(), String> {
    // SAFETY: geteuid(2) only reads the process's effective user id.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root".into());
    }
    let out = Command::new("unshare")
        .args(["--mount", "--pid", "--fork", "true"])
        .output()
        .map_err(|e| format!("unshare: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Every process below `pid`, read from /proc.
fn descendants(pid: i32) -> Vec<(i32, Stat)> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let children = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                if let Some(stat) = Stat::read(c) {
                    out.push((c, stat));
                    todo.push(c);
                }
            }
        }
    }
    out
}

fn child_of(pid: i32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn site() -> Server {
    Server::http(|req| match req.path() {
        "/hang" => Reply::Hang,
        _ => Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<!doctype html><title>t</title><h1>Hello</h1>".to_vec(),
        },
    })
}

fn write_canaries(dir: &Path, base: &str, browsers: bool) {
    for f in std::fs::read_dir(dir).unwrap().flatten() {
        std::fs::remove_file(f.path()).unwrap();
    }
    let mut files = vec![(
        "http-ok.yaml",
        format!(
            "name: http-ok\nschedule: rate(3 seconds)\nhttp: {{ url: \"{base}/\", assert: [ {{ status: 200 }} ] }}\n"
        ),
    )];
    if browsers {
        let browser = |name: &str, timeout: &str, steps: &str| {
            format!(
                "name: {name}\nschedule: rate(3 seconds)\ntimeout: {timeout}\nbrowser:\n  steps:\n{steps}"
            )
        };
        files.push(("b-fails.yaml", browser("b-fails", "20s", &format!("    - goto: {base}/page\n    - assert: {{ selector: h1, text_equals: Goodbye }}\n"))));
        files.push((
            "b-hangs.yaml",
            browser("b-hangs", "3s", &format!("    - goto: {base}/hang\n")),
        ));
        files.push(("b-throws.yaml", browser("b-throws", "20s", &format!("    - goto: {base}/page\n    - eval: \"(() => {{ throw new Error('boom') }})()\"\n"))));
    }
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// CloudWatch metrics to an endpoint that is down: every batch goes to the image's spool.
const DEAD_CLOUDWATCH: [(&str, &str); 5] = [
    ("CANARY_METRICS", "cloudwatch"),
    ("CANARY_ENDPOINT_URL", "http://127.0.0.1:9"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
];

struct Runtime {
    child: Child,
    log: PathBuf,
    /// The pid (seen from here) of `canary run`.
    canary: i32,
}

/// Whatever happens to the test, canary (and with it its namespace) does not outlive it.
impl Drop for Runtime {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // SAFETY: kill(2) on the processes this test started.
            unsafe {
                libc::kill(self.canary, libc::SIGKILL);
                libc::kill(self.child.id() as i32, libc::SIGKILL);
            }
            let _ = self.child.wait();
        }
    }
}

impl Runtime {
    fn runs(&self, canary: &str) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter(|l| {
                l.contains("\"message\":\"run\"") && l.contains(&format!("\"canary\":\"{canary}\""))
            })
            .count()
    }

    fn wait_runs(&self, canary: &str, n: usize, within: Duration) {
        let until = Instant::now() + within;
        while self.runs(canary) < n {
            assert!(
                Instant::now() < until,
                "{canary}: fewer than {n} runs in {within:?}:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills the running chromedriver (waiting up to 30 s for one); false if none came.
    fn kill_chromedriver(&self) -> bool {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            let driver = descendants(self.canary)
                .into_iter()
                .find(|(_, s)| s.comm == "chromedriver" && s.state != 'Z');
            if let Some((pid, _)) = driver {
                // SAFETY: kill(2) on a process this test's canary started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

fn start(img: &Image, dirs: &Dirs, pid1: bool) -> Runtime {
    let binary = support::binary();
    let log = dirs.root.join("canary.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut cmd = if pid1 {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/rootfs.sh");
        let mut c = Command::new("unshare");
        c.args(["--mount", "--pid", "--fork"])
            .arg(script)
            .arg(dirs.root.join("root"))
            .arg(&binary);
        c.args([&dirs.canaries, &dirs.state, &dirs.artifacts]);
        c.arg(&img.user).arg(&img.workdir).arg("--");
        c.arg("PATH=/usr/local/bin:/usr/bin:/bin");
        c.args(img.env.iter().map(|(k, v)| format!("{k}={v}")));
        c.args(DEAD_CLOUDWATCH.iter().map(|(k, v)| format!("{k}={v}")));
        c.arg("--").args(&img.command);
        c
    } else {
        let mut c = Command::new(&binary);
        c.args(["run".as_ref(), dirs.canaries.as_os_str()]);
        c.envs(img.env.iter().map(|(k, v)| (k, v)));
        c.env("CANARY_HEARTBEAT", dirs.state.join("heartbeat"));
        c.env("CANARY_ARTIFACTS", &dirs.artifacts);
        c.env("CANARY_SPOOL", dirs.state.join("spool"));
        c.envs(DEAD_CLOUDWATCH.iter().copied());
        c
    };
    let child = cmd
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .expect("start canary");
    let launcher = child.id() as i32;
    let canary = if pid1 {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(c) =
                child_of(launcher).filter(|c| Stat::read(*c).is_some_and(|s| s.comm == "canary"))
            {
                break c;
            }
            assert!(
                Instant::now() < until,
                "canary did not start in its namespace"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    } else {
        launcher
    };
    Runtime { child, log, canary }
}

struct Dirs {
    root: PathBuf,
    canaries: PathBuf,
    state: PathBuf,
    artifacts: PathBuf,
    _tmp: tempfile::TempDir,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let d = |n: &str| {
        let p = root.join(n);
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    let (canaries, state, artifacts) = (d("canaries"), d("state"), d("artifacts"));
    d("root");
    for p in [&state, &artifacts] {
        // SAFETY: chown(2) of a folder this test made; the path is a valid C string.
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        unsafe { libc::chown(c.as_ptr(), 65532, 65532) };
    }
    Dirs {
        root,
        canaries,
        state,
        artifacts,
        _tmp: tmp,
    }
}

#[test]
fn canary_as_pid1_of_the_image_leaves_no_zombie_and_no_browser_behind() {
    if !support::browser_available() {
        return;
    }
    let img = image();
    assert_eq!(img.command, ["canary", "run", "/canaries"]);
    assert!(
        img.volumes.contains(&"/state".to_string())
            && img.volumes.contains(&"/artifacts".to_string())
    );
    let pid1 = match namespaces() {
        Ok(()) => true,
        Err(why) => {
            eprintln!(
                "\n*** PID namespaces are refused here ({why}): testing canary as a child subreaper instead \
                 (the same orphan reparenting as PID 1), without the image's user and read-only root ***\n"
            );
            false
        }
    };
    let srv = site();
    let dirs = dirs();
    write_canaries(&dirs.canaries, &srv.url(""), true);
    let mut rt = start(&img, &dirs, pid1);
    if pid1 {
        let stat = std::fs::read_to_string(format!("/proc/{}/status", rt.canary)).unwrap();
        let ns_pid = stat.lines().find(|l| l.starts_with("NSpid:")).unwrap();
        assert!(
            ns_pid.trim_end().ends_with("\t1"),
            "canary is PID 1 in its namespace: {ns_pid}"
        );
        assert!(
            stat.lines()
                .any(|l| l.starts_with("Uid:") && l.contains("65532")),
            "{stat}"
        );
    }
    rt.wait_runs("b-fails", 2, Duration::from_secs(90));
    assert!(rt.kill_chromedriver(), "chromedriver was running");
    rt.wait_runs("b-throws", 4, Duration::from_secs(90));
    assert!(rt.kill_chromedriver(), "chromedriver was started again");
    rt.wait_runs("b-fails", 5, Duration::from_secs(90));
    rt.wait_runs("b-hangs", 3, Duration::from_secs(90));

    // Drop the browser canaries (a reload from the file change); when their last runs are done,
    // only chromedriver may be left below canary: no Chromium, no zombie.
    write_canaries(&dirs.canaries, &srv.url(""), false);
    let until = Instant::now() + Duration::from_secs(60);
    let left = loop {
        let below = descendants(rt.canary);
        let clean = below
            .iter()
            .all(|(_, s)| s.comm == "chromedriver" && s.state != 'Z');
        if clean || Instant::now() > until {
            break below;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let runs: usize = ["b-fails", "b-hangs", "b-throws"]
        .iter()
        .map(|c| rt.runs(c))
        .sum();
    eprintln!("browser runs: {runs}; left below canary: {left:?}");
    assert!(
        left.iter()
            .all(|(_, s)| s.comm == "chromedriver" && s.state != 'Z'),
        "{left:?}"
    );

    // The image's health check, and what the runs wrote: only into the volumes.
    let health = Command::new(support::binary())
        .args(["health", "--heartbeat"])
        .arg(dirs.state.join("heartbeat"))
        .output()
        .unwrap();
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stderr)
    );
    let shots: Vec<PathBuf> = walk(&dirs.artifacts);
    assert!(
        shots.iter().any(|p| p.to_string_lossy().contains("b-fails")
            && p.extension().is_some_and(|e| e == "png")),
        "{shots:?}"
    );
    let log = std::fs::read_to_string(&rt.log).unwrap();
    assert!(
        !log.contains("Read-only file system") && !log.contains("cannot save"),
        "{log}"
    );

    // SIGTERM: a clean exit, and nothing of it left running.
    // SAFETY: kill(2) on the process this test started.
    unsafe { libc::kill(rt.canary, libc::SIGTERM) };
    let status = wait(&mut rt.child, Duration::from_secs(40));
    assert!(status.success(), "exit after SIGTERM: {status:?}\n{log}");
    for (pid, s) in left {
        assert!(
            Stat::read(pid).is_none_or(|now| now.comm != s.comm),
            "{} ({pid}) outlived canary",
            s.comm
        );
    }
    // The metrics that could not be sent wait in the image's spool, on its volume.
    let spooled = walk(&dirs.state.join("spool"));
    assert!(
        spooled
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "json")),
        "{spooled:?}"
    );
}

fn wait(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let until = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("canary did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A child that just exited is its parent's to wait for (the AWS SDK waits for its credential
/// process itself): the reaper leaves it for a second.
#[test]
fn the_reaper_leaves_a_just_exited_child_to_its_parent() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id() as i32;
    let until = Instant::now() + Duration::from_secs(5);
    while Stat::read(pid).is_some_and(|s| s.state != 'Z') {
        assert!(Instant::now() < until, "`true` did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
    canary::reaper::reap_orphans(Duration::from_secs(1));
    assert!(
        child.wait().unwrap().success(),
        "the parent could not wait for its child"
    );
}

//! Reaping orphans: as PID 1 of a container — or any `canary run`, which makes itself a child
//! subreaper — canary becomes the parent of every process whose own parent died (a Chromium
//! whose chromedriver crashed, Chromium's crash handler), and waits for each so no zombie
//! accumulates. The children canary started itself (chromedriver) are waited for where they
//! were started, and left alone here; so is, for a second, any other child that just exited (a
//! credential process the AWS SDK started and is about to wait for itself).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The children canary started and waits for itself. Process-wide, as the parent relation is.
static OWN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// The zombie children seen so far, and when each was first seen.
static ZOMBIES: Mutex<Option<HashMap<i32, Instant>>> = Mutex::new(None);

/// How long a zombie child is left to a parent that may wait for it itself before the reaper
/// takes it: an owner waits for its child at once; nobody waits for an orphan.
const PATIENCE: Duration = Duration::from_secs(1);

/// Leaves `pid` (a child canary started and will wait for) to its owner.
pub fn own(pid: u32) {
    if let Ok(mut own) = OWN.lock() {
        own.push(pid);
    }
}

/// `pid` has been waited for by its owner.
pub fn release(pid: u32) {
    if let Ok(mut own) = OWN.lock() {
        own.retain(|p| *p != pid);
    }
}

/// Kills the children canary started, each with its process group (chromedriver and its
/// browsers): for an exit that cannot wait for them (a second SIGTERM).
pub fn kill_own() {
    let own = OWN.lock().map(|o| o.clone()).unwrap_or_default();
    for pid in own {
        // SAFETY: kill(2) of the process group this child was started in (`process_group(0)`);
        // no memory is touched.
        unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
    }
}

/// Makes canary the reaper of its orphaned descendants and reaps them from now on: on every
/// SIGCHLD and every second.
pub fn start() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) only sets a flag on the calling process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    let Ok(mut sigchld) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())
    else {
        tracing::warn!("cannot watch SIGCHLD; orphans are reaped every second");
        tokio::spawn(sweep_forever());
        return;
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = sigchld.recv() => {}
                _ = tick.tick() => {}
            }
            reap_orphans(PATIENCE);
        }
    });
}

async fn sweep_forever() {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        reap_orphans(PATIENCE);
    }
}

/// Waits for every zombie child that canary did not start itself and that has been a zombie
/// for `patience`; returns how many it reaped.
pub fn reap_orphans(patience: Duration) -> usize {
    // The common case, and a cheap one: no child has exited, so there is no need to read the
    // stat of every process on the machine.
    if !any_child_exited() {
        return 0;
    }
    let me = std::process::id();
    let own = OWN.lock().map(|o| o.clone()).unwrap_or_default();
    let mut seen = ZOMBIES.lock().unwrap_or_else(|p| p.into_inner());
    let first_seen = seen.get_or_insert_with(HashMap::new);
    let now = Instant::now();
    let mut zombies = HashMap::new();
    let mut reaped = 0;
    for (pid, stat) in processes() {
        let owned = own.iter().any(|o| i64::from(*o) == i64::from(pid));
        if stat.ppid != me as i32 || stat.state != 'Z' || owned {
            continue;
        }
        let since = first_seen.get(&pid).copied().unwrap_or(now);
        if now.duration_since(since) < patience {
            zombies.insert(pid, since);
            continue;
        }
        // SAFETY: waitpid on a zombie child of this process, without blocking; the status
        // pointer may be null.
        let done = unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        reaped += usize::from(done == pid);
    }
    *first_seen = zombies;
    reaped
}

/// Whether a child of canary's has exited and waits to be reaped (it is left unreaped). Off
/// Linux: always, so that the caller looks.
fn any_child_exited() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: an all-zero siginfo_t is valid; waitid with WNOWAIT|WNOHANG reaps nothing
        // and only writes the first exited child's details into `info`.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        let r = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, flags) };
        // SAFETY: waitid filled `info` for a child event (si_pid stays 0 when none has one).
        r == 0 && unsafe { info.si_pid() } != 0
    }
    #[cfg(not(target_os = "linux"))]
    true
}

/// Waits up to `limit` until no process of group `pgid` is left, reaping those that became
/// canary's children (zombies of another parent are that parent's to reap); false on timeout.
pub fn wait_group_gone(pgid: i32, limit: Duration) -> bool {
    let until = std::time::Instant::now() + limit;
    loop {
        reap_orphans(Duration::ZERO);
        if !group_left(pgid) {
            return true;
        }
        if std::time::Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process of group `pgid` still runs, or is a zombie canary must reap.
fn group_left(pgid: i32) -> bool {
    let me = std::process::id() as i32;
    processes().any(|(_, s)| s.pgrp == pgid && (s.state != 'Z' || s.ppid == me))
}

/// Every process in `/proc` now, with its stat line (none when `/proc` cannot be read).
fn processes() -> impl Iterator<Item = (i32, Stat)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, Stat::read(pid)?)))
}

/// The fields of `/proc/<pid>/stat` the reaper needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The command name.
    pub comm: String,
    /// `R`, `S`, `Z`, …
    pub state: char,
    /// The parent's pid.
    pub ppid: i32,
    /// The process group.
    pub pgrp: i32,
}

impl Stat {
    /// Reads `/proc/<pid>/stat`.
    pub fn read(pid: i32) -> Option<Stat> {
        Stat::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    /// Parses `pid (comm) state ppid pgrp …`; the name may hold spaces and parentheses.
    pub fn parse(text: &str) -> Option<Stat> {
        let open = text.find('(')?;
        let close = text.rfind(')')?;
        let comm = text.get(open + 1..close)?.to_string();
        let mut rest = text.get(close + 1..)?.split_whitespace();
        let state = rest.next()?.chars().next()?;
        let ppid = rest.next()?.parse().ok()?;
        let pgrp = rest.next()?.parse().ok()?;
        Some(Stat {
            comm,
            state,
            ppid,
            pgrp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exited_child_is_seen_and_left_to_be_reaped() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Until it has exited, waiting for nothing; then seen, however many times asked.
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while !exited_unreaped(pid) && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(exited_unreaped(pid), "the child is a zombie");
        assert!(any_child_exited());
        assert!(any_child_exited(), "looking reaps nothing");
        assert!(child.wait().unwrap().success());
        // No other test in this binary starts a process: with this one reaped, none is left.
        assert!(
            !any_child_exited(),
            "no exited child is left once it is reaped"
        );
    }

    /// Whether `pid` is a zombie (exited, not reaped).
    fn exited_unreaped(pid: i32) -> bool {
        Stat::read(pid).is_some_and(|s| s.state == 'Z')
    }

    #[test]
    fn parses_stat_lines_with_odd_names() {
        let s = Stat::parse("4242 (chrome (x) y) Z 1 4200 4200 0 -1").unwrap();
        assert_eq!(
            s,
            Stat {
                comm: "chrome (x) y".into(),
                state: 'Z',
                ppid: 1,
                pgrp: 4200
            }
        );
    }
}

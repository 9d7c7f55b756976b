//! Stopping a one-shot run (`canary test`, `canary run --once`) on SIGTERM or SIGINT: no canary
//! starts after the signal, a run still going a grace period later is cut off, and every
//! canary is still recorded and every sink flushed.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// Whether runs were asked to stop, and how long runs under way may then finish. The default
/// is never asked.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    asked: Option<watch::Receiver<Option<&'static str>>>,
    grace: Duration,
}

impl Stop {
    /// A stop asked for by the first SIGTERM or SIGINT; a second one exits at once with 130,
    /// killing chromedriver and its browsers first.
    /// The signals are listened for on `rt`.
    pub fn on_signals(rt: &tokio::runtime::Handle, grace: Duration) -> std::io::Result<Stop> {
        let _on_rt = rt.enter();
        let (mut term, mut int) = (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        );
        let (tx, rx) = watch::channel(None);
        rt.spawn(async move {
            let mut asked = false;
            loop {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                if asked {
                    tracing::warn!("second signal ({name}): exiting now");
                    crate::reaper::kill_own();
                    std::process::exit(130);
                }
                asked = true;
                tracing::warn!(
                    grace_s = grace.as_secs_f64(),
                    "{name}: stopping; no canary starts now, runs under way may finish within the grace period"
                );
                let _ = tx.send(Some(name));
            }
        });
        Ok(Stop {
            asked: Some(rx),
            grace,
        })
    }

    /// The signal that asked to stop, if one did.
    pub fn asked(&self) -> Option<&'static str> {
        self.asked.as_ref().and_then(|rx| *rx.borrow())
    }

    /// How long runs under way may go on after the stop was asked.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Resolves when the runs still under way are to be cut off: the grace period after the
    /// stop was asked. Never, when it is never asked.
    pub async fn cut_off(&self) {
        let Some(mut rx) = self.asked.clone() else {
            return std::future::pending().await;
        };
        if rx.wait_for(Option::is_some).await.is_err() {
            return std::future::pending().await;
        }
        tokio::time::sleep(self.grace).await;
    }
}

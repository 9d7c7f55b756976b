//! EventBridge: CloudWatch Synthetics' own events — `Synthetics Canary TestRun Successful`,
//! `Synthetics Canary TestRun Failure` for runs and `Synthetics Canary Status Change` for changes
//! of alert state — with their detail fields, so existing rules carry over (with this `source`).

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::{Value, json};

use super::event::{Event, Notice, RunNote};
use super::{BoxFuture, Sender, Undelivered};
use crate::canary::alerting::RunEvents;

/// PutEvents takes at most this many entries a call.
const BATCH: usize = 10;

/// An EventBridge channel.
pub struct EventBridge {
    client: Client,
    bus: String,
    source: String,
    runs: RunEvents,
}

impl EventBridge {
    /// Puts events on `bus` with `source`.
    pub fn new(
        conf: &aws_config::SdkConfig,
        bus: String,
        source: String,
        runs: RunEvents,
    ) -> EventBridge {
        EventBridge {
            client: Client::new(conf),
            bus,
            source,
            runs,
        }
    }
}

/// A stable id for a canary (the Synthetics events carry one): its name's FNV-1a hash.
fn canary_id(name: &str) -> String {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{h:016x}")
}

/// The detail-type and detail of an event.
pub fn detail(e: &Event) -> (&'static str, Value) {
    match e {
        Event::Run(r) => run_detail(r),
        Event::Change(n) => change_detail(n),
    }
}

fn run_detail(r: &RunNote) -> (&'static str, Value) {
    let failed = r.failed();
    let kind = if failed {
        "Synthetics Canary TestRun Failure"
    } else {
        "Synthetics Canary TestRun Successful"
    };
    let detail = json!({
        "canary-id": canary_id(&r.canary),
        "canary-name": r.canary,
        "canary-run-id": r.id,
        "artifact-location": r.file,
        "test-run-status": if failed { "FAILED" } else { "PASSED" },
        "state-reason": r.reason.clone().unwrap_or_else(|| "null".into()),
        "canary-run-timeline": { "started": r.started, "completed": r.completed },
        "message": "Test run result is generated successfully",
        "outcome": r.outcome,
    });
    (kind, detail)
}

fn change_detail(n: &Notice) -> (&'static str, Value) {
    let message = match &n.reminder {
        Some(r) => format!(
            "Canary alert state is still {} after {} (a reminder)",
            n.state.as_str(),
            r.lasted
        ),
        None => format!(
            "Canary alert state changed from {} to {}",
            n.previous_state.as_str(),
            n.state.as_str()
        ),
    };
    let detail = json!({
        "canary-id": canary_id(&n.canary),
        "canary-name": n.canary,
        "current-state": n.state.as_str(),
        "previous-state": n.previous_state.as_str(),
        "source-location": n.run.file,
        "updated-on": n.run.completed,
        "changed-config": {},
        "message": message,
        "state-reason": n.reason,
    });
    ("Synthetics Canary Status Change", detail)
}

impl EventBridge {
    /// Whether a run becomes a TestRun event on this channel.
    pub fn wants(&self, run: &RunNote) -> bool {
        match self.runs {
            RunEvents::All => true,
            RunEvents::Failures => run.failed(),
            RunEvents::None => false,
        }
    }

    fn entry(&self, e: &Event) -> PutEventsRequestEntry {
        let (kind, detail) = detail(e);
        let at = match e {
            Event::Run(r) => r.completed,
            Event::Change(n) => n.run.completed,
        };
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(&self.source)
            .detail_type(kind)
            .detail(detail.to_string())
            .time(DateTime::from_secs_f64(at))
            .build()
    }
}

impl Sender for EventBridge {
    fn takes_runs(&self, run: &RunNote) -> bool {
        self.wants(run)
    }

    fn send<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), Undelivered>> {
        Box::pin(async move {
            let mut left = Vec::new();
            let mut why = String::new();
            for batch in events.chunks(BATCH) {
                let entries = batch.iter().map(|e| self.entry(e)).collect();
                match self
                    .client
                    .put_events()
                    .set_entries(Some(entries))
                    .send()
                    .await
                {
                    Ok(out) if out.failed_entry_count() == 0 => {}
                    Ok(out) => {
                        for (e, r) in batch.iter().zip(out.entries()) {
                            if r.error_code().is_some() {
                                why = r.error_message().unwrap_or_default().to_string();
                                left.push(e.clone());
                            }
                        }
                    }
                    Err(e) => {
                        why = DisplayErrorContext(&e).to_string();
                        left.extend(batch.iter().cloned());
                    }
                }
            }
            if left.is_empty() {
                Ok(())
            } else {
                Err(Undelivered { events: left, why })
            }
        })
    }
}

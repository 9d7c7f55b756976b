//! CloudWatch Logs as a destination: each spooled batch of records becomes `PutLogEvents` calls
//! to one stream per runner, in time order, within the service's limits (10,000 events and 1 MB
//! a call, 256 KB an event — a larger record is truncated with a marker, never dropped). The
//! group (with its retention) and the stream are created when missing.

use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::DisplayErrorContext;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

use super::spool::Entry;
use super::upload::{BoxFuture, Destination};

/// Bytes CloudWatch Logs counts for each event besides its message.
const OVERHEAD: usize = 26;
/// The most bytes a call may carry (messages plus overhead).
const MAX_BATCH_BYTES: usize = 1_048_576;
/// The most events a call may carry.
const MAX_BATCH_EVENTS: usize = 10_000;
/// The most bytes one event may have (message plus overhead).
const MAX_EVENT_BYTES: usize = 262_144;

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Where in CloudWatch Logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The log group.
    pub name: String,
    /// The log stream (one per runner).
    pub stream: String,
    /// The group's retention, set when given.
    pub retention_days: Option<i32>,
}

/// CloudWatch Logs as the uploader's destination.
pub struct LogsDest {
    client: Client,
    group: Group,
    ready: AtomicBool,
}

impl LogsDest {
    /// Sends to `group` with `client`.
    pub fn new(client: Client, group: Group) -> LogsDest {
        LogsDest {
            client,
            group,
            ready: AtomicBool::new(false),
        }
    }

    /// Creates the group (with its retention) and the stream when missing; once per process.
    async fn ensure(&self) -> Result<(), String> {
        if self.ready.load(Ordering::Relaxed) {
            return Ok(());
        }
        let g = &self.group;
        let made = self
            .client
            .create_log_group()
            .log_group_name(&g.name)
            .send()
            .await;
        if let Err(e) = made
            && !e
                .as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception())
        {
            return Err(format!("{}", DisplayErrorContext(e)));
        }
        if let Some(days) = g.retention_days {
            let put = self.client.put_retention_policy().log_group_name(&g.name);
            put.retention_in_days(days)
                .send()
                .await
                .map_err(|e| format!("{}", DisplayErrorContext(e)))?;
        }
        let stream = self.client.create_log_stream().log_group_name(&g.name);
        let made = stream.log_stream_name(&g.stream).send().await;
        if let Err(e) = made
            && !e
                .as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception())
        {
            return Err(format!("{}", DisplayErrorContext(e)));
        }
        self.ready.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn put(&self, events: Vec<InputLogEvent>) -> Result<(), String> {
        let out = self
            .client
            .put_log_events()
            .log_group_name(&self.group.name)
            .log_stream_name(&self.group.stream)
            .set_log_events(Some(events))
            .send()
            .await
            .map_err(|e| format!("{}", DisplayErrorContext(e)))?;
        if let Some(r) = out.rejected_log_events_info() {
            tracing::warn!(
                too_old_before = r.too_old_log_event_end_index(),
                too_new_from = r.too_new_log_event_start_index(),
                expired_before = r.expired_log_event_end_index(),
                "CloudWatch Logs rejected events outside its time window"
            );
        }
        Ok(())
    }
}

impl Destination for LogsDest {
    fn send<'a>(&'a self, entry: &'a Entry) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.ensure().await?;
            let text = std::fs::read_to_string(entry.body()).map_err(|e| e.to_string())?;
            for batch in batches(events(&text)) {
                self.put(batch).await?;
            }
            Ok(())
        })
    }
}

/// The records of a spooled batch as events, in time order.
fn events(text: &str) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| (timestamp(l), truncate(l)))
        .collect();
    out.sort_by_key(|(t, _)| *t);
    out
}

/// The record's time (`started_at`, or `at` for audit events) in ms; now when it has none.
fn timestamp(line: &str) -> i64 {
    #[derive(serde::Deserialize)]
    struct Stamp<'a> {
        started_at: Option<&'a str>,
        at: Option<&'a str>,
    }
    serde_json::from_str::<Stamp>(line)
        .ok()
        .and_then(|s| s.started_at.or(s.at))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(
            || chrono::Utc::now().timestamp_millis(),
            |t| t.timestamp_millis(),
        )
}

/// The line, cut to fit one event with a marker saying how much was cut.
fn truncate(line: &str) -> String {
    let room = MAX_EVENT_BYTES - OVERHEAD;
    if line.len() <= room {
        return line.to_string();
    }
    let marker = format!("…[truncated {} bytes]", line.len());
    let mut cut = room - marker.len() - 16;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{marker}", &line[..cut])
}

/// Events grouped into calls within the limits (each call spanning under 24 hours).
fn batches(events: Vec<(i64, String)>) -> Vec<Vec<InputLogEvent>> {
    let mut out: Vec<Vec<InputLogEvent>> = Vec::new();
    let (mut bytes, mut first) = (0, 0);
    for (t, message) in events {
        let size = message.len() + OVERHEAD;
        let full = out.last().is_none_or(|b| {
            b.len() == MAX_BATCH_EVENTS
                || bytes + size > MAX_BATCH_BYTES
                || t - first >= 24 * 3600 * 1000
        });
        if full {
            out.push(Vec::new());
            (bytes, first) = (0, t);
        }
        bytes += size;
        let event = InputLogEvent::builder()
            .timestamp(t)
            .message(message)
            .build();
        out.last_mut()
            .expect("pushed above")
            .push(event.expect("timestamp and message are set"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_limits_and_time_order() {
        let line = |t: i64| {
            format!(
                "{{\"at\":\"{}\"}}",
                chrono::DateTime::from_timestamp_millis(t)
                    .unwrap()
                    .to_rfc3339()
            )
        };
        let mut text: Vec<String> = (0..25_000)
            .rev()
            .map(|i| line(1_700_000_000_000 + i))
            .collect();
        text.push("x".repeat(400_000));
        let events = events(&text.join("\n"));
        assert!(events.windows(2).all(|w| w[0].0 <= w[1].0));
        let calls = batches(events);
        assert!(calls.iter().all(|c| c.len() <= MAX_BATCH_EVENTS));
        for c in &calls {
            let bytes: usize = c.iter().map(|e| e.message().len() + OVERHEAD).sum();
            assert!(bytes <= MAX_BATCH_BYTES, "{bytes}");
        }
        assert_eq!(calls.iter().map(Vec::len).sum::<usize>(), 25_001);
        let long = calls
            .iter()
            .flatten()
            .find(|e| e.message().starts_with("xxx"))
            .unwrap();
        assert!(long.message().len() + OVERHEAD <= MAX_EVENT_BYTES);
        assert!(long.message().ends_with("…[truncated 400000 bytes]"));
    }
}

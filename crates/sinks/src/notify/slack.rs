//! Slack incoming webhooks: one message per group of changes — a header, a section per canary
//! with the failing step and expected vs actual, and a line of context.

use serde_json::{Value, json};
use url::Url;

use super::event::{Event, Notice};
use super::state::AlertState;
use super::{BoxFuture, Sender, Undelivered, http_client};

/// At most this many canaries get a section of their own; the rest are named in one line.
const SECTIONS: usize = 20;

/// A Slack channel.
pub struct Slack {
    client: reqwest::Client,
    url: Url,
    host: String,
}

impl Slack {
    /// A Slack incoming webhook at `url`.
    pub fn new(url: Url, host: String) -> Result<Slack, String> {
        Ok(Slack {
            client: http_client()?,
            url,
            host,
        })
    }
}

/// The message for these changes.
pub fn message(events: &[Event], host: &str) -> Value {
    let notices = super::event::notices(events);
    let alarms = notices
        .iter()
        .filter(|n| n.state == AlertState::Alarm)
        .count();
    let oks = notices.len() - alarms;
    let still = |n: &Notice| if n.reminder.is_some() { "still " } else { "" };
    let title = match (alarms, oks) {
        (1, 0) => format!(
            ":red_circle: {} is {}failing",
            notices[0].canary,
            still(notices[0])
        ),
        (0, 1) => format!(":large_green_circle: {} recovered", notices[0].canary),
        (a, 0) => format!(":red_circle: {a} canaries are failing"),
        (0, o) => format!(":large_green_circle: {o} canaries recovered"),
        (a, o) => format!(
            ":red_circle: {} failing, :large_green_circle: {o} recovered",
            crate::report::canaries(a)
        ),
    };
    let mut blocks =
        vec![json!({ "type": "header", "text": { "type": "plain_text", "text": title } })];
    for n in notices.iter().take(SECTIONS) {
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": section(n) } }));
    }
    if notices.len() > SECTIONS {
        let rest: Vec<&str> = notices[SECTIONS..]
            .iter()
            .map(|n| n.canary.as_str())
            .collect();
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("…and {} more: {}", rest.len(), rest.join(", ")) } }));
    }
    let at = notices.first().map_or("", |n| n.at.as_str());
    blocks.push(json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("canary on {host} · {at}") } ] }));
    json!({ "text": title, "blocks": blocks })
}

fn section(n: &Notice) -> String {
    let mark = if n.state == AlertState::Alarm {
        ":red_circle:"
    } else {
        ":large_green_circle:"
    };
    let mut text = match &n.reminder {
        Some(r) => format!(
            "{mark} *{}* is still {}, for {} ({} failed runs) — a reminder",
            n.canary,
            n.state.as_str(),
            r.lasted,
            r.failed_runs
        ),
        None => format!(
            "{mark} *{}* is {} (was {})",
            n.canary,
            n.state.as_str(),
            n.previous_state.as_str()
        ),
    };
    if let Some(l) = &n.location {
        text.push_str(&format!(" in {l}"));
    }
    if let Some(f) = &n.failure {
        text.push_str(&format!("\nstep `{}`: {}", f.step, f.subject));
        if let (Some(e), Some(a)) = (&f.expected, &f.actual) {
            text.push_str(&format!("\nexpected `{e}`, got `{a}`"));
        } else {
            text.push_str(&format!(" ({})", f.kind));
        }
    }
    let count = |n: u32, one, many| crate::report::count(n as usize, one, many);
    text.push_str(&format!(
        "\n_{} in the last {} raise it; {} in a row clear it_",
        count(n.policy.failures, "failure", "failures"),
        count(n.policy.window, "run", "runs"),
        count(n.policy.recover, "pass", "passes")
    ));
    text
}

impl Sender for Slack {
    fn send<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), Undelivered>> {
        Box::pin(async move {
            let req = self
                .client
                .post(self.url.clone())
                .json(&message(events, &self.host));
            super::post(req, events).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A change of `canary` to `state`, as the outbox stores it.
    fn change(canary: &str, state: &str) -> Event {
        let before = if state == "OK" { "ALARM" } else { "OK" };
        serde_json::from_value(json!({
            "type": "change", "canary": canary, "state": state, "previous_state": before,
            "at": "2026-11-27T12:00:00Z", "outcome": "failed", "reason": null, "failure": null,
            "run": {
                "canary": canary, "file": "a.yaml", "outcome": "failed", "started": 0.0,
                "completed": 0.0, "duration_ms": 0.0, "attempts": 1, "id": "x",
                "dimensions": [], "reason": null
            },
            "policy": { "failures": 1, "window": 1, "recover": 1 }
        }))
        .unwrap()
    }

    #[test]
    fn a_mixed_message_counts_its_failing_canaries_in_words() {
        let title = |events: &[Event]| message(events, "host")["text"].to_string();
        assert_eq!(
            title(&[change("a", "ALARM"), change("b", "OK")]),
            "\":red_circle: 1 canary failing, :large_green_circle: 1 recovered\""
        );
        assert_eq!(
            title(&[
                change("a", "ALARM"),
                change("b", "ALARM"),
                change("c", "OK")
            ]),
            "\":red_circle: 2 canaries failing, :large_green_circle: 1 recovered\""
        );
    }

    #[test]
    fn the_policy_line_counts_in_words() {
        let text = message(&[change("a", "ALARM")], "host").to_string();
        assert!(
            text.contains("_1 failure in the last 1 run raise it; 1 pass in a row clear it_"),
            "{text}"
        );
    }
}

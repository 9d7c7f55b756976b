//! SNS: one Publish per group of changes — a subject a person can read, and the webhook's JSON
//! as the message, for people (e-mail, SMS) and programs (SQS, Lambda) alike.

use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;

use super::event::Event;
use super::state::AlertState;
use super::{BoxFuture, Sender, Undelivered};

/// An SNS channel.
pub struct Sns {
    client: Client,
    topic: String,
    host: String,
}

impl Sns {
    /// Publishes to `topic` with the SDK configuration `conf`.
    pub fn new(conf: &aws_config::SdkConfig, topic: String, host: String) -> Sns {
        Sns {
            client: Client::new(conf),
            topic,
            host,
        }
    }
}

/// A subject within SNS's 100 characters: `canary: ALARM checkout`, `canary: 12 in ALARM, 1 OK`.
pub fn subject(events: &[Event]) -> String {
    let notices = super::event::notices(events);
    let alarms = notices
        .iter()
        .filter(|n| n.state == AlertState::Alarm)
        .count();
    let s = match notices.as_slice() {
        [one] if one.reminder.is_some() => {
            format!("canary: still {} {}", one.state.as_str(), one.canary)
        }
        [one] => format!("canary: {} {}", one.state.as_str(), one.canary),
        _ => format!("canary: {alarms} in ALARM, {} OK", notices.len() - alarms),
    };
    s.chars().take(100).collect()
}

impl Sender for Sns {
    fn send<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), Undelivered>> {
        Box::pin(async move {
            let message = super::webhook::body(events, &self.host).to_string();
            self.client
                .publish()
                .topic_arn(&self.topic)
                .subject(subject(events))
                .message(message)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Undelivered {
                    events: events.to_vec(),
                    why: DisplayErrorContext(&e).to_string(),
                })
        })
    }
}

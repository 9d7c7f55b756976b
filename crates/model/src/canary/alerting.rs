//! The runner's own alert policy, as compiled: when a canary goes to ALARM and back to OK, and
//! which channels hear of it; and the channels, as the project file configures them.

use url::Url;

/// A canary's alert policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerting {
    /// ALARM when at least this many of the last `window` runs failed…
    pub failures: u32,
    /// …out of this many.
    pub window: u32,
    /// OK again after this many passes in a row.
    pub recover: u32,
    /// A degraded run counts as a failure (else as a pass).
    pub degraded_fails: bool,
    /// The channels told of each change, by name.
    pub notify: Vec<String>,
    /// Tell the channels again this often while an ALARM lasts (None: once).
    pub remind: Option<std::time::Duration>,
    /// Agreement between the project's locations: the shared state is ALARM only while this
    /// many locations' runners each see an ALARM (None: this runner's own view decides).
    pub locations: Option<super::alarm::Quorum>,
}

/// A notification channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Its name in the project file.
    pub name: String,
    /// Where it sends.
    pub kind: ChannelKind,
}

/// The kinds of channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    /// A JSON POST, signed with HMAC-SHA256 when there is a secret.
    Webhook {
        /// Where to POST.
        url: Url,
        /// The HMAC key.
        secret: Option<String>,
        /// Extra headers.
        headers: Vec<(String, String)>,
    },
    /// A Slack incoming webhook.
    Slack {
        /// The webhook URL.
        url: Url,
    },
    /// SNS Publish to a topic.
    Sns {
        /// The topic ARN.
        topic: String,
    },
    /// EventBridge PutEvents, as CloudWatch Synthetics sends them.
    EventBridge {
        /// The event bus name or ARN.
        bus: String,
        /// The events' `source`.
        source: String,
        /// Which runs become TestRun events.
        runs: RunEvents,
    },
}

/// Which runs an EventBridge channel sends as `Synthetics Canary TestRun …` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEvents {
    /// Every run, as CloudWatch Synthetics does.
    All,
    /// Failed and errored runs only.
    Failures,
    /// None: state changes only.
    None,
}

//! Compiling the runner's alert policy (`alerting:`) and the project's notification channels
//! (`notify:`): each checked at its place; a canary's policy changes the default field by field.

use schemars::JsonSchema;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::alarms::{locations_written, quorum};
use super::compiler::Compiler;
use super::raw::{RawAlerting, S};
use crate::canary::alarm::Quorum;
use crate::canary::alerting::{Alerting, Channel, ChannelKind, RunEvents};

/// A notification channel as written: exactly one kind.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    /// A JSON POST to any URL: `{ url, secret, headers }`.
    pub webhook: Option<S<RawWebhook>>,
    /// A Slack incoming webhook: `{ url }`.
    pub slack: Option<S<RawSlack>>,
    /// SNS Publish: `{ topic: ARN }`.
    pub sns: Option<S<RawSns>>,
    /// EventBridge PutEvents, as CloudWatch Synthetics sends them: `{ bus, source, runs }`.
    pub eventbridge: Option<S<RawEventBridge>>,
}

/// `webhook:`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// Where to POST the JSON.
    pub url: S<String>,
    /// A key: each POST carries `X-Canary-Signature: sha256=<HMAC of "<timestamp>.<body>">`.
    pub secret: Option<S<String>>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, S<String>>,
}

/// `slack:`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSlack {
    /// The incoming webhook URL; use `${secret:SLACK_WEBHOOK}`.
    pub url: S<String>,
}

/// `sns:`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSns {
    /// The topic's ARN.
    pub topic: S<String>,
}

/// `eventbridge:`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEventBridge {
    /// The event bus: `default`, a name or an ARN. Default `default`.
    pub bus: Option<S<String>>,
    /// The events' `source` (`aws.synthetics` is AWS's own). Default `canary`.
    pub source: Option<S<String>>,
    /// Which runs become `Synthetics Canary TestRun …` events: `all` (default, as Synthetics),
    /// `failures` or `none`.
    pub runs: Option<S<String>>,
}

/// An alert policy as written: every field optional, so a canary can change the default's.
#[derive(Debug, Clone, Default)]
pub struct AlertingPatch {
    failures: Option<(u32, u32)>,
    recover: Option<u32>,
    degraded_fails: Option<bool>,
    notify: Option<Vec<String>>,
    remind: Option<Option<std::time::Duration>>,
    locations: Option<Quorum>,
}

impl AlertingPatch {
    /// `self`'s fields, and `base`'s where `self` has none.
    pub fn over(&self, base: &AlertingPatch) -> AlertingPatch {
        AlertingPatch {
            failures: self.failures.or(base.failures),
            recover: self.recover.or(base.recover),
            degraded_fails: self.degraded_fails.or(base.degraded_fails),
            notify: self.notify.clone().or_else(|| base.notify.clone()),
            remind: self.remind.or(base.remind),
            locations: self.locations.clone().or_else(|| base.locations.clone()),
        }
    }

    /// The policy, with defaults: `1 of 1`, recover after 1, degraded passes, no channels.
    pub fn complete(&self) -> Alerting {
        let (failures, window) = self.failures.unwrap_or((1, 1));
        Alerting {
            failures,
            window,
            recover: self.recover.unwrap_or(1),
            degraded_fails: self.degraded_fails.unwrap_or(false),
            notify: self.notify.clone().unwrap_or_default(),
            remind: self.remind.flatten(),
            locations: self.locations.clone(),
        }
    }
}

impl Compiler<'_> {
    /// Compiles an `alerting:` section; `channels` are the project's channel names.
    pub(super) fn alerting_patch(
        &mut self,
        a: &S<RawAlerting>,
        channels: &[String],
        locations: &[String],
    ) -> AlertingPatch {
        let r = &a.value;
        let quorum = r.locations.as_ref().and_then(|l| {
            let written = locations_written(&l.value, "locations in ALARM");
            let q = written.and_then(|(n, m)| quorum(n, m, locations));
            self.check(&l.referenced, q)
        });
        let failures = r.failures.as_ref().and_then(|f| {
            self.check(
                &f.referenced,
                super::alarms::datapoints(&f.value, "failed runs"),
            )
        });
        let recover = r.recover.as_ref().and_then(|n| {
            let v = if n.value >= 1 {
                Ok(n.value)
            } else {
                Err("`recover:` is at least 1 (passes in a row)".to_string())
            };
            self.check(&n.referenced, v)
        });
        let degraded_fails = r.degraded.as_ref().and_then(|d| {
            let v = match d.value.as_str() {
                "pass" => Ok(false),
                "fail" => Ok(true),
                other => Err(format!(
                    "`{other}`: a degraded run counts as `pass` or `fail`"
                )),
            };
            self.check(&d.referenced, v)
        });
        let remind = r.remind.as_ref().and_then(|d| {
            let v = match d.value.trim() {
                "never" => Ok(None),
                text => super::values::duration(text).and_then(|t| match t.as_secs() {
                    0 => Err("`remind:` is at least 1s (or `never`)".to_string()),
                    _ => Ok(Some(t)),
                }),
            };
            self.check(&d.referenced, v)
        });
        let notify = r.notify.as_ref().map(|list| {
            let mut out = Vec::new();
            for n in list {
                if channels.contains(&n.value) {
                    out.push(n.value.clone());
                } else {
                    let known = if channels.is_empty() {
                        "none: add them under `notify:` in the project file".to_string()
                    } else {
                        channels.join(", ")
                    };
                    self.fail(
                        &n.referenced,
                        format!("no channel `{}` (channels: {known})", n.value),
                    );
                }
            }
            out
        });
        AlertingPatch {
            failures,
            recover,
            degraded_fails,
            notify,
            remind,
            locations: quorum,
        }
    }

    /// The canary's policy: its own over the project's default; None when neither has one.
    pub(super) fn canary_alerting(
        &mut self,
        own: &Option<S<RawAlerting>>,
        default: Option<&AlertingPatch>,
        channels: &[String],
        locations: &[String],
    ) -> Option<Alerting> {
        let own = own
            .as_ref()
            .map(|a| self.alerting_patch(a, channels, locations));
        match (own, default) {
            (None, None) => None,
            (Some(o), None) => Some(o.complete()),
            (None, Some(d)) => Some(d.complete()),
            (Some(o), Some(d)) => Some(o.over(d).complete()),
        }
    }

    /// Compiles one `notify:` entry.
    pub(super) fn channel(&mut self, name: &str, c: &S<RawChannel>) -> Option<Channel> {
        let r = &c.value;
        let given = [
            r.webhook.is_some(),
            r.slack.is_some(),
            r.sns.is_some(),
            r.eventbridge.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            self.fail(
                &c.referenced,
                format!("channel `{name}`: give exactly one of webhook, slack, sns, eventbridge"),
            );
            return None;
        }
        let kind = if let Some(w) = &r.webhook {
            let url = self.channel_url(&w.value.url)?;
            let secret = match &w.value.secret {
                Some(s) => Some(self.template(s)?.as_static().unwrap_or_default())
                    .filter(|s| !s.is_empty()),
                None => None,
            };
            let mut headers = Vec::new();
            for (k, v) in &w.value.headers {
                let value = self.template(v)?.as_static().unwrap_or_default();
                let ok = http::HeaderName::from_bytes(k.as_bytes()).is_ok()
                    && http::HeaderValue::from_str(&value).is_ok();
                if !ok {
                    self.fail(&v.referenced, format!("header `{k}` is not a valid header"));
                }
                headers.push((k.clone(), value));
            }
            ChannelKind::Webhook {
                url,
                secret,
                headers,
            }
        } else if let Some(s) = &r.slack {
            ChannelKind::Slack {
                url: self.channel_url(&s.value.url)?,
            }
        } else if let Some(s) = &r.sns {
            let topic = self
                .template(&s.value.topic)?
                .as_static()
                .unwrap_or_default();
            let ok = topic.starts_with("arn:aws") && topic.split(':').nth(2) == Some("sns");
            let r = if ok {
                Ok(topic)
            } else {
                Err(format!(
                    "`{topic}` is not an SNS topic ARN: like arn:aws:sns:eu-west-1:123456789012:pager"
                ))
            };
            ChannelKind::Sns {
                topic: self.check(&s.value.topic.referenced, r)?,
            }
        } else {
            let e = r.eventbridge.as_ref()?;
            self.eventbridge(e)?
        };
        Some(Channel {
            name: name.to_string(),
            kind,
        })
    }

    fn eventbridge(&mut self, e: &S<RawEventBridge>) -> Option<ChannelKind> {
        let text = |c: &mut Self, v: &Option<S<String>>, default: &str| match v {
            Some(s) => c.template(s).and_then(|t| t.as_static()),
            None => Some(default.to_string()),
        };
        let bus = text(self, &e.value.bus, "default")?;
        let source = text(self, &e.value.source, "canary")?;
        if source.starts_with("aws.") {
            let at = e
                .value
                .source
                .as_ref()
                .map_or(e.referenced, |s| s.referenced);
            self.fail(&at, format!("source `{source}`: EventBridge keeps `aws.` sources for AWS itself; use your own, like `canary`"));
        }
        let runs = match e.value.runs.as_ref().map(|r| r.value.as_str()) {
            None | Some("all") => RunEvents::All,
            Some("failures") => RunEvents::Failures,
            Some("none") => RunEvents::None,
            Some(other) => {
                let at = e.value.runs.as_ref().map_or(e.referenced, |s| s.referenced);
                self.fail(
                    &at,
                    format!("`{other}`: runs are `all`, `failures` or `none`"),
                );
                return None;
            }
        };
        Some(ChannelKind::EventBridge { bus, source, runs })
    }

    fn channel_url(&mut self, u: &S<String>) -> Option<url::Url> {
        let text = self.template(u)?.as_static().unwrap_or_default();
        let r = crate::canary::http::parse_url(&text);
        self.check(&u.referenced, r)
    }
}

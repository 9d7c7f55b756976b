//! `dns:` — one query (name, record type, server) and the DNS assertions: `rcode`, `answers`,
//! `ttl`, `authoritative`.

use schemars::JsonSchema;
use std::collections::BTreeMap;

use serde::Deserialize;

use serde_saphyr::Location;

use super::compiler::{Compiler, Parts};
use super::raw::{RawAnswersTest, RawAssert, RawCapture, S};
use super::section::RawKind;
use crate::canary::StepKind;
use crate::canary::assertion::{AnswerTest, Assertion};
use crate::canary::dns::{DnsCheck, RecordType};

/// A DNS check.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    /// The name to query, e.g. `example.test`.
    pub name: S<String>,
    /// The record type: A (default), AAAA, CNAME, MX, TXT, NS, SOA, SRV or CAA.
    #[serde(rename = "type")]
    pub record: Option<S<String>>,
    /// The server, `host:port` (port 53 when left out) as an IP address; default: the first
    /// `nameserver` of /etc/resolv.conf.
    pub server: Option<S<String>>,
    /// Query over TCP from the start. Default false: UDP, retried over TCP when truncated.
    #[serde(default)]
    pub tcp: bool,
    /// Assertions: `rcode`, `answers`, `ttl`, `authoritative`, `latency` (the query time is `total`).
    #[serde(default)]
    pub assert: Vec<S<RawAssert>>,
    /// Values to keep for later steps (`answer: 0` is the first answer's data).
    #[serde(default)]
    pub capture: BTreeMap<String, S<RawCapture>>,
    /// Assertions that describe the healthy state more strictly; see the canary's `degraded:`.
    #[serde(default)]
    pub degraded: Vec<S<RawAssert>>,
}

impl RawKind for RawDns {
    fn compile(&self, c: &mut Compiler<'_>, _at: &Location) -> Option<StepKind> {
        let d = self;
        let qname = c.template(&d.name);
        let record = match &d.record {
            None => Some(RecordType::A),
            Some(r) => {
                let known: Vec<&str> = RecordType::ALL.iter().map(|(n, _)| *n).collect();
                let t = RecordType::parse(&r.value).ok_or_else(|| {
                    format!(
                        "`{}` is not a record type canary queries (known: {})",
                        r.value,
                        known.join(", ")
                    )
                });
                c.check(&r.referenced, t)
            }
        };
        let server = match &d.server {
            None => Some(None),
            Some(s) => {
                let text = c.template(s)?.as_static().unwrap_or_default();
                c.check(&s.referenced, server(&text)).map(Some)
            }
        };
        Some(StepKind::Dns(Box::new(DnsCheck {
            name: qname?,
            record: record?,
            server: server?,
            tcp: d.tcp,
        })))
    }

    fn inside(&self) -> Parts<'_> {
        Parts::inside(&self.assert, &self.capture, &self.degraded)
    }
}

impl Compiler<'_> {
    /// `rcode:` — a known response code name.
    pub(super) fn rcode(&mut self, r: &S<String>) -> Option<Assertion> {
        const KNOWN: [&str; 11] = [
            "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
            "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
        ];
        let code = r.value.trim().to_ascii_uppercase();
        let ok = KNOWN.contains(&code.as_str());
        let msg = format!(
            "`{}` is not a DNS response code (known: {})",
            r.value,
            KNOWN.join(", ")
        );
        self.check(
            &r.referenced,
            if ok {
                Ok(Assertion::Rcode(code))
            } else {
                Err(msg)
            },
        )
    }

    /// `answers:` — exactly one test.
    pub(super) fn answers(&mut self, a: &S<RawAnswersTest>) -> Option<Assertion> {
        let t = &a.value;
        let given = [
            t.contains.is_some(),
            t.not_contains.is_some(),
            t.includes.is_some(),
            t.excludes.is_some(),
            t.equals.is_some(),
            t.matches.is_some(),
            t.count.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            self.fail(&a.referenced, "`answers:` takes exactly one test: contains, not_contains, includes, excludes, equals, matches or count");
            return None;
        }
        let test = if let Some(s) = &t.contains {
            AnswerTest::Contains(self.template(s)?)
        } else if let Some(s) = &t.not_contains {
            AnswerTest::NotContains(self.template(s)?)
        } else if let Some(s) = &t.includes {
            AnswerTest::Includes(self.template(s)?)
        } else if let Some(s) = &t.excludes {
            AnswerTest::Excludes(self.template(s)?)
        } else if let Some(list) = &t.equals {
            let items: Option<Vec<_>> = list.value.iter().map(|s| self.template(s)).collect();
            AnswerTest::Equals(items?)
        } else if let Some(m) = &t.matches {
            AnswerTest::Matches(self.regex(m)?)
        } else {
            AnswerTest::Count(self.length(t.count.as_ref()?)?)
        };
        Some(Assertion::Answers(Box::new(test)))
    }
}

/// A DNS server as `ip`, `ip:port` or `[v6]:port`; port 53 when left out.
fn server(text: &str) -> Result<String, String> {
    let t = text.trim();
    if let Ok(a) = t.parse::<std::net::SocketAddr>() {
        return Ok(a.to_string());
    }
    if let Ok(ip) = t.parse::<std::net::IpAddr>() {
        return Ok(std::net::SocketAddr::new(ip, 53).to_string());
    }
    Err(format!(
        "`{t}` is not a DNS server: write an IP address with an optional port, like 127.0.0.1:5353"
    ))
}

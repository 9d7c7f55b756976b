//! What a check observed: the response, its phases, the TLS connection, cookies — the one
//! thing assertions and captures read.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde::Serialize;
use serde_json::Value;

/// Everything a check saw. Each kind fills in what it has; an assertion on a part that is
/// missing fails and says so.
#[derive(Debug, Default)]
pub struct Observed {
    /// The final status (HTTP) or code.
    pub status: Option<u16>,
    /// The final response's headers.
    pub headers: HeaderMap,
    /// The body (decompressed), or what a connection received.
    pub body: Vec<u8>,
    /// Phase timings.
    pub phases: Phases,
    /// The TLS connection, when there was one.
    pub tls: Option<TlsSeen>,
    /// The final URL.
    pub url: Option<String>,
    /// Redirects followed.
    pub redirects: u32,
    /// The protocol version that answered, e.g. `HTTP/2`.
    pub version: Option<&'static str>,
    /// The cookies the check holds after the step (name, value), in the order they were set.
    pub cookies: Vec<(String, String)>,
    /// A DNS query's response.
    pub dns: Option<DnsSeen>,
    /// The messages a WebSocket received, in order.
    pub messages: Vec<String>,
    /// The body parsed as JSON, on first use (through [`Observed::json`]).
    pub json: OnceLock<Result<Value, String>>,
}

impl Observed {
    /// The body parsed as JSON (once), or why it is not JSON.
    pub fn json(&self) -> Result<&Value, String> {
        self.json
            .get_or_init(|| {
                serde_json::from_slice(&self.body).map_err(|e| format!("body is not JSON: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The value of the cookie named `name`, if the check holds one.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a DNS query got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsSeen {
    /// The server asked.
    pub server: String,
    /// The response code: NOERROR, NXDOMAIN, SERVFAIL…
    pub rcode: String,
    /// The answer is authoritative.
    pub authoritative: bool,
    /// Whether the answer came over TCP (after a truncated UDP answer, or asked so).
    pub tcp: bool,
    /// The answers of the type asked.
    pub answers: Vec<DnsAnswer>,
}

impl DnsSeen {
    /// The answers in one line: `10 mail.example.test. (ttl 300), …`, or `no answers`.
    pub fn summary(&self) -> String {
        if self.answers.is_empty() {
            return "no answers".into();
        }
        let each: Vec<String> = self
            .answers
            .iter()
            .map(|a| format!("{} (ttl {})", a.data, a.ttl))
            .collect();
        each.join(", ")
    }
}

/// One DNS answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsAnswer {
    /// The owner name.
    pub name: String,
    /// The record type.
    pub record: String,
    /// Time to live, in seconds.
    pub ttl: u32,
    /// The data, as text: an address, a name, `10 mail.example.test.`, the TXT strings…
    pub data: String,
}

/// What a TLS handshake showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsSeen {
    /// The negotiated protocol version: `1.2` or `1.3`.
    pub protocol: Option<String>,
    /// The negotiated cipher suite, where the check can see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// Whether the leaf certificate is valid for the name asked for.
    pub hostname_matches: bool,
    /// The chain, leaf first: the verified path to a trusted root (the root itself not
    /// included), or — when it could not be verified — the certificates the server sent.
    pub chain: Vec<CertInfo>,
    /// True when `chain` is a verified path.
    pub verified: bool,
}

impl TlsSeen {
    /// The server's own certificate.
    pub fn leaf(&self) -> Option<&CertInfo> {
        self.chain.first()
    }

    /// The certificate of the chain that expires first.
    pub fn earliest(&self) -> Option<&CertInfo> {
        self.chain.iter().min_by_key(|c| c.not_after)
    }
}

/// One certificate, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// The subject's distinguished name, e.g. `CN=shop.example.com`.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// The start of validity.
    #[serde(serialize_with = "rfc3339")]
    pub not_before: SystemTime,
    /// The end of validity.
    #[serde(serialize_with = "rfc3339")]
    pub not_after: SystemTime,
    /// The DNS names and IP addresses it is valid for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The subject's attributes (CN, O, OU, C, ST, L…), in order.
    #[serde(skip)]
    pub subject_fields: Vec<(String, String)>,
    /// The issuer's attributes.
    #[serde(skip)]
    pub issuer_fields: Vec<(String, String)>,
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_seconds(*t))
}

/// Where the time of one request went, named as blackbox_exporter names the phases.
/// The first five add up to `total`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Phases {
    /// DNS resolution.
    pub resolve: Duration,
    /// TCP connection.
    pub connect: Duration,
    /// TLS handshake (zero for plain HTTP).
    pub tls: Duration,
    /// From the request being sent to the response headers arriving (server time and network).
    pub processing: Duration,
    /// Reading the response body.
    pub transfer: Duration,
    /// The whole request, redirects included.
    pub total: Duration,
}

/// One of the six phases, as assertions and reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// See [`Phases::resolve`].
    Resolve,
    /// See [`Phases::connect`].
    Connect,
    /// See [`Phases::tls`].
    Tls,
    /// See [`Phases::processing`].
    Processing,
    /// See [`Phases::transfer`].
    Transfer,
    /// See [`Phases::total`].
    Total,
}

impl Phase {
    /// All phases, in wire order.
    pub const ALL: [Phase; 6] = [
        Phase::Resolve,
        Phase::Connect,
        Phase::Tls,
        Phase::Processing,
        Phase::Transfer,
        Phase::Total,
    ];

    /// The phase's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Resolve => "resolve",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Processing => "processing",
            Phase::Transfer => "transfer",
            Phase::Total => "total",
        }
    }

    /// The phase with this name, if any.
    pub fn from_name(name: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl Phases {
    /// The duration of one phase.
    pub fn get(&self, phase: Phase) -> Duration {
        match phase {
            Phase::Resolve => self.resolve,
            Phase::Connect => self.connect,
            Phase::Tls => self.tls,
            Phase::Processing => self.processing,
            Phase::Transfer => self.transfer,
            Phase::Total => self.total,
        }
    }
}

//! A DNS step as compiled: a name, a record type, a server.

use std::fmt;

use crate::template::Template;

/// A DNS check.
#[derive(Debug, Clone)]
pub struct DnsCheck {
    /// The name to query.
    pub name: Template,
    /// The record type.
    pub record: RecordType,
    /// `host:port` of the server; None: the system resolver's (/etc/resolv.conf).
    pub server: Option<String>,
    /// Query over TCP from the start (else UDP, falling back to TCP when truncated).
    pub tcp: bool,
}

/// The record types a DNS check can query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Canonical name.
    Cname,
    /// Mail exchange.
    Mx,
    /// Text.
    Txt,
    /// Name server.
    Ns,
    /// Start of authority.
    Soa,
    /// Service.
    Srv,
    /// Certification authority authorization.
    Caa,
}

impl RecordType {
    /// Every type, as written.
    pub const ALL: [(&'static str, RecordType); 9] = [
        ("A", RecordType::A),
        ("AAAA", RecordType::Aaaa),
        ("CNAME", RecordType::Cname),
        ("MX", RecordType::Mx),
        ("TXT", RecordType::Txt),
        ("NS", RecordType::Ns),
        ("SOA", RecordType::Soa),
        ("SRV", RecordType::Srv),
        ("CAA", RecordType::Caa),
    ];

    /// The type named `s` (any case).
    pub fn parse(s: &str) -> Option<RecordType> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s.trim()))
            .map(|(_, t)| *t)
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Self::ALL
            .iter()
            .find(|(_, t)| t == self)
            .map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

impl super::CheckKind for DnsCheck {
    const ASSERTION_KEYS: &'static [&'static str] =
        &["rcode", "answers", "ttl", "authoritative", "latency"];

    fn uses_tls(&self) -> bool {
        false
    }
}

//! Typed assertions, compiled once at load time: what must hold of what a check observed.

use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::run::Phase;
use crate::template::Template;

/// One assertion.
#[derive(Debug, Clone)]
pub enum Assertion {
    /// The status is one of these codes or classes.
    Status(Vec<StatusPattern>),
    /// A phase's duration is within bounds.
    Latency(Phase, Box<Bound<Duration>>),
    /// A header (name in lower case) passes a text test.
    Header(String, Box<TextTest>),
    /// The body, as text, passes a text test.
    Body(Box<TextTest>),
    /// The value(s) at a JSONPath pass a JSON test.
    Json(Box<(JsonQuery, JsonTest)>),
    /// The TLS connection: certificate expiry, protocol, host name.
    Tls(Box<TlsTest>),
    /// A cookie the check holds after the step (by name) passes a text test.
    Cookie(String, Box<TextTest>),
    /// The DNS response code: NOERROR, NXDOMAIN, SERVFAIL, REFUSED…
    Rcode(String),
    /// The DNS answers (their data, as text).
    Answers(Box<AnswerTest>),
    /// The lowest TTL among the DNS answers, in seconds.
    Ttl(Box<Bound<u64>>),
    /// The DNS answer is (`true`) or is not authoritative.
    Authoritative(bool),
}

impl Assertion {
    /// Its key in the canary file.
    pub fn key(&self) -> &'static str {
        match self {
            Assertion::Status(_) => "status",
            Assertion::Latency(..) => "latency",
            Assertion::Header(..) => "header",
            Assertion::Body(_) => "body",
            Assertion::Json(..) => "json",
            Assertion::Tls(_) => "tls",
            Assertion::Cookie(..) => "cookie",
            Assertion::Rcode(_) => "rcode",
            Assertion::Answers(_) => "answers",
            Assertion::Ttl(_) => "ttl",
            Assertion::Authoritative(_) => "authoritative",
        }
    }
}

/// A test on a DNS query's answers.
#[derive(Debug, Clone)]
pub enum AnswerTest {
    /// Some answer contains this text.
    Contains(Template),
    /// No answer contains this text.
    NotContains(Template),
    /// Some answer is exactly this.
    Includes(Template),
    /// No answer is exactly this.
    Excludes(Template),
    /// The answers are exactly these, in any order.
    Equals(Vec<Template>),
    /// Some answer matches this regular expression.
    Matches(Regex),
    /// How many answers there are.
    Count(Bound<u64>),
}

/// A test on the TLS connection of a check.
#[derive(Debug, Clone)]
pub enum TlsTest {
    /// Time left on the server's own (leaf) certificate.
    ExpiresIn(Bound<Duration>),
    /// Time left on the certificate of the chain that expires first (leaf and intermediates
    /// of the verified path; the trust store's root is not part of it).
    ChainExpiresIn(Bound<Duration>),
    /// The negotiated protocol version, `1.2` or `1.3`.
    Protocol(String),
    /// Whether the leaf certificate is valid for the host name asked for.
    HostnameMatches(bool),
    /// The leaf's subject: the whole name, or one field (CN, O, OU, C, ST, L).
    Subject(Option<String>, TextTest),
    /// The leaf's issuer: the whole name, or one field (CN, O…).
    Issuer(Option<String>, TextTest),
    /// The leaf's DNS names and IP addresses, joined by `, `.
    Names(TextTest),
    /// The negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    Cipher(TextTest),
}

/// A status code (`200`) or class (`2xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    /// Exactly this code.
    Code(u16),
    /// Any code whose first digit is this one.
    Class(u16),
    /// Any code from the first to the second, both included.
    Range(u16, u16),
    /// Any code but this one.
    Not(u16),
}

impl StatusPattern {
    /// True when `status` is this code or in this class.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(c) => c == status,
            StatusPattern::Class(c) => status / 100 == c,
            StatusPattern::Range(lo, hi) => (lo..=hi).contains(&status),
            StatusPattern::Not(c) => c != status,
        }
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Code(c) => write!(f, "{c}"),
            StatusPattern::Class(c) => write!(f, "{c}xx"),
            StatusPattern::Range(lo, hi) => write!(f, "{lo} to {hi}"),
            StatusPattern::Not(c) => write!(f, "not {c}"),
        }
    }
}

/// Number bounds: any of `lt`, `lte`, `gt`, `gte` (at least one).
#[derive(Debug, Clone, PartialEq)]
pub struct Bound<T> {
    /// Strictly less than.
    pub lt: Option<T>,
    /// Less than or equal.
    pub lte: Option<T>,
    /// Strictly greater than.
    pub gt: Option<T>,
    /// Greater than or equal.
    pub gte: Option<T>,
    /// The bound as written, e.g. `< 800ms`.
    pub shown: String,
}

impl<T: PartialOrd> Bound<T> {
    /// True when `v` is within every given bound.
    pub fn holds(&self, v: &T) -> bool {
        self.lt.as_ref().is_none_or(|b| v < b)
            && self.lte.as_ref().is_none_or(|b| v <= b)
            && self.gt.as_ref().is_none_or(|b| v > b)
            && self.gte.as_ref().is_none_or(|b| v >= b)
    }
}

/// A test on a piece of text.
#[derive(Debug, Clone)]
pub enum TextTest {
    /// Present (`true`) or absent (`false`); for headers and cookies.
    Exists(bool),
    /// Equal to.
    Equals(Template),
    /// Not equal to (present, or absent).
    NotEquals(Template),
    /// Contains.
    Contains(Template),
    /// Does not contain.
    NotContains(Template),
    /// Matches the regular expression somewhere.
    Matches(Regex),
}

/// A compiled JSONPath with its source text.
#[derive(Debug, Clone)]
pub struct JsonQuery {
    /// The compiled path.
    pub path: JsonPath,
    /// The path as written.
    pub text: String,
}

/// A test on the value(s) a JSONPath selects: one node is tested as itself, several as an array.
#[derive(Debug, Clone)]
pub enum JsonTest {
    /// The path selects something (`true`) or nothing (`false`).
    Exists(bool),
    /// Equal to a JSON value.
    Equals(Value),
    /// As text, equal to a string (which may use captures); a JSON string is compared unquoted.
    EqualsText(Template),
    /// Not equal to a JSON value.
    NotEquals(Value),
    /// As text, not equal to a string.
    NotEqualsText(Template),
    /// A string contains the text, or an array holds the value.
    Contains(Value),
    /// The opposite of `Contains`.
    NotContains(Value),
    /// The length of an array, string or object is within bounds.
    Length(Bound<u64>),
    /// The value, as text, matches the regular expression.
    Matches(Regex),
    /// A number is within bounds.
    Number(Bound<f64>),
}

#[cfg(test)]
mod tests {
    /// A canary holds a list of these: the large tests are boxed, so a list of a status and a
    /// JSON assertion is 80 bytes and one allocation for the JSON test, not 304 bytes.
    #[test]
    fn an_assertion_is_40_bytes() {
        assert_eq!(std::mem::size_of::<super::Assertion>(), 40);
    }
}

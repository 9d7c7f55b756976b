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
    Latency(Phase, Bound<Duration>),
    /// A header (name in lower case) passes a text test.
    Header(String, TextTest),
    /// The body, as text, passes a text test.
    Body(TextTest),
    /// The value(s) at a JSONPath pass a JSON test.
    Json(JsonQuery, JsonTest),
    /// The TLS connection: certificate expiry, protocol, host name.
    Tls(TlsTest),
    /// A cookie the check holds after the step (by name) passes a text test.
    Cookie(String, TextTest),
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
}

/// A status code (`200`) or class (`2xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    /// Exactly this code.
    Code(u16),
    /// Any code whose first digit is this one.
    Class(u16),
}

impl StatusPattern {
    /// True when `status` is this code or in this class.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(c) => c == status,
            StatusPattern::Class(c) => status / 100 == c,
        }
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Code(c) => write!(f, "{c}"),
            StatusPattern::Class(c) => write!(f, "{c}xx"),
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
    /// A string contains the text, or an array holds the value.
    Contains(Value),
    /// The length of an array, string or object is within bounds.
    Length(Bound<u64>),
    /// The value, as text, matches the regular expression.
    Matches(Regex),
    /// A number is within bounds.
    Number(Bound<f64>),
}

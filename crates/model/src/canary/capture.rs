//! Captures: where a value for later steps comes from.

use regex::Regex;

use super::assertion::JsonQuery;

/// One `capture:` entry.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The name later steps use as `${name}`.
    pub name: String,
    /// Where the value comes from.
    pub source: CaptureSource,
    /// Redact the value from every output.
    pub secret: bool,
}

/// Where a captured value comes from.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    /// The node a JSONPath selects (a string unquoted, anything else as JSON text).
    Json(JsonQuery),
    /// A response header (lower-case name).
    Header(String),
    /// A regex over the body: the given group (by default the first, or the whole match
    /// when it has none).
    Regex(Regex, Option<usize>),
    /// The status code.
    Status,
    /// A cookie the check holds after the step.
    Cookie(String),
    /// A DNS answer's data, by its place (0 first).
    Answer(usize),
}

impl Capture {
    /// What the capture looks for, for reports.
    pub fn describe(&self) -> String {
        match &self.source {
            CaptureSource::Json(q) => format!("a value at {}", q.text),
            CaptureSource::Header(h) => format!("header {h}"),
            CaptureSource::Regex(re, _) => format!("a match of /{}/", re.as_str()),
            CaptureSource::Status => "the status".into(),
            CaptureSource::Cookie(c) => format!("cookie {c}"),
            CaptureSource::Answer(i) => format!("DNS answer {i}"),
        }
    }
}

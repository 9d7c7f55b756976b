//! Captures: values taken from a response (JSON, header, body regex, status) for later steps.

use regex::Regex;

use crate::assert::{JsonQuery, as_text};
use crate::check::http::Response;
use crate::run::AssertionResult;

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
    /// A regex over the body: its first group, or the whole match when it has none.
    Regex(Regex),
    /// The status code.
    Status,
}

impl Capture {
    /// Takes the value from `resp`, or says why it could not.
    pub fn extract(&self, resp: &Response) -> Result<String, String> {
        match &self.source {
            CaptureSource::Json(q) => {
                let doc = resp.json()?;
                let nodes = q.path.query(doc).all();
                match nodes.first() {
                    Some(v) => Ok(as_text(v)),
                    None => Err("(nothing selected)".into()),
                }
            }
            CaptureSource::Header(name) => resp
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| "(absent)".into()),
            CaptureSource::Regex(re) => {
                let body = String::from_utf8_lossy(&resp.body);
                let caps = re.captures(&body).ok_or("(no match)")?;
                let m = caps.get(1).or_else(|| caps.get(0)).ok_or("(no match)")?;
                Ok(m.as_str().to_string())
            }
            CaptureSource::Status => Ok(resp.status.to_string()),
        }
    }

    /// What the capture looks for, for reports.
    pub fn describe(&self) -> String {
        match &self.source {
            CaptureSource::Json(q) => format!("a value at {}", q.text),
            CaptureSource::Header(h) => format!("header {h}"),
            CaptureSource::Regex(re) => format!("a match of /{}/", re.as_str()),
            CaptureSource::Status => "the status".into(),
        }
    }

    /// The report line for this capture: passed with the value (masked if secret), or failed.
    pub fn to_result(&self, got: &Result<String, String>) -> AssertionResult {
        let (passed, actual) = match got {
            Ok(_) if self.secret => (true, crate::redact::MASK.to_string()),
            Ok(v) => (true, v.clone()),
            Err(why) => (false, why.clone()),
        };
        AssertionResult {
            subject: format!("capture {}", self.name),
            passed,
            expected: self.describe(),
            actual,
        }
    }
}

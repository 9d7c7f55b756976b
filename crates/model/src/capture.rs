//! Taking captured values from what a check observed, and reporting them.

use crate::assert::as_text;
use crate::canary::capture::{Capture, CaptureSource};
use crate::observed::Observed;
use crate::run::AssertionResult;

/// Takes the value of `capture` from `seen`, or says why it could not.
pub fn extract(capture: &Capture, seen: &Observed) -> Result<String, String> {
    match &capture.source {
        CaptureSource::Json(q) => {
            let doc = seen.json()?;
            let nodes = q.path.query(doc).all();
            match nodes.first() {
                Some(v) => Ok(as_text(v)),
                None => Err("(nothing selected)".into()),
            }
        }
        CaptureSource::Header(name) => seen
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| "(absent)".into()),
        CaptureSource::Regex(re, group) => {
            let body = String::from_utf8_lossy(&seen.body);
            let caps = re.captures(&body).ok_or("(no match)")?;
            let m = match group {
                Some(g) => caps.get(*g),
                None => caps.get(1).or_else(|| caps.get(0)),
            };
            Ok(m.ok_or("(no such group)")?.as_str().to_string())
        }
        CaptureSource::Status => seen
            .status
            .map(|s| s.to_string())
            .ok_or_else(|| "(no status)".into()),
        CaptureSource::Answer(i) => seen
            .dns
            .as_ref()
            .and_then(|d| d.answers.get(*i))
            .map(|a| a.data.clone())
            .ok_or_else(|| "(no such answer)".into()),
        CaptureSource::Cookie(name) => seen
            .cookie(name)
            .map(str::to_string)
            .ok_or_else(|| "(no such cookie)".into()),
    }
}

/// The report line for a capture: passed with the value (masked if secret), or failed.
pub fn to_result(capture: &Capture, got: &Result<String, String>) -> AssertionResult {
    let (passed, actual) = match got {
        Ok(_) if capture.secret => (true, crate::redact::MASK.to_string()),
        Ok(v) => (true, v.clone()),
        Err(why) => (false, why.clone()),
    };
    AssertionResult::new(
        format!("capture {}", capture.name),
        passed,
        capture.describe(),
        actual,
    )
}

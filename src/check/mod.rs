//! Checks: one module per kind, each with the same `run(step, scope) -> StepRun` signature.

pub mod http;

use std::time::Instant;

use crate::canary::{Step, StepKind};
use crate::redact::Redactor;
use crate::run::StepRun;
use crate::template::Captures;

/// What one attempt carries from step to step.
#[derive(Debug)]
pub struct Scope {
    /// Values captured so far.
    pub captures: Captures,
    /// Every secret value known so far, captured ones included.
    pub redactor: Redactor,
    /// When the attempt must end.
    pub deadline: Instant,
}

/// Runs one step, whatever its kind. The result is already redacted.
pub async fn run(step: &Step, scope: &mut Scope) -> StepRun {
    match &step.kind {
        StepKind::Http(check) => http::run(step, check, scope).await,
    }
}

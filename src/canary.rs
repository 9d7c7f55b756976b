//! The compiled canary: what loading produces and what the runner runs.

use std::path::PathBuf;
use std::time::Duration;

use crate::check::browser::BrowserCheck;
use crate::check::http::HttpCheck;
use crate::schedule::Schedule;

/// A canary, validated and compiled: nothing in it is parsed again at run time.
#[derive(Debug, Clone)]
pub struct Canary {
    /// Unique name.
    pub name: String,
    /// The file it was loaded from.
    pub file: PathBuf,
    /// When the scheduler runs it.
    pub schedule: Schedule,
    /// The time one attempt (all its steps) may take.
    pub timeout: Duration,
    /// Extra attempts after a failed or errored one.
    pub retries: u32,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// The steps, run in order.
    pub steps: Vec<Step>,
    /// Secret values (from `${secret:…}`), redacted from every output.
    pub secrets: Vec<String>,
    /// Extra metric dimensions, besides `CanaryName`.
    pub dimensions: Vec<(String, String)>,
}

impl Canary {
    /// The kind of check the canary runs, for listings.
    pub fn kind(&self) -> &'static str {
        match self.steps.first().map(|s| &s.kind) {
            Some(StepKind::Browser(_)) => "browser",
            _ => "http",
        }
    }
}

/// One step of a canary.
#[derive(Debug, Clone)]
pub struct Step {
    /// The step's name (the canary's name for a single-request canary).
    pub name: String,
    /// The step's own time limit, within the attempt's.
    pub timeout: Option<Duration>,
    /// Run the next steps even when this one fails.
    pub continue_on_failure: bool,
    /// What the step does.
    pub kind: StepKind,
}

/// The kinds of step.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// An HTTP request with its assertions and captures.
    Http(Box<HttpCheck>),
    /// Browser actions in the attempt's browser session.
    Browser(BrowserCheck),
}

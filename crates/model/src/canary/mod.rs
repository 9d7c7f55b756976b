//! The compiled canary: what a canary *is* once loaded — plain data that imports no executor.

pub mod alarm;
pub mod alerting;
pub mod assertion;
pub mod browser;
pub mod capture;
pub mod dns;
pub mod grpc;
pub mod http;
pub mod kinds;
pub mod maintenance;
pub mod net;
pub mod tcp;
pub mod tls;
pub mod websocket;

use std::path::PathBuf;
use std::time::Duration;

use crate::schedule::Schedule;
use assertion::Assertion;
use browser::BrowserCheck;
use capture::Capture;
pub use kinds::CheckKind;

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
    /// Secret values (from `${secret:…}`) and their encoded forms, redacted from every output.
    pub secrets: crate::redact::Redactor,
    /// Extra metric dimensions, besides `CanaryName`.
    pub dimensions: Vec<(String, String)>,
    /// Keep cookies from step to step within an attempt.
    pub cookies: bool,
    /// Its CloudWatch metric alarms (the project's defaults merged with its own).
    pub alarms: Vec<alarm::Alarm>,
    /// Its composite alarms.
    pub composites: Vec<alarm::Composite>,
    /// The runner's own alert policy for it (None: no alert state, no notifications).
    pub alerting: Option<alerting::Alerting>,
    /// The project's maintenance windows that cover it.
    pub maintenance: Vec<std::sync::Arc<maintenance::Window>>,
}

impl Canary {
    /// The kinds of check the canary runs, for listings: `http`, `browser`, or `dns+http`.
    pub fn kind(&self) -> String {
        let mut kinds: Vec<&str> = Vec::new();
        for s in &self.steps {
            if !kinds.contains(&s.kind.name()) {
                kinds.push(s.kind.name());
            }
        }
        kinds.join("+")
    }

    /// True when a step may speak TLS itself (HTTPS, a URL known only at run time, `tls:` on a
    /// connection, a certificate check); a browser's TLS is Chromium's.
    pub fn uses_tls(&self) -> bool {
        self.steps.iter().any(|s| s.kind.uses_tls())
    }

    /// True when a step drives a browser.
    pub fn uses_browser(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Browser(_)))
    }
}

/// One step of a canary.
#[derive(Debug, Clone)]
pub struct Step {
    /// The step's name (the canary's name for a single-check canary).
    pub name: String,
    /// The step's own time limit, within the attempt's.
    pub timeout: Option<Duration>,
    /// Run the next steps even when this one fails.
    pub continue_on_failure: bool,
    /// What the step does.
    pub kind: StepKind,
    /// What must hold of what the step observed (browser steps assert through their actions).
    pub assertions: Vec<Assertion>,
    /// What describes the healthy state more strictly: when one of these does not hold but
    /// every assertion does, the step is degraded.
    pub degraded: Vec<Assertion>,
    /// Values to keep for later steps.
    pub captures: Vec<Capture>,
    /// The cookies this step receives are secrets: redacted from every output.
    pub secret_cookies: bool,
}

impl Step {
    /// A step of `kind` with no limit of its own, no assertions and no captures.
    pub fn new(name: String, kind: StepKind) -> Step {
        Step {
            name,
            timeout: None,
            continue_on_failure: false,
            kind,
            assertions: Vec::new(),
            degraded: Vec::new(),
            captures: Vec::new(),
            secret_cookies: false,
        }
    }
}

/// Makes [`StepKind`] from the kinds' table ([`crate::for_each_kind`]).
macro_rules! step_kind {
    ({} $( $(#[$doc:meta])* $variant:ident $key:ident $check:ident $raw:ident; )*) => {
        /// The kinds of step: `browser:`, and one per line of the kinds' table.
        #[derive(Debug, Clone)]
        pub enum StepKind {
            /// Browser actions in the attempt's browser session.
            Browser(BrowserCheck),
            $( $(#[$doc])* $variant(Box<$key::$check>), )*
        }

        impl StepKind {
            /// The sections a canary or step can hold, as the file spells them: `http`, `tcp`, …
            pub const SECTIONS: &'static [&'static str] = &[$(stringify!($key)),*];

            /// The assertion keys that mean something for this kind.
            pub fn assertion_keys(&self) -> &'static [&'static str] {
                match self {
                    StepKind::Browser(_) => &["latency"],
                    $( StepKind::$variant(_) => <$key::$check as CheckKind>::ASSERTION_KEYS, )*
                }
            }

            /// The kind's name, as the canary file spells its section.
            pub fn name(&self) -> &'static str {
                match self {
                    StepKind::Browser(_) => "browser",
                    $( StepKind::$variant(_) => stringify!($key), )*
                }
            }

            /// True when the step may speak TLS itself; a browser's TLS is Chromium's.
            pub fn uses_tls(&self) -> bool {
                match self {
                    StepKind::Browser(_) => false,
                    $( StepKind::$variant(c) => c.uses_tls(), )*
                }
            }
        }
    };
}

crate::for_each_kind!(step_kind {});

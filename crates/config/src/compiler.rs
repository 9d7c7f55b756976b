//! The compiler of one canary file: where errors are collected, and what every kind's section
//! shares (templates, durations, a step's assertions, captures and `degraded:`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_saphyr::Location;

use super::error::ConfigError;
use super::raw::{RawAssert, RawCapture, S};
use super::vars::Vars;
use super::{LoadOptions, values};
use crate::canary::assertion::Assertion;
use crate::canary::{Step, StepKind};
use crate::template::Template;
use canary_model::tls::ClientTls;

/// The default time one attempt may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default schedule.
pub const DEFAULT_SCHEDULE: &str = "rate(5 minutes)";
/// The default cap on body bytes read.
pub const DEFAULT_MAX_BODY: u64 = 5 << 20;
/// The default cap on redirects followed.
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;
/// The most retries a canary may ask for.
pub const MAX_RETRIES: u32 = 10;
/// The longest timeout a canary or step may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Compiles one canary, collecting every error in the file.
pub struct Compiler<'a> {
    pub(super) file: &'a Path,
    pub(super) errors: Vec<ConfigError>,
    pub(super) vars: Vars<'a>,
    /// The canary's proxy (its own `proxy:`, else `--proxy`).
    pub(super) proxy: Option<url::Url>,
}

impl<'a> Compiler<'a> {
    /// A compiler for `file`, with these variables in scope.
    pub(super) fn new(
        file: &'a Path,
        opts: &'a LoadOptions,
        variables: &'a BTreeMap<String, S<String>>,
    ) -> Compiler<'a> {
        Compiler {
            file,
            errors: Vec::new(),
            vars: Vars::new(opts, variables),
            proxy: None,
        }
    }

    /// The errors found, secrets redacted, in file order.
    pub(super) fn finish(&mut self) -> Vec<ConfigError> {
        // A message may quote a value that holds a secret (a bad URL, say).
        let redactor = crate::redact::Redactor::new(self.vars.secrets.iter().cloned());
        let mut errors = std::mem::take(&mut self.errors);
        for e in &mut errors {
            e.message = redactor.apply(&e.message);
        }
        errors.sort_by_key(|e| (e.line, e.column));
        errors
    }

    /// The TLS settings of checks that give none (built once per process, on first use).
    pub(super) fn default_tls(&mut self, at: &Location) -> Option<Arc<ClientTls>> {
        let r = canary_model::tls::shared_default();
        self.check(at, r)
    }

    /// Records an error at `loc`.
    pub(super) fn fail(&mut self, loc: &Location, msg: impl Into<String>) {
        self.errors.push(ConfigError::at(self.file, loc, msg));
    }

    /// The value, or an error recorded at `loc`.
    pub(super) fn check<T>(&mut self, loc: &Location, r: Result<T, String>) -> Option<T> {
        r.map_err(|e| self.fail(loc, e)).ok()
    }

    /// A string with its `${…}` resolved.
    pub(super) fn template(&mut self, s: &S<String>) -> Option<Template> {
        let r = self.vars.expand(&s.value);
        self.check(&s.referenced, r)
    }

    pub(super) fn duration(&mut self, s: &Option<S<String>>) -> Option<Option<Duration>> {
        let Some(s) = s else { return Some(None) };
        let r = values::duration(&s.value).and_then(|d| match d {
            d if d.is_zero() => Err("a timeout must be longer than zero".into()),
            d if d > MAX_TIMEOUT => Err("a timeout is at most 1h".into()),
            d => Ok(d),
        });
        self.check(&s.referenced, r).map(Some)
    }
}

/// Assertions, captures, `degraded:` and `secret:` of a step: those written inside its kind's
/// section, or those beside it (where the canary's `degraded:` comes along too).
#[derive(Default)]
pub(super) struct Parts<'r> {
    /// `assert:` beside the kind's section.
    pub assert: &'r [S<RawAssert>],
    /// `capture:` beside the kind's section.
    pub capture: Option<&'r BTreeMap<String, S<RawCapture>>>,
    /// The step's own `degraded:`.
    pub degraded: &'r [S<RawAssert>],
    /// The canary's `degraded:`, which applies to every step.
    pub canary_degraded: &'r [S<RawAssert>],
    /// `secret: true` on the step.
    pub secret: bool,
}

impl<'r> Parts<'r> {
    /// What a kind's section holds inside: its `assert:`, `capture:` and `degraded:`.
    pub fn inside(
        assert: &'r [S<RawAssert>],
        capture: &'r BTreeMap<String, S<RawCapture>>,
        degraded: &'r [S<RawAssert>],
    ) -> Parts<'r> {
        Parts {
            assert,
            capture: Some(capture),
            degraded,
            ..Parts::default()
        }
    }
}

impl Compiler<'_> {
    /// Compiles `a`, refusing what a step of `kind` has nothing to test for (a `status` on a
    /// DNS query), which would otherwise fail on every run.
    fn applicable(&mut self, a: &S<RawAssert>, kind: Option<&StepKind>) -> Vec<Assertion> {
        let compiled = self.assertion(a);
        let Some(kind) = kind else { return compiled };
        let keys = kind.assertion_keys();
        if let Some(bad) = compiled.iter().find(|x| !keys.contains(&x.key())) {
            let (key, name) = (bad.key(), kind.name());
            let known = keys.join(", ");
            self.fail(
                &a.referenced,
                format!("`{key}` does not apply to {name} steps (theirs: {known})"),
            );
            return Vec::new();
        }
        compiled
    }

    /// A step of `kind` with its assertions, `degraded:` assertions and captures compiled from
    /// the kind's section (`assert`, `capture`, `degraded` inside it) and `parts` beside it.
    pub(super) fn step(
        &mut self,
        name: String,
        kind: Option<StepKind>,
        inner: &Parts,
        parts: &Parts,
    ) -> Option<Step> {
        let mut assertions = Vec::new();
        for a in inner.assert.iter().chain(parts.assert) {
            assertions.extend(self.applicable(a, kind.as_ref()));
        }
        let mut degraded = Vec::new();
        let all_degraded = inner.degraded.iter().chain(parts.degraded);
        for a in all_degraded.chain(parts.canary_degraded) {
            degraded.extend(self.applicable(a, kind.as_ref()));
        }
        let mut captures = Vec::new();
        let all_captures = inner.capture.into_iter().chain(parts.capture);
        for (cname, cap) in all_captures.flatten() {
            captures.extend(self.capture(cname, cap));
        }
        for cap in &captures {
            self.vars.captures.insert(cap.name.clone());
        }
        // Kept for the daemon's life, 100,000 of them: no room for more than they hold.
        assertions.shrink_to_fit();
        degraded.shrink_to_fit();
        captures.shrink_to_fit();
        // A kind with errors leaves no step; its errors are recorded and the canary is rejected.
        Some(Step {
            assertions,
            degraded,
            captures,
            secret_cookies: inner.secret || parts.secret,
            ..Step::new(name, kind?)
        })
    }
}

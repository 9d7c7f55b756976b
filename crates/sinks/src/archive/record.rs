//! The archived records: one per run (the JSON report's entry plus who ran it), one per audit
//! event (canaries loaded or changed, alarms applied, shutdown) and, for CloudWatch Logs, one per
//! warning of the runner's own, with a versioned schema.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::report::json::{CanaryJson, canary};
use crate::run::Run;

/// The records' schema version; bumped on any incompatible change.
pub const SCHEMA: u32 = 1;

/// Who wrote a record: the same in every record of one runner.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Identity {
    /// The machine (or pod) name.
    pub host: String,
    /// The runner's shard (`I/N`), when sharded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Where the runner runs (`--location`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The AWS region (AWS_REGION), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// canary's version.
    pub version: String,
}

/// One run, as archived.
#[derive(Serialize)]
pub struct RunRecord<'a> {
    /// Always `run`.
    pub record: &'static str,
    /// [`SCHEMA`].
    pub schema: u32,
    /// The JSON report's entry: name, file, outcome, attempts, steps…
    #[serde(flatten)]
    pub entry: CanaryJson<'a>,
    /// Why the deciding attempt did not pass cleanly (None when it did).
    pub reason: Option<String>,
    /// The kind of error of the deciding attempt, when it errored (`timeout`, `refused`…).
    pub error_kind: Option<&'static str>,
    /// The canary's metric dimensions.
    pub dimensions: BTreeMap<&'a str, &'a str>,
    /// SHA-256 of the canary file as loaded.
    pub file_sha256: &'a str,
    /// Who ran it.
    pub runner: &'a Identity,
}

impl<'a> RunRecord<'a> {
    /// The record of `run`.
    pub fn new(run: &'a Run, file_sha256: &'a str, runner: &'a Identity) -> Self {
        let error_kind = run
            .last()
            .steps
            .iter()
            .find_map(|s| s.error.as_ref().map(|e| e.kind.as_str()));
        RunRecord {
            record: "run",
            schema: SCHEMA,
            entry: canary(run),
            reason: run.last().reason(),
            error_kind,
            dimensions: run
                .dimensions
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            file_sha256,
            runner,
        }
    }
}

/// A canary as an audit event names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CanaryRef {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// SHA-256 of its file.
    pub sha256: String,
}

/// What happened to the monitoring itself.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Audit {
    /// The runner loaded its canaries (at start) or loaded them again (reload).
    Load {
        /// `start` or `reload`.
        trigger: &'static str,
        /// How many canaries run now.
        canaries: usize,
        /// Canaries that were not there before.
        added: Vec<CanaryRef>,
        /// Canaries no longer there.
        removed: Vec<CanaryRef>,
        /// Canaries whose file changed.
        changed: Vec<CanaryRef>,
    },
    /// `canary alarms apply` changed CloudWatch alarms.
    AlarmsApply {
        /// What was done, one line per alarm (`create x`, `update y`, `delete z`).
        changes: Vec<String>,
    },
    /// The runner stopped.
    Shutdown {
        /// Why: `signal`, or `finished` (`test`, `run --once`).
        reason: &'static str,
    },
}

/// An audit event, as archived.
#[derive(Serialize)]
pub struct AuditRecord<'a> {
    /// Always `audit`.
    pub record: &'static str,
    /// [`SCHEMA`].
    pub schema: u32,
    /// When it happened (RFC 3339).
    pub at: String,
    /// What happened.
    #[serde(flatten)]
    pub audit: &'a Audit,
    /// Who.
    pub runner: &'a Identity,
}

impl<'a> AuditRecord<'a> {
    /// The record of `audit` at `at`.
    pub fn new(audit: &'a Audit, at: SystemTime, runner: &'a Identity) -> Self {
        AuditRecord {
            record: "audit",
            schema: SCHEMA,
            at: humantime::format_rfc3339_millis(at).to_string(),
            audit,
            runner,
        }
    }
}

/// One of the runner's own warnings or errors, as shipped to CloudWatch Logs.
#[derive(Serialize)]
pub struct LogRecord<'a> {
    /// Always `log`.
    pub record: &'static str,
    /// [`SCHEMA`].
    pub schema: u32,
    /// When (RFC 3339).
    pub at: String,
    /// `WARN` or `ERROR`.
    pub level: &'a str,
    /// The event's message and fields.
    #[serde(flatten)]
    pub fields: &'a serde_json::Map<String, serde_json::Value>,
    /// Who.
    pub runner: &'a Identity,
}

impl<'a> LogRecord<'a> {
    /// The record of a log event at `at`.
    pub fn new(
        level: &'a str,
        fields: &'a serde_json::Map<String, serde_json::Value>,
        at: SystemTime,
        runner: &'a Identity,
    ) -> Self {
        LogRecord {
            record: "log",
            schema: SCHEMA,
            at: humantime::format_rfc3339_millis(at).to_string(),
            level,
            fields,
            runner,
        }
    }
}

/// SHA-256 of a file, in hex ("" when it cannot be read).
pub fn file_sha256(path: &Path) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return String::new();
    };
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

//! canary: synthetic monitoring canaries from YAML, run once (CI) or on a schedule. This crate is
//! the top of the workspace: the daemon, its scheduler and its file watching, over the crates
//! below (model → config → check → sinks, with alarms and importers beside them). The crates
//! below are re-exported here under the paths the commands and the tests use.

pub mod changes;
pub mod daemon;
pub mod scheduler;

pub use canary_alarm as alarm;
pub use canary_aws as aws;
pub use canary_check as check;
pub use canary_check::{reaper, runner, stop};
pub use canary_config as config;
pub use canary_import as import;
pub use canary_model::{
    assert, canary, capture, names, observed, redact, run, schedule, shard, template, text, tls,
};
pub use canary_sinks as sinks;
pub use canary_sinks::{archive, health, memory, metrics, notify, report};

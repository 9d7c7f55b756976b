//! canary: synthetic monitoring canaries from YAML — HTTP and browser checks run once (CI) or on a schedule.

pub mod alarm;
pub mod archive;
pub mod assert;
pub mod aws;
pub mod canary;
pub mod capture;
pub mod changes;
pub mod check;
pub mod config;
pub mod daemon;
pub mod health;
pub mod import;
pub mod metrics;
pub mod notify;
pub mod observed;
pub mod reaper;
pub mod redact;
pub mod report;
pub mod run;
pub mod runner;
pub mod schedule;
pub mod scheduler;
pub mod shard;
pub mod sinks;
pub mod template;
pub mod tls;

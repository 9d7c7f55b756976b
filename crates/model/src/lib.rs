//! The canary model: the compiled canary, what a check saw, run results, `${…}` templates,
//! schedules, redaction, and assertions and captures as pure functions of what was seen. No
//! executor, no sink, no async runtime: every crate above builds on this one.

pub mod assert;
pub mod canary;
pub mod capture;
pub mod names;
pub mod observed;
pub mod redact;
pub mod run;
pub mod schedule;
pub mod shard;
pub mod template;
pub mod text;
pub mod tls;
pub mod totp;

//! Alarms as code: the canaries' alarms → the CloudWatch state they ask for → a plan against
//! what is there → applied; or exported for CloudFormation, Terraform and Prometheus.

pub mod cloudwatch;
pub mod export;
pub mod plan;
pub mod spec;

pub use cloudwatch::{AlarmClient, AlarmError, Applied};
pub use plan::{Change, Existing, Plan, plan};
pub use spec::{AlarmSpec, Settings, desired};

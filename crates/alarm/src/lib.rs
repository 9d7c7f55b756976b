//! Alarms as code: the canaries' alarms → the CloudWatch state they ask for → a plan against
//! what is there → applied; or exported for CloudFormation, Terraform and Prometheus.

// The crates below this one, reached as `crate::…` like this crate's own modules.
use canary_aws as aws;
use canary_model::{canary, names};

pub mod cloudwatch;
pub mod export;
pub mod plan;
pub mod quorum;
pub mod spec;

pub use cloudwatch::{AlarmClient, AlarmError, Applied};
pub use plan::{Change, Existing, Plan, plan};
pub use spec::{AlarmSpec, Settings, desired};

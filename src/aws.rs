//! The one place that knows how to reach AWS: the default credential and region chain,
//! `--endpoint-url` for an emulator, retries and timeouts. Every AWS client is built from it.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// Why AWS cannot be reached at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// No region in the chain.
    #[error("no AWS region: set AWS_REGION (or a profile's region)")]
    NoRegion,
}

/// How patient the clients are.
#[derive(Debug, Clone, Copy)]
pub enum Patience {
    /// Few, quick attempts: a sink that spools and retries on its own schedule.
    Sink,
    /// Many attempts with adaptive backoff: control-plane work (alarms) that must get through
    /// CloudWatch's throttling.
    ControlPlane,
}

/// The SDK configuration from the default chain, with `endpoint_url` instead of AWS's endpoints.
pub async fn config(
    endpoint_url: Option<&str>,
    patience: Patience,
) -> Result<aws_config::SdkConfig, AwsError> {
    let (retry, attempt, total) = match patience {
        Patience::Sink => (RetryConfig::standard().with_max_attempts(3), 5, 15),
        Patience::ControlPlane => (RetryConfig::adaptive().with_max_attempts(10), 10, 120),
    };
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry)
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(attempt))
                .operation_timeout(Duration::from_secs(total))
                .build(),
        );
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let conf = loader.load().await;
    if conf.region().is_none() {
        return Err(AwsError::NoRegion);
    }
    Ok(conf)
}

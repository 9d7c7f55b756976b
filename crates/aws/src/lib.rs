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
    /// No credentials in the chain.
    #[error(
        "no AWS credentials found ({0}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
         AWS_PROFILE (with `aws sso login` for SSO), or run where a role is given (an ECS task \
         role, an EC2 instance profile, EKS pod identity or IRSA)"
    )]
    NoCredentials(String),
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

/// Fails with a sentence when the chain in `conf` finds no credentials, before any call makes
/// the SDK say so at length.
pub async fn require_credentials(conf: &aws_config::SdkConfig) -> Result<(), AwsError> {
    use aws_credential_types::provider::{ProvideCredentials, error::CredentialsError};
    let Some(provider) = conf.credentials_provider() else {
        return Err(AwsError::NoCredentials("no credential chain".into()));
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(CredentialsError::CredentialsNotLoaded(_)) => Err(AwsError::NoCredentials(
            "none of the environment, profiles, SSO, web identity, container or instance \
             metadata gave any"
                .into(),
        )),
        Err(e) => Err(AwsError::NoCredentials(
            std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string()),
        )),
    }
}

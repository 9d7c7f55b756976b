//! LocalStack for the tests that talk to AWS services: its URL, SDK clients for it, and the real
//! binary run with test credentials.

use std::path::Path;
use std::process::{Command, Output};
use std::time::SystemTime;

/// LocalStack's URL; a test without it fails under CI and is skipped (saying so) elsewhere.
pub fn localstack() -> Option<String> {
    match std::env::var("CANARY_TEST_CLOUDWATCH_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CANARY_TEST_CLOUDWATCH_URL is not set: run the tests with scripts/test, which installs and starts LocalStack"
            )
        }
        Err(_) => {
            eprintln!("skipped: no AWS emulator (run scripts/test, which starts LocalStack)");
            None
        }
    }
}

/// A name no other test (or earlier run) uses: `<prefix>-<test>-<nanos>`.
pub fn unique(prefix: &str, test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{test}-{nanos}")
}

/// Runs the binary with AWS test credentials.
pub fn canary(dir: &Path, args: &[&str]) -> Output {
    aws_command(dir, args).output().unwrap()
}

/// The binary with AWS test credentials and region, not yet run.
pub fn aws_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(super::binary());
    cmd.args(args)
        .current_dir(dir)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("CANARY_NAMESPACE")
        .env_remove("CANARY_DIMENSIONS");
    cmd
}

/// SDK configuration for LocalStack at `url`.
pub async fn sdk_config(url: &str) -> aws_config::SdkConfig {
    let creds = aws_sdk_cloudwatch::config::Credentials::new("test", "test", None, None, "test");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .load()
        .await
}

/// A CloudWatch client for LocalStack at `url`.
pub async fn cloudwatch(url: &str) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&sdk_config(url).await)
}

/// An S3 client for LocalStack at `url`, and a new bucket `bucket` in it.
pub async fn s3_with_bucket(url: &str, bucket: &str) -> aws_sdk_s3::Client {
    let conf = sdk_config(url).await;
    let s3conf = aws_sdk_s3::config::Builder::from(&conf)
        .force_path_style(true)
        .build();
    let c = aws_sdk_s3::Client::from_conf(s3conf);
    c.create_bucket().bucket(bucket).send().await.unwrap();
    c
}

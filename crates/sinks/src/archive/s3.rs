//! The S3 archive's destination: each spooled batch (see `batches.rs`) is one object,
//! `<prefix>/canary=<name>/date=D/HH-<host>-<ms>.jsonl`, put under a key fixed when it was
//! spooled, so a repeated upload overwrites and never doubles.

use super::spool::Entry;
use super::upload::{BoxFuture, Destination};

/// Where in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (no leading or trailing `/`; may be empty).
    pub prefix: String,
}

impl Location {
    /// `s3://bucket/prefix`.
    pub fn parse(url: &str) -> Option<Location> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then(|| Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// `s3://bucket/prefix`, or why not (for a command-line value).
    pub fn from_url(url: &str) -> Result<Location, String> {
        Location::parse(url)
            .ok_or_else(|| format!("`{url}` has no bucket: give s3://BUCKET/PREFIX"))
    }

    /// The key of `rel` under the prefix.
    pub fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }
}

/// S3 as the uploader's destination: each spooled entry is one `PutObject`.
pub struct S3Dest {
    /// The client.
    pub client: aws_sdk_s3::Client,
    /// Where.
    pub location: Location,
}

impl Destination for S3Dest {
    fn send<'a>(&'a self, entry: &'a Entry) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let key = entry.key().map_err(|e| e.to_string())?;
            let body = aws_sdk_s3::primitives::ByteStream::from_path(entry.body())
                .await
                .map_err(|e| e.to_string())?;
            let content_type = if key.ends_with(".jsonl") {
                "application/x-ndjson"
            } else {
                "application/octet-stream"
            };
            self.client
                .put_object()
                .bucket(&self.location.bucket)
                .key(self.location.key(&key))
                .content_type(content_type)
                .body(body)
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        let l = Location::parse("s3://b/runs/prod/").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("b", "runs/prod"));
        assert_eq!(l.key("x.jsonl"), "runs/prod/x.jsonl");
        assert_eq!(Location::parse("s3://b").unwrap().key("x"), "x");
        assert_eq!(Location::parse("s3:///x"), None);
        assert_eq!(Location::parse("/tmp/x"), None);
    }
}

//! The alert state in S3 (`--state-dir s3://BUCKET/PREFIX`), for runners that start with an
//! empty disk each time — `run --once` in a CronJob or a scheduled task: one object per canary,
//! replaced only by a conditional write on the ETag it was read at (`If-Match`, or
//! `If-None-Match: *` for the first), so that two runners racing on one canary change its state,
//! and notify, once. Runners in several locations that must agree keep a view each, and share
//! the incident.

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use super::state::{AlertState, Entry, Transition};
use crate::archive::s3::Location;
use crate::canary::alarm::Quorum;
use crate::canary::alerting::Alerting;
use crate::run::Run;

/// How often a write that lost a race is tried again on the state the winner wrote.
const ATTEMPTS: usize = 10;

/// One canary's object.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    version: u32,
    canary: String,
    #[serde(flatten)]
    entry: Entry,
}

/// The alert state of every canary, in S3.
#[derive(Debug, Clone)]
pub struct SharedBook {
    client: aws_sdk_s3::Client,
    location: Location,
}

/// Why a conditional write did not take.
enum WriteError {
    /// Another runner wrote the object since it was read.
    Lost,
    /// S3 refused or could not be reached.
    Failed(String),
}

impl SharedBook {
    /// The state at `location`; the bucket must exist and be readable.
    pub async fn open(
        location: Location,
        conf: &aws_config::SdkConfig,
        path_style: bool,
    ) -> Result<SharedBook, String> {
        let s3conf = aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(path_style)
            .build();
        let client = aws_sdk_s3::Client::from_conf(s3conf);
        client
            .head_bucket()
            .bucket(&location.bucket)
            .send()
            .await
            .map_err(|e| format!("bucket {}: {}", location.bucket, DisplayErrorContext(e)))?;
        Ok(SharedBook { client, location })
    }

    /// Applies `run` to its canary's state in S3 and returns the change it made, if any: read,
    /// apply, write back on the condition that nobody wrote in between; when somebody did, the
    /// run is applied again to what they wrote.
    pub async fn observe(
        &self,
        policy: &Alerting,
        run: &Run,
    ) -> Result<Option<Transition>, String> {
        let mut change = None;
        self.update(&self.key(&run.canary), &run.canary, |e| {
            change = e.observe(policy, run);
            true
        })
        .await?;
        Ok(change)
    }

    /// Applies `run`, seen from location `here`, to this location's own view of its canary
    /// (`alert-state/<canary>/<here>.json`), counts the locations whose views are in ALARM, and
    /// sets the incident they share (`alert-state/<canary>.json`) to ALARM when `quorum.need` of
    /// them are, else OK — by a conditional write, so that of the runners that see it flip, one
    /// changes it and notifies. A location without a view (yet) is not in ALARM.
    pub async fn observe_at(
        &self,
        policy: &Alerting,
        run: &Run,
        here: &str,
        quorum: &Quorum,
    ) -> Result<Option<Transition>, String> {
        let canary = &run.canary;
        let own = self.key_at(canary, here);
        let view = self.update(&own, canary, |e| {
            e.observe(policy, run);
            true
        });
        let view = view.await?;
        if run.maintenance.is_some() {
            return Ok(None); // nobody is told during a window
        }
        let mut alarming = 0;
        for l in &quorum.locations {
            let state = match l == here {
                true => view.state,
                false => self.read(&self.key_at(canary, l)).await?.0.state,
            };
            alarming += u32::from(state == AlertState::Alarm);
        }
        let wanted = match alarming >= quorum.need {
            true => AlertState::Alarm,
            false => AlertState::Ok,
        };
        let mut change = None;
        self.update(&self.key(canary), canary, |e| {
            change = e.settle(wanted, policy, canary, view.failed_runs);
            change.is_some()
        })
        .await?;
        Ok(change)
    }

    /// Read, `apply`, and write back if it says so, on the condition that nobody wrote in
    /// between (else again, on what they wrote); returns the entry as left.
    async fn update(
        &self,
        key: &str,
        canary: &str,
        mut apply: impl FnMut(&mut Entry) -> bool,
    ) -> Result<Entry, String> {
        for _ in 0..ATTEMPTS {
            let (mut entry, etag) = self.read(key).await?;
            if !apply(&mut entry) {
                return Ok(entry);
            }
            match self
                .write(key, canary, entry.clone(), etag.as_deref())
                .await
            {
                Ok(()) => return Ok(entry),
                Err(WriteError::Lost) => continue,
                Err(WriteError::Failed(e)) => return Err(e),
            }
        }
        Err(format!(
            "s3://{}/{key}: still written by another runner after {ATTEMPTS} attempts",
            self.location.bucket
        ))
    }

    fn key(&self, canary: &str) -> String {
        self.location.key(&format!("alert-state/{canary}.json"))
    }

    /// Where location `at`'s own view of `canary` is kept.
    fn key_at(&self, canary: &str, at: &str) -> String {
        self.location
            .key(&format!("alert-state/{canary}/{at}.json"))
    }

    /// The canary's entry and the ETag it was read at (a new entry and none when there is none).
    async fn read(&self, key: &str) -> Result<(Entry, Option<String>), String> {
        let got = self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(key)
            .send()
            .await;
        let object = match got {
            Ok(o) => o,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => {
                return Ok((Entry::new(), None));
            }
            Err(e) => return Err(self.failed(key, e)),
        };
        let etag = object.e_tag().map(str::to_string);
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| format!("s3://{}/{key}: {e}", self.location.bucket))?
            .into_bytes();
        let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "s3://{}/{key} is not canary's alert state: {e}",
                self.location.bucket
            )
        })?;
        Ok((saved.entry, etag))
    }

    /// Writes `entry` if the object is still at `etag` (or, with none, still absent).
    async fn write(
        &self,
        key: &str,
        canary: &str,
        entry: Entry,
        etag: Option<&str>,
    ) -> Result<(), WriteError> {
        let saved = Saved {
            version: 1,
            canary: canary.to_string(),
            entry,
        };
        let body =
            serde_json::to_vec_pretty(&saved).map_err(|e| WriteError::Failed(e.to_string()))?;
        let put = self
            .client
            .put_object()
            .bucket(&self.location.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        let put = match etag {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            // 412: the condition failed; 409: a concurrent conditional write is under way.
            Err(SdkError::ServiceError(e)) if matches!(e.raw().status().as_u16(), 409 | 412) => {
                Err(WriteError::Lost)
            }
            Err(e) => Err(WriteError::Failed(self.failed(key, e))),
        }
    }

    fn failed<E: std::error::Error + 'static, R: std::fmt::Debug>(
        &self,
        key: &str,
        e: SdkError<E, R>,
    ) -> String {
        format!(
            "s3://{}/{key}: {}",
            self.location.bucket,
            DisplayErrorContext(e)
        )
    }
}

//! Reading the alarms canary may own from CloudWatch, and applying a plan: PutMetricAlarm,
//! PutAnomalyDetector, PutCompositeAlarm, TagResource, DeleteAlarms, DeleteAnomalyDetector.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::error::{DisplayErrorContext, SdkError};
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, CompositeAlarm, Dimension, Metric, MetricAlarm, MetricDataQuery,
    MetricStat, SingleMetricAnomalyDetector, Statistic as CwStatistic, Tag,
};

use super::plan::{Change, Existing, Plan};
use super::spec::{
    AlarmSpec, CompositeSpec, Detector, MetricAlarmSpec, SUPPRESSOR_EXTENSION, SUPPRESSOR_WAIT,
    Settings, TAG_CANARY, sorted,
};
use crate::canary::alarm::{Actions, Quorum, Statistic};
use crate::quorum;

/// DeleteAlarms takes at most this many names a call.
const DELETE_BATCH: usize = 100;

/// What went wrong talking to CloudWatch.
#[derive(Debug, thiserror::Error)]
pub enum AlarmError {
    /// AWS cannot be reached at all.
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    /// A call failed (after the SDK's retries).
    #[error("CloudWatch {operation} {target}: {message}")]
    Call {
        /// The operation.
        operation: &'static str,
        /// What it was about.
        target: String,
        /// Why, as the SDK says.
        message: String,
    },
}

fn call_error<E, R>(
    operation: &'static str,
    target: &str,
) -> impl FnOnce(SdkError<E, R>) -> AlarmError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let target = target.to_string();
    move |e| AlarmError::Call {
        operation,
        target,
        message: DisplayErrorContext(&e).to_string(),
    }
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Alarms created or updated.
    pub put: Vec<String>,
    /// Alarms deleted.
    pub deleted: Vec<String>,
    /// Anomaly detectors created or deleted.
    pub detectors: usize,
}

/// A CloudWatch client for alarms.
pub struct AlarmClient {
    client: Client,
}

impl AlarmClient {
    /// A client from the default AWS chain (or `endpoint_url`), patient with throttling.
    pub async fn connect(endpoint_url: Option<&str>) -> Result<AlarmClient, AlarmError> {
        let conf = crate::aws::config(endpoint_url, crate::aws::Patience::ControlPlane).await?;
        crate::aws::require_credentials(&conf).await?;
        Ok(AlarmClient {
            client: Client::new(&conf),
        })
    }

    /// Every alarm whose name starts with the prefix, and whether canary owns it.
    pub async fn existing(&self, s: &Settings) -> Result<Vec<Existing>, AlarmError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_alarms()
                .alarm_name_prefix(&s.prefix)
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(100)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(call_error(
                    "DescribeAlarms",
                    &format!("prefix {:?}", s.prefix),
                ))?;
            for m in page.metric_alarms() {
                out.push((
                    m.alarm_arn().unwrap_or_default().to_string(),
                    metric_spec(m),
                ));
            }
            for c in page.composite_alarms() {
                out.push((
                    c.alarm_arn().unwrap_or_default().to_string(),
                    composite_spec(c),
                ));
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut existing = Vec::new();
        for (arn, mut spec) in out {
            let tags = self.tags(&arn).await?;
            let canary = tags
                .iter()
                .find(|(k, _)| k == TAG_CANARY)
                .map(|(_, v)| v.clone());
            if let Some(c) = canary {
                set_canary(&mut spec, c);
            }
            existing.push(Existing {
                managed: s.owns(&tags),
                spec,
            });
        }
        Ok(existing)
    }

    async fn tags(&self, arn: &str) -> Result<Vec<(String, String)>, AlarmError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(call_error("ListTagsForResource", arn))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| {
                let text = |s: Option<&str>| s.unwrap_or_default().to_string();
                (text(t.key()), text(t.value()))
            })
            .collect())
    }

    /// Carries out `plan` in its order; stops at the first failure (what was done is in the error's
    /// log lines and a new plan shows what is left).
    pub async fn apply(&self, plan: &Plan, s: &Settings) -> Result<Applied, AlarmError> {
        let mut done = Applied::default();
        for d in &plan.detectors {
            self.put_detector(d).await?;
            done.detectors += 1;
        }
        let mut deletes: Vec<String> = Vec::new();
        for change in &plan.changes {
            match change {
                Change::Create(spec) | Change::Update(spec, _) => {
                    self.flush_deletes(&mut deletes, &mut done).await?;
                    let arn = self.put(spec).await?;
                    self.tag(&arn, spec.name(), &s.tags(spec.canary())).await?;
                    tracing::info!(alarm = spec.name(), "alarm put");
                    done.put.push(spec.name().to_string());
                }
                Change::Delete(spec) => deletes.push(spec.name().to_string()),
                Change::Conflict(_) => {}
            }
        }
        self.flush_deletes(&mut deletes, &mut done).await?;
        for d in &plan.stale_detectors {
            self.delete_detector(d).await?;
            done.detectors += 1;
        }
        Ok(done)
    }

    async fn flush_deletes(
        &self,
        names: &mut Vec<String>,
        done: &mut Applied,
    ) -> Result<(), AlarmError> {
        for batch in names.chunks(DELETE_BATCH) {
            self.client
                .delete_alarms()
                .set_alarm_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(call_error("DeleteAlarms", &batch.join(", ")))?;
            tracing::info!(alarms = batch.len(), "alarms deleted");
            done.deleted.extend(batch.iter().cloned());
        }
        names.clear();
        Ok(())
    }

    /// Creates or replaces an alarm; returns its ARN.
    async fn put(&self, spec: &AlarmSpec) -> Result<String, AlarmError> {
        match spec {
            AlarmSpec::Metric(m) => self.put_metric(m).await,
            AlarmSpec::Composite(c) => self.put_composite(c).await,
        }
    }

    async fn put_metric(&self, m: &MetricAlarmSpec) -> Result<String, AlarmError> {
        let mut req = self
            .client
            .put_metric_alarm()
            .alarm_name(&m.name)
            .set_alarm_description(m.description.clone())
            .actions_enabled(true)
            .set_alarm_actions(Some(m.actions.alarm.clone()))
            .set_ok_actions(Some(m.actions.ok.clone()))
            .set_insufficient_data_actions(Some(m.actions.insufficient_data.clone()))
            .evaluation_periods(m.evaluation_periods as i32)
            .datapoints_to_alarm(m.datapoints as i32)
            .comparison_operator(ComparisonOperator::from(m.comparison.as_str()))
            .treat_missing_data(&m.missing);
        req = match (m.band, &m.quorum) {
            (_, Some(q)) => req
                .set_metrics(Some(quorum_queries(m, q)))
                .threshold(f64::from(q.need))
                .comparison_operator(ComparisonOperator::from(quorum::COMPARISON)),
            (None, None) => {
                let r = req
                    .namespace(&m.namespace)
                    .metric_name(&m.metric)
                    .set_dimensions(Some(dimensions(&m.dimensions)))
                    .period(m.period as i32)
                    .set_threshold(m.threshold);
                match &m.statistic {
                    Statistic::Simple(s) => r.statistic(CwStatistic::from(s.as_str())),
                    Statistic::Extended(s) => r.extended_statistic(s),
                }
            }
            (Some(band), None) => req
                .set_metrics(Some(anomaly_queries(m, band)))
                .threshold_metric_id("ad1"),
        };
        req.send()
            .await
            .map_err(call_error("PutMetricAlarm", &m.name))?;
        self.arn(&m.name).await
    }

    async fn put_composite(&self, c: &CompositeSpec) -> Result<String, AlarmError> {
        self.client
            .put_composite_alarm()
            .alarm_name(&c.name)
            .alarm_rule(&c.rule)
            .set_alarm_description(c.description.clone())
            .actions_enabled(true)
            .set_alarm_actions(Some(c.actions.alarm.clone()))
            .set_ok_actions(Some(c.actions.ok.clone()))
            .set_insufficient_data_actions(Some(c.actions.insufficient_data.clone()))
            .set_actions_suppressor(c.suppressor.clone())
            .set_actions_suppressor_wait_period(
                c.suppressor.as_ref().map(|_| SUPPRESSOR_WAIT as i32),
            )
            .set_actions_suppressor_extension_period(
                c.suppressor.as_ref().map(|_| SUPPRESSOR_EXTENSION as i32),
            )
            .send()
            .await
            .map_err(call_error("PutCompositeAlarm", &c.name))?;
        self.arn(&c.name).await
    }

    /// An alarm's ARN, from CloudWatch itself (it knows the account and partition).
    async fn arn(&self, name: &str) -> Result<String, AlarmError> {
        let out = self
            .client
            .describe_alarms()
            .alarm_names(name)
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .send()
            .await
            .map_err(call_error("DescribeAlarms", name))?;
        let arn = out
            .metric_alarms()
            .iter()
            .filter_map(MetricAlarm::alarm_arn)
            .chain(
                out.composite_alarms()
                    .iter()
                    .filter_map(CompositeAlarm::alarm_arn),
            )
            .next();
        arn.map(str::to_string).ok_or_else(|| AlarmError::Call {
            operation: "DescribeAlarms",
            target: name.to_string(),
            message: "the alarm just put is not there".into(),
        })
    }

    /// Tags an alarm (PutMetricAlarm's own tags apply only when it creates the alarm).
    async fn tag(
        &self,
        arn: &str,
        name: &str,
        tags: &[(String, String)],
    ) -> Result<(), AlarmError> {
        let tags: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(call_error("TagResource", name))?;
        Ok(())
    }

    async fn put_detector(&self, d: &Detector) -> Result<(), AlarmError> {
        self.client
            .put_anomaly_detector()
            .single_metric_anomaly_detector(single(d))
            .send()
            .await
            .map_err(call_error("PutAnomalyDetector", &d.metric))?;
        Ok(())
    }

    async fn delete_detector(&self, d: &Detector) -> Result<(), AlarmError> {
        self.client
            .delete_anomaly_detector()
            .single_metric_anomaly_detector(single(d))
            .send()
            .await
            .map_err(call_error("DeleteAnomalyDetector", &d.metric))?;
        Ok(())
    }
}

fn single(d: &Detector) -> SingleMetricAnomalyDetector {
    SingleMetricAnomalyDetector::builder()
        .namespace(&d.namespace)
        .metric_name(&d.metric)
        .set_dimensions(Some(dimensions(&d.dimensions)))
        .stat(&d.stat)
        .build()
}

/// `m1`, the metric, and `ad1`, its anomaly-detection band the alarm compares with.
fn anomaly_queries(m: &MetricAlarmSpec, band: f64) -> Vec<MetricDataQuery> {
    let stat = metric_stat(m, &m.dimensions);
    vec![
        MetricDataQuery::builder()
            .id("m1")
            .metric_stat(stat)
            .return_data(true)
            .build(),
        MetricDataQuery::builder()
            .id("ad1")
            .expression(band_expression(band))
            .label(format!("{} (expected)", m.metric))
            .return_data(true)
            .build(),
    ]
}

/// The metric math of an alarm over several locations.
fn quorum_queries(m: &MetricAlarmSpec, q: &Quorum) -> Vec<MetricDataQuery> {
    let query = |query: quorum::Query| match query {
        quorum::Query::Metric { id, location } => {
            let mut dims = m.dimensions.clone();
            dims.push((crate::names::LOCATION.into(), location));
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(metric_stat(m, &dims))
                .return_data(false)
                .build()
        }
        quorum::Query::Expression {
            id,
            expression,
            result,
        } => MetricDataQuery::builder()
            .id(id)
            .expression(expression)
            .set_label(result.then(|| "locations breaching".to_string()))
            .return_data(result)
            .build(),
    };
    quorum::queries(m, q).into_iter().map(query).collect()
}

/// The alarm's metric with `dims`, its period and statistic.
fn metric_stat(m: &MetricAlarmSpec, dims: &[(String, String)]) -> MetricStat {
    let metric = Metric::builder()
        .namespace(&m.namespace)
        .metric_name(&m.metric)
        .set_dimensions(Some(dimensions(dims)))
        .build();
    MetricStat::builder()
        .metric(metric)
        .period(m.period as i32)
        .stat(m.statistic.as_str())
        .build()
}

/// `ANOMALY_DETECTION_BAND(m1, 2)`.
pub fn band_expression(band: f64) -> String {
    format!("ANOMALY_DETECTION_BAND(m1, {band})")
}

fn dimensions(d: &[(String, String)]) -> Vec<Dimension> {
    d.iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect()
}

fn set_canary(spec: &mut AlarmSpec, canary: String) {
    match spec {
        AlarmSpec::Metric(m) => m.canary = canary,
        AlarmSpec::Composite(c) => c.canary = canary,
    }
}

fn actions(alarm: &[String], ok: &[String], insufficient: &[String]) -> Actions {
    sorted(&Actions {
        alarm: alarm.to_vec(),
        ok: ok.to_vec(),
        insufficient_data: insufficient.to_vec(),
    })
}

/// A metric alarm as CloudWatch describes it, read into the same shape as the files'.
fn metric_spec(m: &MetricAlarm) -> AlarmSpec {
    let mut dims: Vec<(String, String)> = m
        .dimensions()
        .iter()
        .map(|d| {
            (
                d.name().unwrap_or_default().into(),
                d.value().unwrap_or_default().into(),
            )
        })
        .collect();
    let mut spec = MetricAlarmSpec {
        name: m.alarm_name().unwrap_or_default().into(),
        canary: String::new(),
        description: m.alarm_description().map(str::to_string),
        namespace: m.namespace().unwrap_or_default().into(),
        metric: m.metric_name().unwrap_or_default().into(),
        dimensions: Vec::new(),
        statistic: match (m.statistic(), m.extended_statistic()) {
            (Some(s), _) => Statistic::Simple(s.as_str().into()),
            (None, Some(e)) => Statistic::Extended(e.into()),
            (None, None) => Statistic::Simple(String::new()),
        },
        period: m.period().unwrap_or_default() as u32,
        evaluation_periods: m.evaluation_periods().unwrap_or_default() as u32,
        datapoints: m
            .datapoints_to_alarm()
            .or(m.evaluation_periods())
            .unwrap_or_default() as u32,
        comparison: m
            .comparison_operator()
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        threshold: m.threshold(),
        band: None,
        missing: m.treat_missing_data().unwrap_or("missing").into(),
        actions: actions(
            m.alarm_actions(),
            m.ok_actions(),
            m.insufficient_data_actions(),
        ),
        quorum: None,
    };
    if let Some(stat) = m.metrics().iter().find_map(MetricDataQuery::metric_stat) {
        if let Some(metric) = stat.metric() {
            spec.namespace = metric.namespace().unwrap_or_default().into();
            spec.metric = metric.metric_name().unwrap_or_default().into();
            dims = metric
                .dimensions()
                .iter()
                .map(|d| {
                    (
                        d.name().unwrap_or_default().into(),
                        d.value().unwrap_or_default().into(),
                    )
                })
                .collect();
        }
        spec.period = stat.period().unwrap_or_default() as u32;
        let s = stat.stat().unwrap_or_default();
        spec.statistic = if ["Average", "Sum", "Minimum", "Maximum", "SampleCount"].contains(&s) {
            Statistic::Simple(s.into())
        } else {
            Statistic::Extended(s.into())
        };
        spec.threshold = None;
        spec.band = m
            .metrics()
            .iter()
            .filter_map(MetricDataQuery::expression)
            .find_map(parse_band);
        read_quorum(m, &mut spec, &mut dims);
    }
    dims.sort();
    spec.dimensions = dims;
    AlarmSpec::Metric(spec)
}

/// The locations, the per-location comparison and threshold, and N of an alarm over several
/// locations; the `Location` dimension is the locations', not the alarm's.
fn read_quorum(m: &MetricAlarm, spec: &mut MetricAlarmSpec, dims: &mut Vec<(String, String)>) {
    let query = |id: &str| m.metrics().iter().find(|q| q.id() == Some(id));
    if query(quorum::RESULT).is_none() {
        return;
    }
    let location = |q: &MetricDataQuery| {
        let metric = q.metric_stat()?.metric()?;
        let d = metric.dimensions().iter();
        d.filter(|d| d.name() == Some(crate::names::LOCATION))
            .find_map(|d| d.value().map(str::to_string))
    };
    let locations: Vec<String> = (0..)
        .map_while(|i| query(&format!("m{i}")))
        .filter_map(location)
        .collect();
    let breach = query("b0").and_then(MetricDataQuery::expression);
    if let Some((comparison, threshold)) = breach.and_then(quorum::read_breach) {
        spec.comparison = comparison;
        spec.threshold = Some(threshold);
    }
    dims.retain(|(k, _)| k != crate::names::LOCATION);
    spec.quorum = Some(Quorum {
        need: m.threshold().unwrap_or_default() as u32,
        locations,
    });
}

/// The band of `ANOMALY_DETECTION_BAND(m1, 2)`.
fn parse_band(expr: &str) -> Option<f64> {
    let inner = expr
        .trim()
        .strip_prefix("ANOMALY_DETECTION_BAND(")?
        .strip_suffix(')')?;
    inner.split(',').nth(1)?.trim().parse().ok()
}

fn composite_spec(c: &CompositeAlarm) -> AlarmSpec {
    AlarmSpec::Composite(CompositeSpec {
        name: c.alarm_name().unwrap_or_default().into(),
        canary: String::new(),
        description: c.alarm_description().map(str::to_string),
        rule: c.alarm_rule().unwrap_or_default().into(),
        children: Vec::new(),
        actions: actions(
            c.alarm_actions(),
            c.ok_actions(),
            c.insufficient_data_actions(),
        ),
        // Given by name; CloudWatch may say it by ARN (`…:alarm:<name>`).
        suppressor: c
            .actions_suppressor()
            .map(|s| match s.split_once(":alarm:") {
                Some((_, name)) => name.to_string(),
                None => s.to_string(),
            }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_band_back() {
        assert_eq!(parse_band(&band_expression(2.0)), Some(2.0));
        assert_eq!(parse_band("ANOMALY_DETECTION_BAND(m1, 1.5)"), Some(1.5));
        assert_eq!(parse_band("m1 * 2"), None);
    }
}

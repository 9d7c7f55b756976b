//! Windows → CloudWatch datums (a pure mapping), and datums → requests within CloudWatch's limits.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use serde::{Deserialize, Serialize};

use crate::metrics::{Unit, Window};

/// The most `Values`/`Counts` pairs in one datum.
pub const MAX_VALUES: usize = 150;
/// The most datums in one PutMetricData request.
pub const MAX_DATUMS: usize = 1000;
/// The most bytes of datums in one request (CloudWatch's limit is 1 MB; JSON overstates CBOR).
pub const MAX_BYTES: usize = 900_000;
/// How old a datum CloudWatch accepts.
pub const MAX_AGE: Duration = Duration::from_secs(14 * 86_400);

/// One CloudWatch datum, in a form that can be spooled to disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Datum {
    /// Metric name.
    pub name: String,
    /// Unit.
    pub unit: Unit,
    /// Dimensions.
    pub dimensions: Vec<(String, String)>,
    /// The window's start, in milliseconds since the epoch.
    pub timestamp_ms: u64,
    /// Distinct values, ascending.
    pub values: Vec<f64>,
    /// How many observations each value stands for.
    pub counts: Vec<f64>,
}

impl Datum {
    /// The datum's timestamp.
    pub fn timestamp(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.timestamp_ms)
    }

    /// The number of observations it stands for.
    pub fn observations(&self) -> f64 {
        self.counts.iter().sum()
    }
}

/// The datums of finished windows: one per series per window, `Values`/`Counts` compacted to at
/// most 150 pairs with count, sum, minimum and maximum exact.
pub fn datums(windows: &[Window]) -> Vec<Datum> {
    windows
        .iter()
        .filter(|w| w.agg.count() > 0)
        .map(|w| {
            let pairs = w.agg.values_counts(MAX_VALUES);
            Datum {
                name: w.series.name.to_string(),
                unit: w.series.unit,
                dimensions: w.series.dimensions.to_vec(),
                timestamp_ms: w
                    .start
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis() as u64,
                values: pairs.iter().map(|p| p.0).collect(),
                counts: pairs.iter().map(|p| p.1 as f64).collect(),
            }
        })
        .collect()
}

/// Splits datums into requests of at most 1,000 datums and about 1 MB, in order.
pub fn batches(datums: Vec<Datum>) -> Vec<Vec<Datum>> {
    let mut out: Vec<Vec<Datum>> = Vec::new();
    let mut bytes = 0;
    for d in datums {
        let size = json_size(&d);
        let full = out
            .last()
            .is_none_or(|b| b.len() >= MAX_DATUMS || bytes + size > MAX_BYTES);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        out.last_mut().expect("a batch was just pushed").push(d);
    }
    out
}

/// The length of the datum as JSON (which overstates the request's CBOR), counted as it is
/// written, without keeping it.
fn json_size(d: &Datum) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, d) {
        Ok(()) => count.0,
        Err(_) => MAX_BYTES,
    }
}

/// Splits a batch into the datums CloudWatch still accepts at `now` and those older than
/// two weeks (five minutes' margin).
pub fn split_too_old(batch: Vec<Datum>, now: SystemTime) -> (Vec<Datum>, Vec<Datum>) {
    let limit = now - MAX_AGE + Duration::from_secs(300);
    batch.into_iter().partition(|d| d.timestamp() >= limit)
}

/// The SDK's form of a datum.
/// The SDK's datum; `high_resolution` stores it at one-second resolution.
pub fn to_sdk(d: &Datum, high_resolution: bool) -> MetricDatum {
    let dims = d
        .dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect();
    MetricDatum::builder()
        .metric_name(&d.name)
        .unit(match d.unit {
            Unit::Percent => StandardUnit::Percent,
            Unit::Milliseconds => StandardUnit::Milliseconds,
            Unit::Count => StandardUnit::Count,
        })
        .set_dimensions(Some(dims))
        .timestamp(DateTime::from(d.timestamp()))
        .set_values(Some(d.values.clone()))
        .set_counts(Some(d.counts.clone()))
        .set_storage_resolution(high_resolution.then_some(1))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Aggregate, SeriesKey};

    fn window(name: &'static str, values: &[f64]) -> Window {
        let mut agg = Aggregate::default();
        values.iter().for_each(|v| agg.record(*v));
        let series = SeriesKey {
            name,
            unit: Unit::Milliseconds,
            dimensions: vec![("CanaryName".into(), "c".into())].into(),
        };
        Window {
            series,
            start: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            agg,
        }
    }

    #[test]
    fn a_window_becomes_one_datum_at_its_start() {
        let d = datums(&[window("Duration", &[10.0, 20.0, 20.0])]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].timestamp_ms, 1_800_000_000_000);
        assert_eq!(
            (d[0].values.clone(), d[0].counts.clone()),
            (vec![10.0, 20.0], vec![1.0, 2.0])
        );
        let sdk = to_sdk(&d[0], false);
        assert_eq!(sdk.metric_name(), Some("Duration"));
        assert_eq!(sdk.unit(), Some(&StandardUnit::Milliseconds));
        assert_eq!(sdk.dimensions()[0].value(), Some("c"));
    }

    #[test]
    fn many_observations_compact_to_150_values() {
        let values: Vec<f64> = (0..5000).map(|i| 1.0 + i as f64 * 1.37).collect();
        let d = datums(&[window("Duration", &values)]);
        assert!(d[0].values.len() <= MAX_VALUES && d[0].values.len() == d[0].counts.len());
        assert_eq!(d[0].observations(), 5000.0);
        let sum: f64 = d[0]
            .values
            .iter()
            .zip(&d[0].counts)
            .map(|(v, c)| v * c)
            .sum();
        let exact: f64 = values.iter().sum();
        assert!((sum - exact).abs() < 1e-6 * exact);
    }

    #[test]
    fn datums_older_than_two_weeks_are_split_off() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |secs_ago: u64| Datum {
            timestamp_ms: (now - Duration::from_secs(secs_ago))
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis() as u64,
            ..datums(&[window("Duration", &[1.0])]).remove(0)
        };
        let (fresh, old) = split_too_old(
            vec![at(60), at(13 * 86_400), at(14 * 86_400), at(20 * 86_400)],
            now,
        );
        assert_eq!((fresh.len(), old.len()), (2, 2));
    }

    #[test]
    fn batches_hold_at_most_1000_datums_and_1_mb() {
        let one = datums(&[window("Duration", &[1.0])]).remove(0);
        let b = batches(vec![one.clone(); 2500]);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        assert!(batches(Vec::new()).is_empty());
        let values: Vec<f64> = (0..150).map(|i| 1000.123456 + i as f64).collect();
        let big = Datum {
            values: values.clone(),
            counts: vec![1.0; 150],
            ..one
        };
        let b = batches(vec![big; 1000]);
        assert!(
            b.len() > 1
                && b.iter()
                    .all(|x| serde_json::to_vec(x).unwrap().len() <= MAX_BYTES + 10_000),
            "{}",
            b.len()
        );
        assert_eq!(b.iter().map(Vec::len).sum::<usize>(), 1000);
    }
}

//! The metric math of an alarm over several locations: one query per location's series, one
//! 0-or-1 breach per location, and their sum compared with N — written the same way to
//! CloudWatch, CloudFormation and Terraform, and read back from CloudWatch.

use crate::canary::alarm::Quorum;
use crate::spec::MetricAlarmSpec;

/// The comparison the sum of breaching locations is held to: at least N.
pub const COMPARISON: &str = "GreaterThanOrEqualToThreshold";
/// The id of the query the alarm compares: the number of locations breaching.
pub const RESULT: &str = "q";

/// One query of the metric math.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// `m<i>`: the alarm's metric at location `i` (not returned).
    Metric {
        /// The query's id.
        id: String,
        /// The location (the `Location` dimension's value).
        location: String,
    },
    /// `b<i>` (not returned) or [`RESULT`] (returned).
    Expression {
        /// The query's id.
        id: String,
        /// The metric math.
        expression: String,
        /// Whether it is the alarm's value.
        result: bool,
    },
}

/// The symbol of a threshold comparison in metric math.
fn symbol(comparison: &str) -> Option<&'static str> {
    Some(match comparison {
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "<=",
        "GreaterThanThreshold" => ">",
        "GreaterThanOrEqualToThreshold" => ">=",
        _ => return None,
    })
}

/// A location without data breaches when the alarm's missing data does.
fn fill(m: &MetricAlarmSpec) -> u8 {
    u8::from(m.missing == "breaching")
}

/// The queries of `m` over `q`'s locations.
pub fn queries(m: &MetricAlarmSpec, q: &Quorum) -> Vec<Query> {
    let op = symbol(&m.comparison).unwrap_or(">=");
    let threshold = m.threshold.unwrap_or_default();
    let mut out = Vec::new();
    for (i, location) in q.locations.iter().enumerate() {
        out.push(Query::Metric {
            id: format!("m{i}"),
            location: location.clone(),
        });
    }
    for i in 0..q.locations.len() {
        out.push(Query::Expression {
            id: format!("b{i}"),
            expression: format!("FILL(IF(m{i} {op} {threshold}, 1, 0), {})", fill(m)),
            result: false,
        });
    }
    let sum: Vec<String> = (0..q.locations.len()).map(|i| format!("b{i}")).collect();
    out.push(Query::Expression {
        id: RESULT.into(),
        expression: sum.join(" + "),
        result: true,
    });
    out
}

/// The per-location comparison and threshold written in `b0`'s expression, as
/// `(ComparisonOperator, threshold)`.
pub fn read_breach(expression: &str) -> Option<(String, f64)> {
    let inner = expression.trim().strip_prefix("FILL(IF(m0 ")?;
    let (op, rest) = inner.split_once(' ')?;
    let threshold = rest.split_once(',')?.0.trim().parse().ok()?;
    let comparison = [
        "LessThanThreshold",
        "LessThanOrEqualToThreshold",
        "GreaterThanThreshold",
        "GreaterThanOrEqualToThreshold",
    ]
    .into_iter()
    .find(|c| symbol(c) == Some(op))?;
    Some((comparison.to_string(), threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_comparison_is_read_back_as_written() {
        for c in [
            "LessThanThreshold",
            "LessThanOrEqualToThreshold",
            "GreaterThanThreshold",
            "GreaterThanOrEqualToThreshold",
        ] {
            let e = format!("FILL(IF(m0 {} 92.5, 1, 0), 1)", symbol(c).unwrap());
            assert_eq!(read_breach(&e), Some((c.to_string(), 92.5)));
        }
    }
}

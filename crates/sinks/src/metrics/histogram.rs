//! One series' observations in one window: a single value inline (a window usually holds one
//! run of each canary), beyond it the values themselves while they are few, an hdrhistogram once
//! they are many, and the exact count, sum, minimum and maximum beside them; compacted to
//! CloudWatch's `Values`/`Counts`.

use hdrhistogram::Histogram;

/// Values are recorded in thousandths (microseconds for milliseconds), 2 significant digits (1 %).
const SCALE: f64 = 1000.0;
/// Up to this many observations are kept exactly; beyond, they go to a histogram of a few
/// kilobytes.
const EXACT: usize = 150;

/// The observations of one series in one window: 16 bytes while it holds at most one.
#[derive(Debug, Clone, Default)]
pub struct Aggregate(Repr);

#[derive(Debug, Clone, Default)]
enum Repr {
    #[default]
    Empty,
    One(f64),
    Many(Box<Many>),
}

/// Two observations or more.
#[derive(Debug, Clone)]
struct Many {
    exact: Vec<f64>,
    /// Boxed: most windows with several values never need one.
    hist: Option<Box<Histogram<u32>>>,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Aggregate {
    /// Records one observation (negative and non-finite values count as zero).
    pub fn record(&mut self, value: f64) {
        let v = if value.is_finite() {
            value.max(0.0)
        } else {
            0.0
        };
        match &mut self.0 {
            Repr::Empty => self.0 = Repr::One(v),
            Repr::One(first) => self.0 = Repr::Many(Box::new(Many::of(*first, v))),
            Repr::Many(m) => m.record(v),
        }
    }

    /// How many observations.
    pub fn count(&self) -> u64 {
        match &self.0 {
            Repr::Empty => 0,
            Repr::One(_) => 1,
            Repr::Many(m) => m.count,
        }
    }

    /// Their exact sum.
    pub fn sum(&self) -> f64 {
        match &self.0 {
            Repr::Empty => 0.0,
            Repr::One(v) => *v,
            Repr::Many(m) => m.sum,
        }
    }

    /// At most `max_pairs` (value, count) pairs, ascending, whose counts add up to the count,
    /// whose value × count add up to the sum, whose first value is the minimum and last the
    /// maximum; inner values are the means of neighbouring buckets, so percentiles stay within
    /// a few percent.
    pub fn values_counts(&self, max_pairs: usize) -> Vec<(f64, u64)> {
        match &self.0 {
            Repr::Empty => Vec::new(),
            Repr::One(v) => vec![(*v, 1)],
            Repr::Many(m) => m.values_counts(max_pairs),
        }
    }
}

impl Many {
    fn of(a: f64, b: f64) -> Many {
        Many {
            exact: vec![a, b],
            hist: None,
            count: 2,
            sum: a + b,
            min: a.min(b),
            max: a.max(b),
        }
    }

    fn record(&mut self, v: f64) {
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        match &mut self.hist {
            Some(h) => record(h, v),
            None if self.exact.len() < EXACT => self.exact.push(v),
            None => {
                let mut h = Histogram::new(2).expect("2 significant digits is valid");
                for x in self.exact.drain(..).chain([v]) {
                    record(&mut h, x);
                }
                self.exact = Vec::new();
                self.hist = Some(Box::new(h));
            }
        }
    }

    fn values_counts(&self, max_pairs: usize) -> Vec<(f64, u64)> {
        let buckets = match &self.hist {
            None => {
                let mut values = self.exact.clone();
                values.sort_by(f64::total_cmp);
                let exact = coalesce(values.into_iter().map(|v| (v, 1)).collect());
                if exact.len() <= max_pairs {
                    return exact;
                }
                exact
            }
            Some(h) => h
                .iter_recorded()
                .map(|v| {
                    (
                        h.median_equivalent(v.value_iterated_to()) as f64 / SCALE,
                        u64::from(v.count_at_value()),
                    )
                })
                .collect(),
        };
        compact(buckets, self, max_pairs)
    }
}

fn record(h: &mut Histogram<u32>, v: f64) {
    // An auto-resizing histogram grows for any value it can hold; larger ones are clamped.
    let _ = h.record(((v * SCALE).round() as u64).min(u64::MAX / 4));
}

/// Turns ascending (value, count) buckets into at most `max_pairs` pairs: the exact minimum
/// and maximum first and last, the inner groups scaled so that the sum is exact.
fn compact(mut buckets: Vec<(f64, u64)>, a: &Many, max_pairs: usize) -> Vec<(f64, u64)> {
    take_one(&mut buckets, 0);
    let last = buckets.len().saturating_sub(1);
    take_one(&mut buckets, last);
    buckets.retain(|b| b.1 > 0);
    let mut inner = merge(buckets, max_pairs.saturating_sub(2).max(1));
    let target = a.sum - a.min - a.max;
    let quantized: f64 = inner.iter().map(|(v, c)| v * *c as f64).sum();
    if quantized > 0.0 {
        let f = target / quantized;
        for g in &mut inner {
            g.0 = (g.0 * f).clamp(a.min, a.max);
        }
    }
    let mut out = vec![(a.min, 1)];
    out.extend(inner);
    out.push((a.max, 1));
    coalesce(out)
}

fn take_one(buckets: &mut [(f64, u64)], i: usize) {
    if let Some(b) = buckets.get_mut(i) {
        b.1 = b.1.saturating_sub(1);
    }
}

/// Merges neighbouring buckets whose values are within a ratio of `1 + eps` of the group's first,
/// widening `eps` until at most `k` groups remain. A group's value is its members' mean.
fn merge(buckets: Vec<(f64, u64)>, k: usize) -> Vec<(f64, u64)> {
    if buckets.len() <= k {
        return buckets;
    }
    let mut eps = 0.001;
    loop {
        let groups = group(&buckets, eps);
        if groups.len() <= k {
            return groups;
        }
        eps *= 1.5;
    }
}

fn group(buckets: &[(f64, u64)], eps: f64) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = Vec::new();
    let (mut first, mut weighted, mut count) = (f64::NAN, 0.0, 0u64);
    for &(v, c) in buckets {
        let fits = count > 0 && (v == first || (first > 0.0 && v <= first * (1.0 + eps)));
        if !fits && count > 0 {
            out.push((weighted / count as f64, count));
            (weighted, count) = (0.0, 0);
        }
        if count == 0 {
            first = v;
        }
        weighted += v * c as f64;
        count += c;
    }
    if count > 0 {
        out.push((weighted / count as f64, count));
    }
    out
}

/// Joins pairs with the same value.
fn coalesce(pairs: Vec<(f64, u64)>) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = Vec::with_capacity(pairs.len());
    for (v, c) in pairs {
        match out.last_mut() {
            Some(last) if last.0 == v => last.1 += c,
            _ => out.push((v, c)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(pairs: &[(f64, u64)]) -> (u64, f64) {
        (
            pairs.iter().map(|p| p.1).sum(),
            pairs.iter().map(|p| p.0 * p.1 as f64).sum(),
        )
    }

    #[test]
    fn one_or_two_values_are_kept_whatever_their_order() {
        let pairs = |values: &[f64]| {
            let mut a = Aggregate::default();
            values.iter().for_each(|v| a.record(*v));
            a.values_counts(150)
        };
        assert_eq!(pairs(&[7.0]), [(7.0, 1)]);
        assert_eq!(pairs(&[7.0, 3.0]), [(3.0, 1), (7.0, 1)]);
        assert_eq!(pairs(&[3.0, 7.0]), [(3.0, 1), (7.0, 1)]);
        assert_eq!(pairs(&[5.0, 5.0]), [(5.0, 2)]);
        assert_eq!(pairs(&[5.0, 9.0, 1.0]), [(1.0, 1), (5.0, 1), (9.0, 1)]);
    }

    #[test]
    fn few_values_pass_through_exactly() {
        let mut a = Aggregate::default();
        for v in [12.5, 12.5, 100.0, 3.25] {
            a.record(v);
        }
        let p = a.values_counts(150);
        assert_eq!(p.first(), Some(&(3.25, 1)));
        assert_eq!(p.last(), Some(&(100.0, 1)));
        assert_eq!(totals(&p), (4, 128.25));
    }

    #[test]
    fn many_values_compact_to_150_with_exact_count_sum_min_max_and_close_percentiles() {
        let mut a = Aggregate::default();
        let mut values: Vec<f64> = (0..20_000)
            .map(|i| 1.0 + (i as f64 * 0.731).powf(1.3) % 5000.0)
            .collect();
        values.push(0.5);
        values.push(9_999.0);
        for v in &values {
            a.record(*v);
        }
        let p = a.values_counts(150);
        assert!(p.len() <= 150, "{}", p.len());
        let (count, sum) = totals(&p);
        assert_eq!(count, values.len() as u64);
        let exact: f64 = values.iter().sum();
        assert!((sum - exact).abs() / exact < 1e-9, "{sum} vs {exact}");
        assert_eq!((p[0].0, p[p.len() - 1].0), (0.5, 9_999.0));
        values.sort_by(f64::total_cmp);
        for q in [0.5, 0.9, 0.99] {
            let want = values[(q * (values.len() - 1) as f64) as usize];
            let mut seen = 0;
            let got = p.iter().find(|(_, c)| {
                seen += c;
                seen as f64 >= q * count as f64
            });
            let got = got.unwrap().0;
            assert!((got - want).abs() / want < 0.05, "p{q}: {got} vs {want}");
        }
    }

    #[test]
    fn zeros_and_a_single_value() {
        let mut a = Aggregate::default();
        a.record(0.0);
        assert_eq!(a.values_counts(150), [(0.0, 1)]);
        for _ in 0..9 {
            a.record(0.0);
        }
        a.record(100.0);
        let p = a.values_counts(150);
        assert_eq!(totals(&p), (11, 100.0));
        assert_eq!(p, [(0.0, 10), (100.0, 1)]);
        assert_eq!((a.count(), a.sum()), (11, 100.0));
        assert_eq!(Aggregate::default().values_counts(150), []);
    }

    #[test]
    fn an_aggregate_of_one_value_is_16_bytes_without_an_allocation() {
        assert_eq!(size_of::<Aggregate>(), 16);
        let mut a = Aggregate::default();
        a.record(-3.0);
        assert!(matches!(a.0, Repr::One(0.0)), "{a:?}");
        a.record(f64::NAN);
        assert!(
            matches!(&a.0, Repr::Many(m) if m.exact == [0.0, 0.0]),
            "{a:?}"
        );
    }
}

//! Numbers in words and milliseconds, as every report, notification and log line writes them.

/// Milliseconds with microsecond precision, as reports write durations.
pub fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// A count and its noun: `count(1, "attempt", "attempts")` is "1 attempt", with 3 "3 attempts".
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A count of canaries in words: "1 canary", "3 canaries".
pub fn canaries(n: usize) -> String {
    count(n, "canary", "canaries")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_count_of_canaries_reads_as_words() {
        assert_eq!(super::canaries(0), "0 canaries");
        assert_eq!(super::canaries(1), "1 canary");
        assert_eq!(super::canaries(2), "2 canaries");
    }
}

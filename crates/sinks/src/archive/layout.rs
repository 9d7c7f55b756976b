//! Where records go inside an archive: Hive-style partitions `canary=<name>/date=YYYY-MM-DD/`,
//! one file per hour, audit events under `_audit/` (a leading `_` keeps query engines out).

use std::path::PathBuf;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

/// The folder of audit events (ignored by Athena, Glue and `canary=*` globs).
pub const AUDIT: &str = "_audit";

/// A canary name made safe as one partition value: bytes outside `A-Z a-z 0-9 . _ -` become
/// `%XX`, as Hive escapes them (Athena and DuckDB decode them back).
pub fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The inverse of [`escape`] (a malformed `%` is kept as written).
pub fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The partition folder of a canary's records at `at`: `canary=<name>/date=YYYY-MM-DD`.
pub fn partition(canary: &str, at: SystemTime) -> PathBuf {
    let day = DateTime::<Utc>::from(at)
        .format("date=%Y-%m-%d")
        .to_string();
    PathBuf::from(format!("canary={}", escape(canary))).join(day)
}

/// The audit partition at `at`: `_audit/date=YYYY-MM-DD`.
pub fn audit_partition(at: SystemTime) -> PathBuf {
    let day = DateTime::<Utc>::from(at)
        .format("date=%Y-%m-%d")
        .to_string();
    PathBuf::from(AUDIT).join(day)
}

/// The hour's file name inside a partition: `HH.jsonl` (UTC).
pub fn hour_file(at: SystemTime) -> String {
    DateTime::<Utc>::from(at).format("%H.jsonl").to_string()
}

/// Where a run's artifact goes: `<partition>/artifacts/<run-id>/<file name>`.
pub fn artifact(partition: &std::path::Path, run_id: &str, file: &str) -> PathBuf {
    partition.join("artifacts").join(run_id).join(file)
}

/// The date of a `date=YYYY-MM-DD` folder name.
pub fn date_of(folder: &str) -> Option<chrono::NaiveDate> {
    let day = folder.strip_prefix("date=")?;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_escaping() {
        for name in ["checkout", "a/b c", "ünï=%", "..", "x.y_z-1"] {
            let e = escape(name);
            assert!(!e.contains('/') && !e.contains('='), "{e}");
            assert_eq!(unescape(&e), name);
        }
        assert_eq!(escape("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn partitions_are_utc_days_and_hours() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_000_000);
        assert_eq!(
            partition("a b", at),
            PathBuf::from("canary=a%20b/date=2025-11-24")
        );
        assert_eq!(hour_file(at), "16.jsonl");
        assert_eq!(
            date_of("date=2025-11-24"),
            chrono::NaiveDate::from_ymd_opt(2025, 11, 24)
        );
    }
}

//! Schedule expressions: any text parses or is refused, and a parsed schedule's next instants
//! come without a panic or a hang.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(schedule) = text.parse::<canary::schedule::Schedule>() {
        let start = Utc.with_ymd_and_hms(2026, 2, 28, 23, 59, 30).unwrap();
        let mut t = start;
        for _ in 0..5 {
            match schedule.next_after(t, start) {
                Some(next) if next > t => t = next,
                _ => break,
            }
        }
    }
});

//! Parsers for scalar values in canary files: durations, sizes, status patterns.

use std::time::Duration;

use serde_json::Value;

use crate::canary::assertion::StatusPattern;

/// `800ms`, `10s`, `2m`, `14d`, `1h 30m` — a number with a unit.
pub fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|_| {
        format!(
            "`{text}` is not a duration: write a number with a unit, like 800ms, 10s, 5m or 14d"
        )
    })
}

/// A duration given as a YAML scalar (a bare number has no unit and is refused).
pub fn duration_value(v: &Value) -> Result<Duration, String> {
    match v {
        Value::String(s) => duration(s),
        other => duration(&other.to_string()),
    }
}

/// A byte size: a number of bytes, or `512KiB`, `5MiB`, `1GB`…
pub fn size(v: &Value) -> Result<u64, String> {
    let bad = || {
        format!(
            "`{}` is not a size: write bytes (1048576) or with a unit, like 512KiB or 5MiB",
            text(v)
        )
    };
    let s = match v {
        Value::Number(n) => return n.as_u64().ok_or_else(bad),
        Value::String(s) => s.trim(),
        _ => return Err(bad()),
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

/// Status bounds: `{ gte: 200, lt: 400 }` (any of lt, lte, gt, gte), or `{ not: 500 }`.
fn status_bounds(map: &serde_json::Map<String, Value>) -> Result<StatusPattern, String> {
    let bad = || {
        "status bounds are `{ gte: 200, lt: 400 }` (lt, lte, gt, gte) or `{ not: 500 }`".to_string()
    };
    let code = |v: &Value| -> Result<u16, String> {
        match v.as_u64() {
            Some(c @ 100..=599) => Ok(c as u16),
            _ => Err(format!("`{}` is not a status code (100 to 599)", text(v))),
        }
    };
    if let Some(n) = map.get("not") {
        return match map.len() {
            1 => Ok(StatusPattern::Not(code(n)?)),
            _ => Err(bad()),
        };
    }
    let (mut lo, mut hi) = (100u16, 599u16);
    for (k, v) in map {
        let c = code(v)?;
        match k.as_str() {
            "gte" => lo = lo.max(c),
            "gt" => lo = lo.max(c + 1),
            "lte" => hi = hi.min(c),
            "lt" => hi = hi.min(c.saturating_sub(1)),
            _ => return Err(bad()),
        }
    }
    if map.is_empty() || lo > hi {
        return Err(format!("{}: no status is within these bounds", bad()));
    }
    Ok(StatusPattern::Range(lo, hi))
}

/// `200`, `"2xx"`, bounds like `{ gte: 200, lt: 400 }` or `{ not: 500 }`, or a list of those.
pub fn status(v: &Value) -> Result<Vec<StatusPattern>, String> {
    let one = |v: &Value| -> Result<StatusPattern, String> {
        if let Value::Object(map) = v {
            return status_bounds(map);
        }
        let t = text(v);
        let bad = || format!("`{t}` is not a status: write a code like 200 or a class like 2xx");
        if let Some(class) = t.strip_suffix("xx").or_else(|| t.strip_suffix("XX")) {
            return match class.parse::<u16>() {
                Ok(c @ 1..=5) => Ok(StatusPattern::Class(c)),
                _ => Err(bad()),
            };
        }
        match t.parse::<u16>() {
            Ok(c @ 100..=599) => Ok(StatusPattern::Code(c)),
            _ => Err(bad()),
        }
    };
    match v {
        Value::Array(items) if !items.is_empty() => items.iter().map(one).collect(),
        Value::Array(_) => Err("give at least one status".into()),
        other => Ok(vec![one(other)?]),
    }
}

/// A scalar as the user wrote it (strings unquoted).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(duration("800ms").unwrap(), Duration::from_millis(800));
        assert_eq!(duration("14d").unwrap(), Duration::from_secs(14 * 86_400));
        assert!(duration("10").unwrap_err().contains("with a unit"));
        assert!(duration_value(&json!(10)).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size(&json!(1024)).unwrap(), 1024);
        assert_eq!(size(&json!("5MiB")).unwrap(), 5 << 20);
        assert_eq!(size(&json!("2KB")).unwrap(), 2000);
        assert!(size(&json!("5 parsecs")).is_err());
        assert!(size(&json!(-1)).is_err());
    }

    #[test]
    fn statuses() {
        assert_eq!(status(&json!(200)).unwrap(), vec![StatusPattern::Code(200)]);
        assert_eq!(
            status(&json!("2xx")).unwrap(),
            vec![StatusPattern::Class(2)]
        );
        assert_eq!(
            status(&json!([200, "204"])).unwrap(),
            vec![StatusPattern::Code(200), StatusPattern::Code(204)]
        );
        assert!(status(&json!(99)).is_err());
        assert!(status(&json!("6xx")).is_err());
        assert!(status(&json!([])).is_err());
        assert_eq!(
            status(&json!({ "gte": 200, "lt": 400 })).unwrap(),
            vec![StatusPattern::Range(200, 399)]
        );
        assert_eq!(
            status(&json!({ "not": 500 })).unwrap(),
            vec![StatusPattern::Not(500)]
        );
        assert!(status(&json!({ "gt": 500, "lt": 400 })).is_err());
        assert!(status(&json!({ "not": 500, "gt": 200 })).is_err());
    }
}

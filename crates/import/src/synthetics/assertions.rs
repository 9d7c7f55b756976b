//! Synthetics assertions as canary assertions, per checker type.

use serde_json::Value;

use super::Ctx;
use super::json::Obj;
use crate::{ImportError, scalar};

/// One assertion, converted.
pub enum Mapped {
    /// An `assert:` entry, e.g. `status: 200`.
    Assert(String),
    /// Nothing to write: canary does this anyway (the comment says what).
    Comment(String),
    /// No equivalent (a note and a warning).
    Note(String),
}

/// The checker types.
#[derive(Clone, Copy)]
pub enum Checker {
    Http,
    Dns,
    Ssl,
    Tcp { hex: bool },
}

/// Converts one assertion of a step of `checker`.
pub fn convert(a: &Obj, checker: Checker, ctx: &mut Ctx) -> Result<Mapped, ImportError> {
    let kind = a.required("type")?.to_ascii_uppercase();
    let op = a.text("operator").unwrap_or_default().to_ascii_uppercase();
    let m = match (checker, kind.as_str()) {
        (Checker::Http, "STATUS_CODE") => status(a, &op, ctx)?,
        (Checker::Http | Checker::Dns | Checker::Tcp { .. }, "RESPONSE_TIME") => {
            response_time(a, &op)?
        }
        (Checker::Http, "HEADER") => header(a, &op, ctx)?,
        (Checker::Http, "BODY") => body(a, &op, ctx)?,
        (Checker::Dns, "RECORD_VALUE") => record_value(a, &op, ctx)?,
        (Checker::Dns, "RECORD_COUNT") => bounded(a, &op, "answers: { count: ", " }", "")?,
        (Checker::Dns, "TTL") => bounded(a, &op, "ttl: ", "", "")?,
        (Checker::Dns, "AUTHORITATIVE") => Mapped::Assert(format!(
            "authoritative: {}",
            a.flag("value").unwrap_or(true)
        )),
        (Checker::Ssl, "CERTIFICATE_EXPIRY") => expiry(a, &op)?,
        (Checker::Ssl, "CERTIFICATE_SUBJECT") => name_test(a, &op, "subject", ctx)?,
        (Checker::Ssl, "CERTIFICATE_ISSUER") => name_test(a, &op, "issuer", ctx)?,
        (Checker::Ssl, "CIPHER_SUITE") => cipher(a, &op, ctx)?,
        (Checker::Tcp { .. }, "CONNECTION_SUCCESSFUL") => connection(a),
        (Checker::Tcp { hex }, "RESPONSE_DATA") => response_data(a, &op, hex, ctx)?,
        (_, other) => Mapped::Note(format!(
            "a {other} assertion has no equivalent on this kind of check"
        )),
    };
    Ok(m)
}

/// The canary key of a text operator.
fn text_key(op: &str) -> Option<&'static str> {
    Some(match op {
        "EQUALS" => "equals",
        "NOT_EQUALS" => "not_equals",
        "CONTAINS" => "contains",
        "NOT_CONTAINS" => "not_contains",
        "REGEX_MATCH" => "matches",
        _ => return None,
    })
}

/// Bounds for EQUALS, GREATER_THAN and LESS_THAN on `value` (with `unit` after the number).
fn bound(op: &str, value: f64, unit: &str) -> Option<String> {
    let v = format!("{value}{unit}");
    Some(match op {
        "EQUALS" => format!("{{ gte: {v}, lte: {v} }}"),
        "GREATER_THAN" => format!("{{ gt: {v} }}"),
        "LESS_THAN" => format!("{{ lt: {v} }}"),
        _ => return None,
    })
}

fn unsupported(kind: &str, op: &str) -> Mapped {
    Mapped::Note(format!("{kind} with operator `{op}` has no equivalent"))
}

fn value(a: &Obj, ctx: &mut Ctx) -> Result<String, ImportError> {
    match a.get("value") {
        Some(Value::String(s)) => Ok(ctx.text(s)),
        Some(Value::Null) | None => Err(ImportError::Format(format!(
            "{}: an assertion needs a `value`",
            a.place
        ))),
        Some(other) => Ok(other.to_string()),
    }
}

fn number(a: &Obj, key: &str, ctx: &Ctx) -> Result<f64, ImportError> {
    a.number(key, ctx.vars)?.ok_or_else(|| {
        ImportError::Format(format!(
            "{}: the assertion needs a numeric `{key}`",
            a.place
        ))
    })
}

fn status(a: &Obj, op: &str, ctx: &Ctx) -> Result<Mapped, ImportError> {
    if op == "IN_RANGE" {
        let (lo, hi) = (number(a, "rangeMin", ctx)?, number(a, "rangeMax", ctx)?);
        return Ok(Mapped::Assert(format!(
            "status: {{ gte: {lo}, lte: {hi} }}"
        )));
    }
    let code = number(a, "value", ctx)?;
    Ok(match op {
        "EQUALS" => Mapped::Assert(format!("status: {code}")),
        "NOT_EQUALS" => Mapped::Assert(format!("status: {{ not: {code} }}")),
        "GREATER_THAN" => Mapped::Assert(format!("status: {{ gt: {code} }}")),
        "LESS_THAN" => Mapped::Assert(format!("status: {{ lt: {code} }}")),
        _ => unsupported("STATUS_CODE", op),
    })
}

fn response_time(a: &Obj, op: &str) -> Result<Mapped, ImportError> {
    let unit = a.text("unit").unwrap_or_else(|| "MILLISECONDS".into());
    if !unit.eq_ignore_ascii_case("MILLISECONDS") {
        return Ok(Mapped::Note(format!(
            "RESPONSE_TIME in `{unit}` has no equivalent (Synthetics allows MILLISECONDS)"
        )));
    }
    let ms = a
        .number("value", &serde_json::Map::new())?
        .unwrap_or_default();
    Ok(match bound(op, ms, "ms") {
        Some(b) => Mapped::Assert(format!("latency: {{ total: {b} }}")),
        None => unsupported("RESPONSE_TIME", op),
    })
}

fn header(a: &Obj, op: &str, ctx: &mut Ctx) -> Result<Mapped, ImportError> {
    let name = scalar(&a.required("headerName")?);
    if op == "EXIST" || op == "EXISTS" {
        let want = a.flag("value").unwrap_or(true);
        return Ok(Mapped::Assert(format!(
            "header: {{ name: {name}, exists: {want} }}"
        )));
    }
    let Some(key) = text_key(op) else {
        return Ok(unsupported("HEADER", op));
    };
    let v = value(a, ctx)?;
    Ok(Mapped::Assert(format!(
        "header: {{ name: {name}, {key}: {v} }}"
    )))
}

fn body(a: &Obj, op: &str, ctx: &mut Ctx) -> Result<Mapped, ImportError> {
    let target = a
        .text("target")
        .unwrap_or_else(|| "JSON".into())
        .to_ascii_uppercase();
    if target == "TEXT" {
        return Ok(match (op, text_key(op)) {
            ("EXISTS", _) if a.flag("value").unwrap_or(true) => {
                Mapped::Assert("body: { matches: \"(?s).\" }".into())
            }
            ("EXISTS", _) => Mapped::Assert("body: { equals: \"\" }".into()),
            (_, Some(key)) => Mapped::Assert(format!("body: {{ {key}: {} }}", value(a, ctx)?)),
            _ => unsupported("BODY", op),
        });
    }
    let path = scalar(&a.required("path")?);
    Ok(match (op, text_key(op)) {
        ("EXISTS", _) => Mapped::Assert(format!(
            "json: {{ path: {path}, exists: {} }}",
            a.flag("value").unwrap_or(true)
        )),
        (_, Some(key)) => Mapped::Assert(format!(
            "json: {{ path: {path}, {key}: {} }}",
            value(a, ctx)?
        )),
        _ => unsupported("BODY", op),
    })
}

fn record_value(a: &Obj, op: &str, ctx: &mut Ctx) -> Result<Mapped, ImportError> {
    let key = match op {
        "EQUALS" => "includes",
        "NOT_EQUALS" => "excludes",
        "CONTAINS" => "contains",
        "NOT_CONTAINS" => "not_contains",
        "REGEX_MATCH" => "matches",
        _ => return Ok(unsupported("RECORD_VALUE", op)),
    };
    Ok(Mapped::Assert(format!(
        "answers: {{ {key}: {} }}",
        value(a, ctx)?
    )))
}

/// `prefix BOUND suffix` for a numeric assertion.
fn bounded(
    a: &Obj,
    op: &str,
    prefix: &str,
    suffix: &str,
    unit: &str,
) -> Result<Mapped, ImportError> {
    let kind = a.text("type").unwrap_or_default();
    let v = a
        .number("value", &serde_json::Map::new())?
        .unwrap_or_default();
    if kind.eq_ignore_ascii_case("RECORD_COUNT") && op == "EQUALS" {
        return Ok(Mapped::Assert(format!("{prefix}{v}{suffix}")));
    }
    Ok(match bound(op, v, unit) {
        Some(b) => Mapped::Assert(format!("{prefix}{b}{suffix}")),
        None => unsupported(&kind, op),
    })
}

fn expiry(a: &Obj, op: &str) -> Result<Mapped, ImportError> {
    let unit = match a
        .text("unit")
        .unwrap_or_else(|| "DAYS".into())
        .to_ascii_uppercase()
        .as_str()
    {
        "DAYS" => "d",
        "HOURS" => "h",
        other => {
            return Ok(Mapped::Note(format!(
                "CERTIFICATE_EXPIRY in `{other}` has no equivalent (DAYS or HOURS)"
            )));
        }
    };
    bounded(a, op, "tls: { expires_in: ", " }", unit)
}

fn name_test(a: &Obj, op: &str, what: &str, ctx: &mut Ctx) -> Result<Mapped, ImportError> {
    let field = scalar(&a.required("field")?.to_ascii_uppercase());
    let Some(key) = text_key(op) else {
        return Ok(unsupported(what, op));
    };
    let v = value(a, ctx)?;
    Ok(Mapped::Assert(format!(
        "tls: {{ {what}: {{ field: {field}, {key}: {v} }} }}"
    )))
}

fn cipher(a: &Obj, op: &str, ctx: &mut Ctx) -> Result<Mapped, ImportError> {
    let Some(key) = text_key(op) else {
        return Ok(unsupported("CIPHER_SUITE", op));
    };
    let v = value(a, ctx)?;
    Ok(Mapped::Assert(format!(
        "tls: {{ cipher: {{ {key}: {v} }} }}"
    )))
}

fn connection(a: &Obj) -> Mapped {
    match a.flag("value").unwrap_or(true) {
        true => Mapped::Comment("CONNECTION_SUCCESSFUL: a connection that fails errors the step".into()),
        false => Mapped::Note("CONNECTION_SUCCESSFUL false (expecting no connection) has no equivalent: the step passes only when it connects".into()),
    }
}

fn response_data(a: &Obj, op: &str, hex: bool, ctx: &mut Ctx) -> Result<Mapped, ImportError> {
    let raw = match a.get("value") {
        Some(Value::String(s)) => ctx.secret_refs(s),
        Some(other) => other.to_string(),
        None => {
            return Err(ImportError::Format(format!(
                "{}: an assertion needs a `value`",
                a.place
            )));
        }
    };
    let assertion_hex = a
        .text("encoding")
        .is_some_and(|e| e.eq_ignore_ascii_case("HEX"));
    let v = match (assertion_hex, hex) {
        (true, true) => raw.to_ascii_lowercase().replace(' ', ""),
        (true, false) => match decode_hex(&raw) {
            Some(text) => text,
            None => return Ok(Mapped::Note(format!("RESPONSE_DATA: `{raw}` is not hex"))),
        },
        (false, _) => raw,
    };
    let (key, v) = match op {
        "STARTS_WITH" => ("matches", format!("^{}", regex::escape(&v))),
        "ENDS_WITH" => ("matches", format!("{}$", regex::escape(&v))),
        other => match text_key(other) {
            Some(k) => (k, v),
            None => return Ok(unsupported("RESPONSE_DATA", op)),
        },
    };
    Ok(Mapped::Assert(format!("body: {{ {key}: {} }}", scalar(&v))))
}

fn decode_hex(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes: Option<Vec<u8>> = (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
        .collect();
    bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
}

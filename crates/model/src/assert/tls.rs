//! TLS assertions: expiry of the leaf and of the chain, protocol, host name, subject, issuer,
//! names and cipher.

use std::time::{Duration, SystemTime};

use super::{format_days, result, text_test};
use crate::canary::assertion::{Bound, TextTest, TlsTest};
use crate::observed::{CertInfo, Observed};
use crate::run::AssertionResult;
use crate::template::Captures;

pub(super) fn tls(test: &TlsTest, seen: &Observed, captures: &Captures) -> AssertionResult {
    let subject = match test {
        TlsTest::ExpiresIn(_) => "tls expires_in".to_string(),
        TlsTest::ChainExpiresIn(_) => "tls chain_expires_in".into(),
        TlsTest::Protocol(_) => "tls protocol".into(),
        TlsTest::HostnameMatches(_) => "tls hostname_matches".into(),
        TlsTest::Subject(f, _) => field_subject("subject", f),
        TlsTest::Issuer(f, _) => field_subject("issuer", f),
        TlsTest::Names(_) => "tls names".into(),
        TlsTest::Cipher(_) => "tls cipher".into(),
    };
    let Some(t) = &seen.tls else {
        let expected = match test {
            TlsTest::ExpiresIn(b) | TlsTest::ChainExpiresIn(b) => b.shown.clone(),
            _ => "a TLS connection".into(),
        };
        return result(subject, false, expected, "no TLS connection".into());
    };
    let leaf = t.leaf();
    let text = |test: &TextTest, value: Option<String>| {
        let (ok, exp) = text_test(test, value.as_deref(), captures);
        (ok, exp, value.unwrap_or_else(|| "(none)".into()))
    };
    let (passed, expected, actual) = match test {
        TlsTest::ExpiresIn(bound) => {
            let (ok, got) = expiry(bound, leaf, "leaf");
            (ok, bound.shown.clone(), got)
        }
        TlsTest::ChainExpiresIn(bound) => {
            let (ok, got) = expiry(bound, t.earliest(), "earliest in the chain");
            (ok, bound.shown.clone(), got)
        }
        TlsTest::Protocol(p) => {
            let got = t.protocol.as_deref().unwrap_or("unknown");
            (got == p, format!("TLS {p}"), format!("TLS {got}"))
        }
        TlsTest::HostnameMatches(want) => {
            let names = leaf.map(|c| c.names.join(", ")).unwrap_or_default();
            let got = format!("{} (certificate names: {names})", t.hostname_matches);
            (t.hostname_matches == *want, want.to_string(), got)
        }
        TlsTest::Subject(f, test) => text(
            test,
            leaf.and_then(|c| pick(&c.subject, &c.subject_fields, f)),
        ),
        TlsTest::Issuer(f, test) => text(
            test,
            leaf.and_then(|c| pick(&c.issuer, &c.issuer_fields, f)),
        ),
        TlsTest::Names(test) => text(test, leaf.map(|c| c.names.join(", "))),
        TlsTest::Cipher(test) => text(test, t.cipher.clone()),
    };
    result(subject, passed, expected, actual)
}

fn field_subject(what: &str, field: &Option<String>) -> String {
    match field {
        Some(f) => format!("tls {what} {f}"),
        None => format!("tls {what}"),
    }
}

/// The whole name, or one field's value (the first of that field).
fn pick(whole: &str, fields: &[(String, String)], field: &Option<String>) -> Option<String> {
    match field {
        None => Some(whole.to_string()),
        Some(f) => fields.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone()),
    }
}

/// Time left on `cert`, shown with which certificate it is.
fn expiry(bound: &Bound<Duration>, cert: Option<&CertInfo>, which: &str) -> (bool, String) {
    let Some(cert) = cert else {
        return (false, "no certificate".into());
    };
    let until = humantime::format_rfc3339_seconds(cert.not_after);
    match cert.not_after.duration_since(SystemTime::now()) {
        Ok(left) => (
            bound.holds(&left),
            format!(
                "{} (until {until}; {which}: {})",
                format_days(left),
                cert.subject
            ),
        ),
        Err(e) => (
            bound.holds(&Duration::ZERO),
            format!(
                "expired {} ago ({until}; {which}: {})",
                format_days(e.duration()),
                cert.subject
            ),
        ),
    }
}

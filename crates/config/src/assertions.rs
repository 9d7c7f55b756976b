//! Compiling `assert:` and `capture:` entries into typed assertions and captures.

use regex::Regex;
use serde_json::Value;
use serde_saphyr::Location;

use super::compiler::Compiler;
use super::jsonpath;
use super::raw::{
    RawAssert, RawBound, RawCapture, RawJsonTest, RawNameTest, RawNamedTest, RawTextTest,
    RawTlsTest, S,
};
use super::values;
use crate::canary::assertion::{Assertion, Bound, JsonQuery, JsonTest, TextTest, TlsTest};
use crate::canary::capture::{Capture, CaptureSource};
use crate::run::Phase;
use crate::template::valid_name;

impl Compiler<'_> {
    /// Compiles one `assert:` entry (a `latency:` entry may hold several phases).
    pub(super) fn assertion(&mut self, a: &S<RawAssert>) -> Vec<Assertion> {
        let one = match &a.value {
            RawAssert::Status(s) => {
                let r = values::status(&s.value);
                self.check(&s.referenced, r).map(Assertion::Status)
            }
            RawAssert::Latency(phases) => return self.latency(phases, &a.referenced),
            RawAssert::Header(h) => self
                .named_test(h, true)
                .map(|(name, test)| Assertion::Header(name, Box::new(test))),
            RawAssert::Cookie(h) => self
                .named_test(h, false)
                .map(|(name, test)| Assertion::Cookie(name, Box::new(test))),
            RawAssert::Body(b) => self
                .text_test(&b.value, None, false, &b.referenced)
                .map(|t| Assertion::Body(Box::new(t))),
            RawAssert::Json(j) => self.json(j),
            RawAssert::Tls(t) => return self.tls(t),
            RawAssert::Rcode(r) => self.rcode(r),
            RawAssert::Answers(a) => self.answers(a),
            RawAssert::Ttl(b) => self
                .bound(&b.value, &b.referenced, whole)
                .map(|b| Assertion::Ttl(Box::new(b))),
            RawAssert::Authoritative(b) => Some(Assertion::Authoritative(b.value)),
        };
        one.into_iter().collect()
    }

    fn latency(
        &mut self,
        phases: &std::collections::BTreeMap<String, S<RawBound>>,
        at: &Location,
    ) -> Vec<Assertion> {
        if phases.is_empty() {
            self.fail(
                at,
                "`latency:` needs a phase, like `latency: { total: { lt: 800ms } }`",
            );
        }
        let mut out = Vec::new();
        for (name, bound) in phases {
            let Some(phase) = Phase::from_name(name) else {
                let known: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
                self.fail(
                    &bound.referenced,
                    format!("unknown phase `{name}` (known: {})", known.join(", ")),
                );
                continue;
            };
            if let Some(b) = self.bound(&bound.value, &bound.referenced, values::duration_value) {
                out.push(Assertion::Latency(phase, Box::new(b)));
            }
        }
        out
    }

    /// `tls:` — each key one assertion.
    fn tls(&mut self, t: &S<RawTlsTest>) -> Vec<Assertion> {
        let r = &t.value;
        let mut out = Vec::new();
        let days = values::duration_value;
        if let Some(b) = &r.expires_in {
            out.extend(
                self.bound(&b.value, &b.referenced, days)
                    .map(TlsTest::ExpiresIn),
            );
        }
        if let Some(b) = &r.chain_expires_in {
            let bound = self.bound(&b.value, &b.referenced, days);
            out.extend(bound.map(TlsTest::ChainExpiresIn));
        }
        if let Some(p) = &r.protocol {
            let r = match values::text(&p.value)
                .trim()
                .trim_start_matches("TLS")
                .trim()
            {
                v @ ("1.2" | "1.3") => Ok(TlsTest::Protocol(v.to_string())),
                other => Err(format!(
                    "`{other}` is not a TLS version: write \"1.2\" or \"1.3\""
                )),
            };
            out.extend(self.check(&p.referenced, r));
        }
        if let Some(want) = r.hostname_matches {
            out.push(TlsTest::HostnameMatches(want));
        }
        if let Some(s) = &r.subject {
            out.extend(self.name_test(s).map(|(f, t)| TlsTest::Subject(f, t)));
        }
        if let Some(s) = &r.issuer {
            out.extend(self.name_test(s).map(|(f, t)| TlsTest::Issuer(f, t)));
        }
        if let Some(n) = &r.names {
            out.extend(
                self.text_test(&n.value, None, false, &n.referenced)
                    .map(TlsTest::Names),
            );
        }
        if let Some(c) = &r.cipher {
            out.extend(
                self.text_test(&c.value, None, false, &c.referenced)
                    .map(TlsTest::Cipher),
            );
        }
        let any = r.expires_in.is_some()
            || r.chain_expires_in.is_some()
            || r.protocol.is_some()
            || r.hostname_matches.is_some()
            || r.subject.is_some()
            || r.issuer.is_some()
            || r.names.is_some()
            || r.cipher.is_some();
        if !any {
            self.fail(
                &t.referenced,
                "`tls:` needs a test: expires_in, chain_expires_in, protocol, hostname_matches, subject, issuer, names or cipher",
            );
        }
        out.into_iter()
            .map(|t| Assertion::Tls(Box::new(t)))
            .collect()
    }

    /// A header (`header`: the name lower-cased and checked) or cookie test: name and one test.
    fn named_test(&mut self, h: &S<RawNamedTest>, header: bool) -> Option<(String, TextTest)> {
        let t = &h.value;
        let name = if header {
            t.name.value.trim().to_ascii_lowercase()
        } else {
            t.name.value.trim().to_string()
        };
        let valid = if header {
            http::HeaderName::from_bytes(name.as_bytes()).is_ok()
        } else {
            !name.is_empty() && !name.contains(['=', ';', ' '])
        };
        if !valid {
            let what = if header { "header" } else { "cookie" };
            self.fail(
                &t.name.referenced,
                format!("`{}` is not a valid {what} name", t.name.value),
            );
            return None;
        }
        let text = RawTextTest {
            equals: t.equals.clone(),
            not_equals: t.not_equals.clone(),
            contains: t.contains.clone(),
            not_contains: t.not_contains.clone(),
            matches: t.matches.clone(),
        };
        let test = self.text_test(&text, t.exists, true, &h.referenced)?;
        Some((name, test))
    }

    /// A subject or issuer test: an optional field (CN, O…) and one text test.
    fn name_test(&mut self, s: &S<RawNameTest>) -> Option<(Option<String>, TextTest)> {
        const FIELDS: [&str; 6] = ["CN", "O", "OU", "C", "ST", "L"];
        let r = &s.value;
        let field = match &r.field {
            None => None,
            Some(f) => {
                let up = f.value.trim().to_ascii_uppercase();
                let ok = FIELDS.contains(&up.as_str());
                let msg = format!(
                    "`{}` is not a name field canary reads (known: {})",
                    f.value,
                    FIELDS.join(", ")
                );
                Some(self.check(&f.referenced, if ok { Ok(up) } else { Err(msg) })?)
            }
        };
        let text = RawTextTest {
            equals: r.equals.clone(),
            not_equals: r.not_equals.clone(),
            contains: r.contains.clone(),
            not_contains: r.not_contains.clone(),
            matches: r.matches.clone(),
        };
        let test = self.text_test(&text, None, false, &s.referenced)?;
        Some((field, test))
    }

    fn text_test(
        &mut self,
        t: &RawTextTest,
        exists: Option<bool>,
        header: bool,
        at: &Location,
    ) -> Option<TextTest> {
        let given = [
            exists.is_some(),
            t.equals.is_some(),
            t.not_equals.is_some(),
            t.contains.is_some(),
            t.not_contains.is_some(),
            t.matches.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            let keys = if header {
                "exists, equals, not_equals, contains, not_contains, matches"
            } else {
                "equals, not_equals, contains, not_contains, matches"
            };
            self.fail(at, format!("give exactly one test: {keys}"));
            return None;
        }
        if let Some(e) = exists {
            return Some(TextTest::Exists(e));
        }
        if let Some(s) = &t.equals {
            return self.template(s).map(TextTest::Equals);
        }
        if let Some(s) = &t.not_equals {
            return self.template(s).map(TextTest::NotEquals);
        }
        if let Some(s) = &t.contains {
            return self.template(s).map(TextTest::Contains);
        }
        if let Some(s) = &t.not_contains {
            return self.template(s).map(TextTest::NotContains);
        }
        let m = t.matches.as_ref()?;
        self.regex(m).map(TextTest::Matches)
    }

    /// A regex, compiled now; a bad one is an error at its place.
    pub(super) fn regex(&mut self, s: &S<String>) -> Option<Regex> {
        let r = Regex::new(&s.value)
            .map_err(|e| format!("bad regular expression `{}`: {}", s.value, regex_reason(&e)));
        self.check(&s.referenced, r)
    }

    /// A JSONPath as users write it (dot-names with `-` and the like are accepted), compiled.
    fn json_path(&mut self, s: &S<String>) -> Option<JsonQuery> {
        let r = jsonpath::compile(&s.value)
            .map(|path| JsonQuery {
                path,
                text: s.value.clone(),
            })
            .map_err(|e| jsonpath::explain(&s.value, &one_line(&e)));
        self.check(&s.referenced, r)
    }

    fn json(&mut self, j: &S<RawJsonTest>) -> Option<Assertion> {
        let t = &j.value;
        let query = self.json_path(&t.path);
        let bounds = RawBound {
            lt: t.lt.clone(),
            lte: t.lte.clone(),
            gt: t.gt.clone(),
            gte: t.gte.clone(),
        };
        let has_bounds = [&t.lt, &t.lte, &t.gt, &t.gte].iter().any(|b| b.is_some());
        let tests = [
            t.exists.is_some(),
            t.equals.is_some(),
            t.not_equals.is_some(),
            t.contains.is_some(),
            t.not_contains.is_some(),
            t.length.is_some(),
            t.matches.is_some(),
            has_bounds,
        ];
        if tests.iter().filter(|g| **g).count() != 1 {
            self.fail(&j.referenced, "give `path:` and exactly one test: exists, equals, not_equals, contains, not_contains, length, matches, or number bounds lt/lte/gt/gte");
            return None;
        }
        let test = if let Some(e) = t.exists {
            JsonTest::Exists(e)
        } else if let Some(v) = &t.equals {
            match &v.value {
                Value::String(s) => {
                    let r = self.vars.expand(s);
                    JsonTest::EqualsText(self.check(&v.referenced, r)?)
                }
                other => JsonTest::Equals(other.clone()),
            }
        } else if let Some(v) = &t.not_equals {
            match &v.value {
                Value::String(s) => {
                    let r = self.vars.expand(s);
                    JsonTest::NotEqualsText(self.check(&v.referenced, r)?)
                }
                other => JsonTest::NotEquals(other.clone()),
            }
        } else if let Some(v) = &t.contains {
            JsonTest::Contains(v.value.clone())
        } else if let Some(v) = &t.not_contains {
            JsonTest::NotContains(v.value.clone())
        } else if let Some(l) = &t.length {
            JsonTest::Length(self.length(l)?)
        } else if let Some(m) = &t.matches {
            JsonTest::Matches(self.regex(m)?)
        } else {
            JsonTest::Number(self.bound(&bounds, &j.referenced, number)?)
        };
        Some(Assertion::Json(Box::new((query?, test))))
    }

    /// A number, or bounds like `{ gte: 1 }`, on a length or count.
    pub(super) fn length(&mut self, l: &S<Value>) -> Option<Bound<u64>> {
        if let Some(n) = l.value.as_u64() {
            return Some(Bound {
                lt: None,
                lte: Some(n),
                gt: None,
                gte: Some(n),
                shown: format!("= {n}"),
            });
        }
        let r = serde_json::from_value::<LengthBound>(l.value.clone())
            .map_err(|_| "a length or count is a number or bounds like `{ gte: 1 }`".to_string());
        let raw = self.check(&l.referenced, r)?;
        let wrap = |v: Option<u64>| {
            v.map(|n| S {
                value: Value::from(n),
                referenced: l.referenced,
                defined: l.defined,
            })
        };
        let b = RawBound {
            lt: wrap(raw.lt),
            lte: wrap(raw.lte),
            gt: wrap(raw.gt),
            gte: wrap(raw.gte),
        };
        self.bound(&b, &l.referenced, |v| {
            v.as_u64()
                .ok_or_else(|| "a length is a whole number".into())
        })
    }

    /// Compiles bounds; each value with `parse`, shown as written.
    pub(super) fn bound<T>(
        &mut self,
        b: &RawBound,
        at: &Location,
        parse: fn(&Value) -> Result<T, String>,
    ) -> Option<Bound<T>> {
        let mut shown = Vec::new();
        let mut one = |c: &mut Self, v: &Option<S<Value>>, op: &str| -> Option<Option<T>> {
            let Some(v) = v else { return Some(None) };
            shown.push(format!("{op} {}", values::text(&v.value)));
            c.check(&v.referenced, parse(&v.value)).map(Some)
        };
        let (lt, lte, gt, gte) = (
            one(self, &b.lt, "<"),
            one(self, &b.lte, "<="),
            one(self, &b.gt, ">"),
            one(self, &b.gte, ">="),
        );
        if shown.is_empty() {
            self.fail(at, "give at least one bound: lt, lte, gt or gte");
            return None;
        }
        Some(Bound {
            lt: lt?,
            lte: lte?,
            gt: gt?,
            gte: gte?,
            shown: shown.join(" and "),
        })
    }

    /// Compiles one `capture:` entry.
    pub(super) fn capture(&mut self, name: &str, c: &S<RawCapture>) -> Option<Capture> {
        let r = &c.value;
        if !valid_name(name) {
            self.fail(&c.referenced, format!("`{name}` is not a valid capture name: letters, digits, `_`, `-`, `.`, starting with a letter or `_`"));
            return None;
        }
        let given = [
            r.json.is_some(),
            r.header.is_some(),
            r.regex.is_some(),
            r.status.is_some(),
            r.cookie.is_some(),
            r.answer.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            self.fail(
                &c.referenced,
                format!(
                    "capture `{name}`: give exactly one of json, header, regex, status, cookie, answer"
                ),
            );
            return None;
        }
        if let (Some(g), None) = (&r.group, &r.regex) {
            self.fail(
                &g.referenced,
                format!("capture `{name}`: `group:` goes with `regex:`"),
            );
            return None;
        }
        let source = if let Some(p) = &r.json {
            CaptureSource::Json(self.json_path(p)?)
        } else if let Some(h) = &r.header {
            CaptureSource::Header(h.value.trim().to_ascii_lowercase())
        } else if let Some(re) = &r.regex {
            let re = self.regex(re)?;
            let group = r.group.as_ref().map(|g| g.value);
            if let Some(g) = r.group.as_ref().filter(|g| g.value >= re.captures_len()) {
                let groups = re.captures_len() - 1;
                self.fail(&g.referenced, format!("capture `{name}`: the regex has {groups} group(s); `group:` is 0 (the whole match) to {groups}"));
                return None;
            }
            CaptureSource::Regex(re, group)
        } else if let Some(i) = &r.answer {
            CaptureSource::Answer(i.value)
        } else if let Some(name) = &r.cookie {
            CaptureSource::Cookie(name.value.trim().to_string())
        } else {
            CaptureSource::Status
        };
        Some(Capture {
            name: name.to_string(),
            source,
            secret: r.secret,
        })
    }
}

/// `length:` bounds.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LengthBound {
    lt: Option<u64>,
    lte: Option<u64>,
    gt: Option<u64>,
    gte: Option<u64>,
}

fn whole(v: &Value) -> Result<u64, String> {
    v.as_u64()
        .ok_or_else(|| format!("`{}` is not a whole number of seconds", values::text(v)))
}

fn number(v: &Value) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("`{}` is not a number", values::text(v)))
}

/// The reason line of a regex error, without its caret diagram.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let reason = text.lines().find_map(|l| l.trim().strip_prefix("error: "));
    reason.map_or_else(|| one_line(&text), str::to_string)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

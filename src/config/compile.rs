//! Raw canary → compiled [`Canary`]: every value parsed once, every error collected with its place.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde_saphyr::Location;

use super::error::ConfigError;
use super::raw::{RawCanary, RawHttp, RawStep, S};
use super::vars::Vars;
use super::{LoadOptions, values};
use crate::canary::{Canary, Step, StepKind};
use crate::check::http::{self, Auth, Body, HttpCheck, Request};
use crate::schedule::Schedule;
use crate::template::{JsonTemplate, Template};

/// The default time one attempt may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default schedule.
pub const DEFAULT_SCHEDULE: &str = "rate(5 minutes)";
/// The default cap on body bytes read.
pub const DEFAULT_MAX_BODY: u64 = 5 << 20;
/// The default cap on redirects followed.
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;
/// The most retries a canary may ask for.
pub const MAX_RETRIES: u32 = 10;
/// The longest timeout a canary or step may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Compiles one canary, collecting every error in the file.
pub struct Compiler<'a> {
    pub(super) file: &'a Path,
    pub(super) errors: Vec<ConfigError>,
    pub(super) vars: Vars<'a>,
    default_tls: Arc<rustls::ClientConfig>,
}

impl<'a> Compiler<'a> {
    /// Records an error at `loc`.
    pub(super) fn fail(&mut self, loc: &Location, msg: impl Into<String>) {
        self.errors.push(ConfigError::at(self.file, loc, msg));
    }

    /// The value, or an error recorded at `loc`.
    pub(super) fn check<T>(&mut self, loc: &Location, r: Result<T, String>) -> Option<T> {
        r.map_err(|e| self.fail(loc, e)).ok()
    }

    /// A string with its `${…}` resolved.
    pub(super) fn template(&mut self, s: &S<String>) -> Option<Template> {
        let r = self.vars.expand(&s.value);
        self.check(&s.referenced, r)
    }

    fn duration(&mut self, s: &Option<S<String>>) -> Option<Option<Duration>> {
        let Some(s) = s else { return Some(None) };
        let r = values::duration(&s.value).and_then(|d| match d {
            d if d.is_zero() => Err("a timeout must be longer than zero".into()),
            d if d > MAX_TIMEOUT => Err("a timeout is at most 1h".into()),
            d => Ok(d),
        });
        self.check(&s.referenced, r).map(Some)
    }
}

/// Compiles `raw`, loaded from `file`.
pub fn compile(
    file: &Path,
    raw: &RawCanary,
    opts: &LoadOptions,
    default_tls: Arc<rustls::ClientConfig>,
) -> Result<Canary, Vec<ConfigError>> {
    let mut c = Compiler {
        file,
        errors: Vec::new(),
        vars: Vars::new(opts, &raw.variables),
        default_tls,
    };
    for (name, value) in &raw.variables {
        let r = c.vars.variable(name);
        c.check(&value.referenced, r);
    }
    let name = canary_name(&mut c, &raw.name);
    let schedule = schedule(&mut c, raw);
    let timeout = c
        .duration(&raw.timeout)
        .map(|t| t.unwrap_or(DEFAULT_TIMEOUT));
    let retries = raw.retries.as_ref().map_or(Some(0), |r| {
        let v = r.value;
        c.check(
            &r.referenced,
            if v <= MAX_RETRIES {
                Ok(v)
            } else {
                Err(format!("retries: at most {MAX_RETRIES}"))
            },
        )
    });
    let steps = steps(&mut c, raw, name.as_deref().unwrap_or_default());
    let dimensions = dimensions(&mut c, raw);
    if !c.errors.is_empty() {
        // A message may quote a value that holds a secret (a bad URL, say).
        let redactor = crate::redact::Redactor::new(c.vars.secrets.iter().cloned());
        for e in &mut c.errors {
            e.message = redactor.apply(&e.message);
        }
        c.errors.sort_by_key(|e| (e.line, e.column));
        return Err(c.errors);
    }
    let (Some(name), Some(schedule), Some(timeout), Some(retries)) =
        (name, schedule, timeout, retries)
    else {
        return Err(vec![ConfigError::file(file, "could not compile")]);
    };
    Ok(Canary {
        name,
        file: file.to_path_buf(),
        schedule,
        timeout,
        retries,
        tags: raw.tags.clone(),
        steps,
        secrets: c.vars.secrets,
        dimensions,
    })
}

/// The schedule, in its time zone; one that never fires again is an error.
fn schedule(c: &mut Compiler, raw: &RawCanary) -> Option<Schedule> {
    let mut schedule = match &raw.schedule {
        Some(s) => c.check(
            &s.referenced,
            s.value.parse::<Schedule>().map_err(|e| e.to_string()),
        )?,
        None => DEFAULT_SCHEDULE.parse().ok()?,
    };
    if let Some(tz) = &raw.timezone {
        let r = tz.value.trim().parse::<chrono_tz::Tz>().map_err(|_| {
            format!(
                "`{}` is not an IANA time zone, like UTC, Europe/Berlin or America/New_York",
                tz.value
            )
        });
        schedule.tz = c.check(&tz.referenced, r)?;
    }
    let now = chrono::Utc::now();
    let once = schedule.kind == crate::schedule::ScheduleKind::Once;
    if !once && schedule.next_after(now, now).is_none() {
        let at = raw
            .schedule
            .as_ref()
            .map_or(&raw.name.referenced, |s| &s.referenced);
        c.fail(at, format!("`{}` never fires again", schedule.source));
        return None;
    }
    Some(schedule)
}

/// The most dimensions a canary may add (CloudWatch allows 30 in all; canary uses up to 3).
pub const MAX_DIMENSIONS: usize = 20;

/// `dimensions:`: names and values as CloudWatch accepts them, within its limits.
fn dimensions(c: &mut Compiler, raw: &RawCanary) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in &raw.dimensions {
        let Some(v) = c.template(value).and_then(|t| t.as_static()) else {
            continue;
        };
        let r = crate::metrics::check_dimension(name, &v);
        if c.check(&value.referenced, r).is_some() {
            out.push((name.clone(), v));
        }
    }
    if out.len() > MAX_DIMENSIONS {
        c.fail(
            &raw.name.referenced,
            format!("at most {MAX_DIMENSIONS} dimensions"),
        );
    }
    out
}

fn canary_name(c: &mut Compiler, name: &S<String>) -> Option<String> {
    let n = name.value.trim();
    let r = if n.is_empty() {
        Err("the name is empty".to_string())
    } else if n.len() > 255 || n.chars().any(char::is_control) {
        Err("a name has at most 255 characters and no control characters".into())
    } else {
        Ok(n.to_string())
    };
    c.check(&name.referenced, r)
}

fn steps(c: &mut Compiler, raw: &RawCanary, canary_name: &str) -> Vec<Step> {
    let given = [
        raw.http.is_some(),
        raw.steps.is_some(),
        raw.browser.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        c.fail(
            &raw.name.referenced,
            "give exactly one of `http:` (one request), `steps:` or `browser:`",
        );
        return Vec::new();
    }
    if let Some(h) = &raw.http {
        let kind = http_step(c, h, &[], &Default::default());
        return kind
            .map(|kind| Step {
                name: canary_name.to_string(),
                timeout: None,
                continue_on_failure: false,
                kind,
            })
            .into_iter()
            .collect();
    }
    if let Some(b) = &raw.browser {
        return c.browser(b);
    }
    match &raw.steps {
        Some(steps) if !steps.value.is_empty() => many_steps(c, &steps.value),
        Some(steps) => {
            c.fail(
                &steps.referenced,
                "`steps:` is empty: give at least one step",
            );
            Vec::new()
        }
        None => {
            c.fail(
                &raw.name.referenced,
                "this canary has nothing to run: add `http:` (one request), `steps:` or `browser:`",
            );
            Vec::new()
        }
    }
}

fn many_steps(c: &mut Compiler, raw: &[S<RawStep>]) -> Vec<Step> {
    for s in raw {
        c.vars.all_captures.extend(s.value.capture.keys().cloned());
        c.vars
            .all_captures
            .extend(s.value.http.value.capture.keys().cloned());
    }
    let mut out: Vec<Step> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let step = &s.value;
        let name = step
            .name
            .as_ref()
            .map_or_else(|| format!("step {}", i + 1), |n| n.value.trim().to_string());
        if names.contains(&name) {
            let at = step.name.as_ref().map_or(&s.referenced, |n| &n.referenced);
            c.fail(
                at,
                format!("step name `{name}` is used twice in this canary"),
            );
        }
        names.push(name.clone());
        let timeout = c.duration(&step.timeout).flatten();
        if let Some(kind) = http_step(c, &step.http, &step.assert, &step.capture) {
            let continue_on_failure = step.continue_on_failure;
            out.push(Step {
                name,
                timeout,
                continue_on_failure,
                kind,
            });
        }
    }
    out
}

fn http_step(
    c: &mut Compiler,
    http: &S<RawHttp>,
    assert: &[S<super::raw::RawAssert>],
    capture: &std::collections::BTreeMap<String, S<super::raw::RawCapture>>,
) -> Option<StepKind> {
    let request = request(c, http);
    let mut assertions = Vec::new();
    for a in http.value.assert.iter().chain(assert) {
        assertions.extend(c.assertion(a));
    }
    let mut captures = Vec::new();
    for (name, cap) in http.value.capture.iter().chain(capture) {
        captures.extend(c.capture(name, cap));
    }
    for cap in &captures {
        c.vars.captures.insert(cap.name.clone());
    }
    // A request with errors leaves no step; its errors are recorded and the canary is rejected.
    Some(StepKind::Http(Box::new(HttpCheck {
        request: request?,
        assertions,
        captures,
    })))
}

fn request(c: &mut Compiler, raw: &S<RawHttp>) -> Option<Request> {
    let h = &raw.value;
    let errors_before = c.errors.len();
    let method = match &h.method {
        None => Some(Method::GET),
        Some(m) => {
            let r = Method::from_bytes(m.value.trim().to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("`{}` is not an HTTP method", m.value));
            c.check(&m.referenced, r)
        }
    };
    let url = c.template(&h.url);
    if let Some(u) = url.as_ref().and_then(Template::as_static) {
        c.check(&h.url.referenced, http::parse_url(&u));
    }
    let headers = headers(c, h);
    let query: Vec<(String, Template)> = h
        .query
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), c.template(v)?)))
        .collect();
    let body = body(c, raw);
    let auth = h.auth.as_ref().and_then(|a| auth(c, a));
    let tls = tls(c, h);
    let max_body = match &h.max_body {
        None => Some(DEFAULT_MAX_BODY),
        Some(m) => c.check(&m.referenced, values::size(&m.value)),
    };
    if c.errors.len() > errors_before {
        return None;
    }
    Some(Request {
        method: method?,
        url: url?,
        headers,
        query,
        body: body?,
        auth,
        follow_redirects: h.follow_redirects.unwrap_or(true),
        max_redirects: h.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS),
        max_body: max_body?,
        tls: tls?,
    })
}

fn headers(c: &mut Compiler, h: &RawHttp) -> Vec<(HeaderName, Template)> {
    let mut out = Vec::new();
    for (name, value) in &h.headers {
        let Some(hn) = c.check(
            &value.referenced,
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid header name")),
        ) else {
            continue;
        };
        let Some(t) = c.template(value) else { continue };
        if let Some(s) = t.as_static() {
            let r = HeaderValue::from_str(&s).map(|_| ()).map_err(|_| {
                format!("header `{name}`: the value has characters a header cannot hold")
            });
            c.check(&value.referenced, r);
        }
        out.push((hn, t));
    }
    out
}

fn body(c: &mut Compiler, raw: &S<RawHttp>) -> Option<Body> {
    let h = &raw.value;
    let given = [h.body.is_some(), h.json.is_some(), h.form.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        c.fail(
            &raw.referenced,
            "give at most one of `body:`, `json:` and `form:`",
        );
        return None;
    }
    if let Some(b) = &h.body {
        return c.template(b).map(Body::Text);
    }
    if let Some(j) = &h.json {
        return json_template(c, &j.value, &j.referenced).map(Body::Json);
    }
    if let Some(f) = &h.form {
        let pairs: Option<Vec<_>> = f
            .value
            .iter()
            .map(|(k, v)| Some((k.clone(), c.template(v)?)))
            .collect();
        return pairs.map(Body::Form);
    }
    Some(Body::Empty)
}

fn json_template(c: &mut Compiler, v: &serde_json::Value, loc: &Location) -> Option<JsonTemplate> {
    use serde_json::Value;
    Some(match v {
        Value::String(s) => {
            let r = c.vars.expand(s);
            JsonTemplate::String(c.check(loc, r)?)
        }
        Value::Array(items) => JsonTemplate::Array(
            items
                .iter()
                .map(|i| json_template(c, i, loc))
                .collect::<Option<_>>()?,
        ),
        Value::Object(map) => JsonTemplate::Object(
            map.iter()
                .map(|(k, v)| Some((k.clone(), json_template(c, v, loc)?)))
                .collect::<Option<_>>()?,
        ),
        plain => JsonTemplate::Plain(plain.clone()),
    })
}

fn auth(c: &mut Compiler, a: &S<super::raw::RawAuth>) -> Option<Auth> {
    match (&a.value.basic, &a.value.bearer) {
        (Some(b), None) => Some(Auth::Basic {
            username: c.template(&b.username)?,
            password: c.template(&b.password)?,
        }),
        (None, Some(t)) => Some(Auth::Bearer(c.template(t)?)),
        _ => {
            c.fail(
                &a.referenced,
                "`auth:` takes exactly one of `basic: { username, password }` or `bearer: TOKEN`",
            );
            None
        }
    }
}

fn tls(c: &mut Compiler, h: &RawHttp) -> Option<Arc<rustls::ClientConfig>> {
    let Some(t) = &h.tls else {
        return Some(c.default_tls.clone());
    };
    let mut roots = Vec::new();
    if let Some(ca) = &t.value.ca_file {
        let path = c.template(ca)?.as_static().unwrap_or_default();
        if !path.trim().is_empty() {
            let path = locate(c.file, Path::new(path.trim()));
            roots = c.check(&ca.referenced, read_pem(&path))?;
        }
    }
    if !t.value.insecure && roots.is_empty() {
        return Some(c.default_tls.clone());
    }
    let r = http::tls_config(t.value.insecure, roots);
    c.check(&t.referenced, r).map(Arc::new)
}

/// A relative path is looked up next to the canary file first, then from the current folder.
fn locate(canary_file: &Path, path: &Path) -> std::path::PathBuf {
    let beside = canary_file.parent().unwrap_or(Path::new(".")).join(path);
    if path.is_relative() && !beside.exists() && path.exists() {
        return path.to_path_buf();
    }
    beside
}

fn read_pem(path: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = rustls::pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?
        .collect();
    match certs {
        Ok(c) if !c.is_empty() => Ok(c),
        Ok(_) => Err(format!(
            "CA file {} holds no PEM certificate",
            path.display()
        )),
        Err(e) => Err(format!("CA file {}: {e}", path.display())),
    }
}

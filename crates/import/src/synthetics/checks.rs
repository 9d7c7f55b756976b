//! One Synthetics step as one canary step (two for OAuth client credentials: the token first).

use std::net::IpAddr;

use serde_json::Value;

use super::assertions::{self, Checker, Mapped};
use super::json::Obj;
use super::{Ctx, millis};
use crate::{ImportError, Writer, scalar};

/// Indents: the step's `- name:`, its keys, the check's keys, and list items under those.
const STEP: usize = 1;
const KEY: usize = 2;
const CHECK: usize = 3;
const ITEM: usize = 4;

/// Writes step `key`; returns the time it may take, in milliseconds.
pub(super) fn step(
    w: &mut Writer,
    key: &str,
    v: &Value,
    ctx: &mut Ctx,
) -> Result<u64, ImportError> {
    let probe = Obj::new(v, &format!("step {key}"))?;
    let name = probe
        .text("stepName")
        .unwrap_or_else(|| format!("step-{key}"));
    let s = Obj::new(v, &format!("step {key} ({name})"))?;
    s.get("stepName");
    let checker = s.required("checkerType")?.to_ascii_uppercase();
    let timeout_ms = s
        .number("timeout", ctx.vars)?
        .map_or(ctx.step_timeout_ms, |n| n as u64);
    if !matches!(checker.as_str(), "HTTP" | "DNS" | "SSL" | "TCP") {
        // Left out, the canary would not check what the configuration checks: no file at all.
        return Err(ImportError::Format(format!(
            "{}: checkerType {checker} has no equivalent in canary (it checks HTTP, DNS, SSL \
             and TCP); remove the step, or write a canary for it by hand",
            s.place
        )));
    }
    let mut total = timeout_ms;
    if checker == "HTTP" {
        total += oauth_token_step(w, &s, &name, timeout_ms, ctx)?;
    }
    w.line(STEP, format!("- name: {}", scalar(&name)));
    w.line(KEY, format!("timeout: {}", millis(timeout_ms)));
    // waitTime is in seconds; 0 is no wait at all.
    if let Some(secs) = s.number("waitTime", ctx.vars)?.filter(|s| *s > 0.0) {
        w.note(
            KEY,
            &s.place,
            format!("waitTime {secs}s before the step has no equivalent; the step runs at once"),
        );
    }
    let (kind, implied) = match checker.as_str() {
        "HTTP" => (http(w, &s, &name, ctx)?, None),
        "DNS" => (dns(w, &s, ctx)?, None),
        "SSL" => ssl(w, &s, ctx)?,
        _ => (tcp(w, &s, ctx)?, None),
    };
    assertions_of(w, &s, kind, implied, ctx)?;
    extractors(w, &s, kind)?;
    leftovers(w, &s);
    Ok(total)
}

/// Notes for every field of `o` not read.
fn leftovers(w: &mut Writer, o: &Obj) {
    for k in o.rest() {
        w.note(
            KEY,
            &o.place,
            format!("`{k}` has no equivalent and was left out"),
        );
    }
}

fn http(w: &mut Writer, s: &Obj, name: &str, ctx: &mut Ctx) -> Result<Checker, ImportError> {
    w.line(KEY, "http:");
    let url = s.required("url")?;
    w.line(CHECK, format!("url: {}", ctx.text(&url)));
    if let Some(m) = s.text("httpMethod") {
        w.line(
            CHECK,
            format!("method: {}", scalar(&m.to_ascii_uppercase())),
        );
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(ua) = ctx.user_agent.clone() {
        headers.push(("User-Agent".into(), ua));
    }
    match s.get("headers") {
        Some(Value::Object(h)) => {
            for (k, v) in h {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
                headers.push((k.clone(), text));
            }
        }
        Some(_) => {
            return Err(ImportError::Format(format!(
                "{}: `headers` must be an object",
                s.place
            )));
        }
        None => {}
    }
    let auth = authentication(w, s, name, &mut headers, ctx)?;
    if !headers.is_empty() {
        w.line(CHECK, "headers:");
        for (k, v) in &headers {
            w.line(ITEM, format!("{}: {}", scalar(k), ctx.text(v)));
        }
    }
    if let Some(b) = s.get("body") {
        let text = b.as_str().map_or_else(|| b.to_string(), str::to_string);
        w.line(CHECK, format!("body: {}", ctx.text(&text)));
    }
    if let Some(a) = auth {
        w.line(CHECK, a);
    }
    Ok(Checker::Http)
}

/// The step's `authentication`: an `auth:` line to write, or headers added, or a note.
fn authentication(
    w: &mut Writer,
    s: &Obj,
    step: &str,
    headers: &mut Vec<(String, String)>,
    ctx: &mut Ctx,
) -> Result<Option<String>, ImportError> {
    let Some(v) = auth_of(s) else {
        return Ok(None);
    };
    let a = Obj::new(v, &format!("{} authentication", s.place))?;
    let kind = a.required("type")?.to_ascii_uppercase();
    let line = match kind.as_str() {
        "NONE" => None,
        "BASIC" => {
            let (u, p) = (a.required("username")?, a.required("password")?);
            Some(format!(
                "auth: {{ basic: {{ username: {}, password: {} }} }}",
                ctx.text(&u),
                ctx.text(&p)
            ))
        }
        "API_KEY" => {
            let header = a.text("headerName").unwrap_or_else(|| "X-API-Key".into());
            headers.push((header, a.required("apiKey")?));
            None
        }
        "OAUTH_CLIENT_CREDENTIALS" => {
            mark_oauth_fields(&a);
            Some(format!("auth: {{ bearer: \"${{{}}}\" }}", token_name(step)))
        }
        other => {
            w.note(
                CHECK,
                &a.place,
                format!("{other} authentication has no equivalent; the request is sent without it"),
            );
            for k in ["service", "region", "roleArn"] {
                a.get(k);
            }
            None
        }
    };
    leftovers(w, &a);
    Ok(line)
}

/// The step's `authentication` (also spelt `Authentication`, as AWS's own examples do).
fn auth_of<'a>(s: &Obj<'a>) -> Option<&'a Value> {
    s.get("authentication").or_else(|| s.get("Authentication"))
}

/// The OAuth fields, read by [`oauth_token_step`] before the step itself.
const OAUTH_FIELDS: [&str; 9] = [
    "tokenUrl",
    "clientId",
    "clientSecret",
    "scope",
    "audience",
    "resource",
    "tokenApiAuth",
    "tokenCacheTtl",
    "type",
];

fn mark_oauth_fields(a: &Obj) {
    for k in OAUTH_FIELDS {
        a.get(k);
    }
}

/// The capture holding step `step`'s OAuth token.
fn token_name(step: &str) -> String {
    let clean: String = step
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{clean}_token")
}

/// For OAuth client credentials, a step before `step` that fetches the token and captures it.
fn oauth_token_step(
    w: &mut Writer,
    s: &Obj,
    step: &str,
    timeout_ms: u64,
    ctx: &mut Ctx,
) -> Result<u64, ImportError> {
    let Some(v) = auth_of(s) else {
        return Ok(0);
    };
    let a = Obj::new(v, &format!("{} authentication", s.place))?;
    if !a
        .text("type")
        .is_some_and(|t| t.eq_ignore_ascii_case("OAUTH_CLIENT_CREDENTIALS"))
    {
        return Ok(0);
    }
    let (url, id, secret) = (
        a.required("tokenUrl")?,
        a.required("clientId")?,
        a.required("clientSecret")?,
    );
    // HTTP Basic unless `tokenApiAuth` asks for the body (RFC 6749's default, and Synthetics').
    let how = a.text("tokenApiAuth").map(|t| t.to_ascii_uppercase());
    let basic = match how.as_deref() {
        None => true,
        Some(t) if t.contains("BODY") => false,
        Some(t) if t.contains("BASIC") || t.contains("HEADER") => true,
        Some(other) => {
            w.note(
                STEP,
                &a.place,
                format!("tokenApiAuth `{other}` is not known; the client credentials go as HTTP Basic, the default"),
            );
            true
        }
    };
    w.line(
        STEP,
        format!("- name: {}", scalar(&format!("{step}-token"))),
    );
    w.line(KEY, format!("timeout: {}", millis(timeout_ms)));
    w.line(KEY, "http:");
    w.line(CHECK, format!("url: {}", ctx.text(&url)));
    w.line(CHECK, "method: POST");
    w.line(CHECK, "form:");
    w.line(ITEM, "grant_type: client_credentials");
    if !basic {
        w.line(ITEM, format!("client_id: {}", ctx.text(&id)));
        w.line(ITEM, format!("client_secret: {}", ctx.text(&secret)));
    }
    for k in ["scope", "audience", "resource"] {
        if let Some(v) = a.text(k) {
            w.line(ITEM, format!("{k}: {}", ctx.text(&v)));
        }
    }
    if basic {
        let (u, p) = (ctx.text(&id), ctx.text(&secret));
        w.line(
            CHECK,
            format!("auth: {{ basic: {{ username: {u}, password: {p} }} }}"),
        );
    }
    w.line(KEY, "assert:");
    w.line(CHECK, "- status: 200");
    w.line(KEY, "capture:");
    w.line(
        CHECK,
        format!(
            "{}: {{ json: $.access_token, secret: true }}",
            token_name(step)
        ),
    );
    if let Some(ttl) = a.text("tokenCacheTtl") {
        w.comment(
            KEY,
            format!("tokenCacheTtl {ttl}: canary fetches a fresh token on every run"),
        );
    }
    Ok(timeout_ms)
}

fn dns(w: &mut Writer, s: &Obj, ctx: &mut Ctx) -> Result<Checker, ImportError> {
    w.line(KEY, "dns:");
    let domain = s.required("domain")?;
    w.line(CHECK, format!("name: {}", ctx.text(&domain)));
    if let Some(t) = s.text("recordType") {
        w.line(CHECK, format!("type: {}", scalar(&t.to_ascii_uppercase())));
    }
    let port = s.number("port", ctx.vars)?.map(|p| p as u16);
    if let Some(ns) = s.text("nameserver") {
        let literal = ns.parse::<IpAddr>().ok();
        let server = match (literal, port) {
            (Some(IpAddr::V6(ip)), Some(p)) => Some(format!("[{ip}]:{p}")),
            (Some(ip), Some(p)) => Some(format!("{ip}:{p}")),
            (Some(ip), None) => Some(ip.to_string()),
            (None, _) if ns.starts_with("${") => Some(match port {
                Some(p) => format!("{ns}:{p}"),
                None => ns.clone(),
            }),
            (None, _) => None,
        };
        match server {
            Some(sv) => w.line(CHECK, format!("server: {}", ctx.text(&sv))),
            None => w.note(CHECK, &s.place, format!("nameserver `{ns}` is a name; canary asks a server by IP address, so the system resolver is used")),
        }
    } else if let Some(p) = port {
        w.note(
            CHECK,
            &s.place,
            format!("port {p} without a nameserver has no equivalent"),
        );
    }
    if s.text("protocol")
        .is_some_and(|p| p.eq_ignore_ascii_case("TCP"))
    {
        w.line(CHECK, "tcp: true");
    }
    Ok(Checker::Dns)
}

/// The SSL check, and the assertion it implies (the name check that `allowSelfSigned` keeps).
fn ssl(
    w: &mut Writer,
    s: &Obj,
    ctx: &mut Ctx,
) -> Result<(Checker, Option<&'static str>), ImportError> {
    w.line(KEY, "tls:");
    let host = s.required("hostname")?;
    w.line(CHECK, format!("host: {}", ctx.text(&host)));
    let port = s.number("port", ctx.vars)?.map_or(443, |p| p as u16);
    w.line(CHECK, format!("port: {port}"));
    if s.flag("sni") == Some(false) {
        w.line(CHECK, "sni: false");
    }
    let verify = s.flag("verifyHostname");
    if verify == Some(false) {
        w.line(CHECK, "verify_hostname: false");
    }
    let mut implied = None;
    if s.flag("allowSelfSigned") == Some(true) {
        w.line(CHECK, "insecure: true");
        if verify != Some(false) {
            // Synthetics still checks the name when it accepts a self-signed certificate.
            w.comment(
                CHECK,
                "allowSelfSigned: any issuer is accepted; the name is still checked below",
            );
            implied = Some("tls: { hostname_matches: true }");
        }
    }
    Ok((Checker::Ssl, implied))
}

fn tcp(w: &mut Writer, s: &Obj, ctx: &mut Ctx) -> Result<Checker, ImportError> {
    w.line(KEY, "tcp:");
    let host = s.required("hostname")?;
    w.line(CHECK, format!("host: {}", ctx.text(&host)));
    let port = s
        .number("port", ctx.vars)?
        .ok_or_else(|| ImportError::Format(format!("{}: `port` is required", s.place)))?;
    w.line(CHECK, format!("port: {}", port as u16));
    let hex = s
        .text("encoding")
        .is_some_and(|e| e.eq_ignore_ascii_case("HEX"));
    if hex {
        w.line(CHECK, "encoding: hex");
    }
    if let Some(data) = s.text("sendData") {
        let data = if hex {
            data.replace(' ', "").to_ascii_lowercase()
        } else {
            data
        };
        w.line(CHECK, format!("send: {}", ctx.text(&data)));
    }
    if let Some(want) = s.text("expectedResponse") {
        let want = if hex {
            want.replace(' ', "").to_ascii_lowercase()
        } else {
            want
        };
        w.line(
            CHECK,
            format!(
                "expect: {}",
                scalar(&regex::escape(&ctx.secret_refs(&want)))
            ),
        );
    }
    if let Some(ms) = s.number("readTimeout", ctx.vars)? {
        w.line(CHECK, format!("read_timeout: {}", millis(ms as u64)));
    }
    if let Some(ms) = s.number("connectionTimeout", ctx.vars)? {
        w.note(CHECK, &s.place, format!("connectionTimeout {ms}ms has no equivalent: the step's timeout bounds the connection"));
    }
    Ok(Checker::Tcp { hex })
}

/// The step's `assertions` as `assert:` entries, under the check's section, after the one the
/// check itself `implied`.
fn assertions_of(
    w: &mut Writer,
    s: &Obj,
    kind: Checker,
    implied: Option<&str>,
    ctx: &mut Ctx,
) -> Result<(), ImportError> {
    if let Some(a) = implied {
        w.line(CHECK, "assert:");
        w.line(ITEM, format!("- {a}"));
    }
    let items = match s.get("assertions") {
        None => return Ok(()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ImportError::Format(format!(
                "{}: `assertions` must be a list",
                s.place
            )));
        }
    };
    let mut header_written = implied.is_some();
    for (i, item) in items.iter().enumerate() {
        let a = Obj::new(item, &format!("{} assertion {}", s.place, i + 1))?;
        let mapped = assertions::convert(&a, kind, ctx)?;
        if !header_written && matches!(mapped, Mapped::Assert(_)) {
            w.line(CHECK, "assert:");
            header_written = true;
        }
        match mapped {
            Mapped::Assert(text) => w.line(ITEM, format!("- {text}")),
            Mapped::Comment(text) => w.comment(if header_written { ITEM } else { CHECK }, text),
            // Left out whole: its other fields need no notes of their own.
            Mapped::Note(text) => {
                w.note(ITEM, &a.place, text);
                continue;
            }
        }
        for k in a.rest() {
            w.note(
                ITEM,
                &a.place,
                format!("`{k}` has no equivalent and was left out"),
            );
        }
    }
    Ok(())
}

/// The step's `extractors` as `capture:` entries.
fn extractors(w: &mut Writer, s: &Obj, kind: Checker) -> Result<(), ImportError> {
    let Some(list) = s.get("extractors") else {
        return Ok(());
    };
    let Value::Array(items) = list else {
        return Err(ImportError::Format(format!(
            "{}: `extractors` must be a list",
            s.place
        )));
    };
    let mut opened = false;
    for (i, item) in items.iter().enumerate() {
        let e = Obj::new(item, &format!("{} extractor {}", s.place, i + 1))?;
        let name = e.required("name")?;
        let (path, re) = (e.text("path"), e.text("regex"));
        let group = e
            .get("regexGroup")
            .or_else(|| e.get("group"))
            .and_then(Value::as_u64);
        e.get("type");
        let source = match (kind, path, re) {
            (Checker::Dns | Checker::Ssl, _, _) => None,
            (Checker::Tcp { .. }, Some(_), None) => None,
            (_, Some(p), None) => Some(format!("json: {}", scalar(&p))),
            (_, Some(p), Some(r)) => {
                w.note(CHECK, &e.place, format!("a regex over the JSONPath result has no equivalent; `{name}` takes the JSONPath `{p}` alone (then apply /{r}/ yourself)"));
                Some(format!("json: {}", scalar(&p)))
            }
            (_, None, Some(r)) => Some(format!(
                "regex: {}, group: {}",
                scalar(&r),
                group.unwrap_or(0)
            )),
            (_, None, None) => None,
        };
        let Some(source) = source else {
            w.note(
                CHECK,
                &e.place,
                format!("extractor `{name}` has no equivalent on this kind of check"),
            );
            continue;
        };
        if !opened {
            w.line(KEY, "capture:");
            opened = true;
        }
        w.line(CHECK, format!("{}: {{ {source} }}", scalar(&name)));
        for k in e.rest() {
            w.note(
                CHECK,
                &e.place,
                format!("`{k}` has no equivalent and was left out"),
            );
        }
    }
    Ok(())
}

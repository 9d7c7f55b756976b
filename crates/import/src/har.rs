//! A HAR file (HTTP Archive 1.2, as browsers' developer tools export it) as a multi-step HTTP
//! canary: one step per request to the chosen host, in order, each asserting the status it got.
//! Credentials (Authorization, Cookie, API-key and token headers) become `${secret:…}`
//! references; headers the client sets itself are left out.

use std::path::Path;

use serde_json::Value;

use super::{ImportError, Imported, Writer, read_json, scalar, write_headers};

/// Headers canary's client sets itself (or that HTTP/2 writes as pseudo-headers).
const OWN: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "accept-encoding",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "te",
];

/// Imports the requests of `file` to `host` (`name` or `name:port`; default: the first request's).
pub fn import(
    file: &Path,
    host: Option<&str>,
    name: Option<&str>,
) -> Result<Imported, ImportError> {
    let path = file.display().to_string();
    let doc = read_json(file)?;
    let entries = doc["log"]["entries"]
        .as_array()
        .ok_or_else(|| ImportError::Format(format!("{path}: no log.entries (not a HAR file)")))?;
    let host_of = |e: &Value| {
        let url = e["request"]["url"].as_str().unwrap_or("");
        url::Url::parse(url)
            .ok()
            .map(|u| (u.host_str().unwrap_or("").to_string(), u.port()))
    };
    let wanted = match host {
        Some(h) => h.to_string(),
        None => entries
            .first()
            .and_then(host_of)
            .map(|(h, _)| h)
            .ok_or_else(|| ImportError::Format(format!("{path}: no request to import")))?,
    };
    let matches = |e: &&Value| {
        host_of(e).is_some_and(|(h, port)| {
            h == wanted || port.is_some_and(|p| format!("{h}:{p}") == wanted)
        })
    };
    let chosen: Vec<&Value> = entries.iter().filter(matches).collect();
    if chosen.is_empty() {
        return Err(ImportError::Format(format!(
            "{path}: no request to {wanted}"
        )));
    }
    let stem = file
        .file_stem()
        .map_or("imported".into(), |s| s.to_string_lossy().into_owned());
    let mut w = Writer::default();
    w.comment(
        0,
        format!("Imported from {path} (HAR) by `canary import har`: the requests to {wanted}."),
    );
    w.line(0, format!("name: {}", scalar(name.unwrap_or(&stem))));
    w.line(0, "steps:");
    for (i, e) in chosen.iter().enumerate() {
        step(&mut w, i + 1, e);
    }
    let left = entries.len() - chosen.len();
    if left > 0 {
        w.note(
            0,
            "--host",
            format!(
                "{} to other hosts left out (choose one with --host).",
                crate::text::count(left, "request", "requests")
            ),
        );
    }
    Ok(w.finish())
}

/// One request as a step.
fn step(w: &mut Writer, n: usize, e: &Value) {
    let req = &e["request"];
    let method = req["method"].as_str().unwrap_or("GET");
    let url = req["url"].as_str().unwrap_or("");
    let path = url::Url::parse(url).map_or(String::new(), |u| u.path().to_string());
    w.line(
        1,
        format!("- name: {}", scalar(&format!("{n} {method} {path}"))),
    );
    w.line(2, "http:");
    w.line(3, format!("url: {}", scalar(url)));
    if method != "GET" {
        w.line(3, format!("method: {}", scalar(method)));
    }
    let post = &req["postData"];
    headers(
        w,
        req["headers"].as_array().map_or(&[][..], Vec::as_slice),
        post,
    );
    body(w, post);
    w.line(
        3,
        "follow_redirects: false   # a HAR records each redirect as its own request",
    );
    if let Some(status) = e["response"]["status"].as_u64().filter(|s| *s > 0) {
        w.line(2, "assert:");
        w.line(3, format!("- status: {status}"));
    }
}

/// The request's body: `postData.text` as it is, or its `params` (a form, which HAR writes
/// instead of the text) as `form:`, or as an encoded `body:` when a name repeats.
fn body(w: &mut Writer, post: &Value) {
    if let Some(text) = post["text"].as_str().filter(|b| !b.is_empty()) {
        w.line(3, format!("body: {}", scalar(text)));
        return;
    }
    let params = post["params"].as_array().map_or(&[][..], Vec::as_slice);
    if params.is_empty() {
        return;
    }
    let mime = post["mimeType"].as_str().unwrap_or("");
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or(""),
                p["value"].as_str().unwrap_or(""),
            )
        })
        .collect();
    if mime.starts_with("multipart/") || params.iter().any(|p| p.get("fileName").is_some()) {
        let names: Vec<&str> = pairs.iter().map(|(n, _)| *n).collect();
        let why = format!(
            "a multipart body ({}) was recorded without its text; canary sends no multipart \
             bodies, so it was left out",
            names.join(", ")
        );
        w.note(3, "postData", why);
        return;
    }
    let mut names: Vec<&str> = pairs.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() < pairs.len() {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        w.line(3, format!("body: {}", scalar(&encoded)));
        return;
    }
    w.line(3, "form:");
    for (name, value) in pairs {
        match param_secret(name) {
            Some(secret) => {
                w.line(4, format!("{}: \"${{secret:{secret}}}\"", scalar(name)));
                let why =
                    format!("the value is read from the {secret} secret, not kept in the file");
                w.note(4, name, why);
            }
            None => w.line(4, format!("{}: {}", scalar(name), scalar(value))),
        }
    }
}

/// A form field that carries a credential, as the name of the secret that replaces its value.
fn param_secret(name: &str) -> Option<String> {
    let n = name.to_ascii_lowercase();
    let sensitive = ["pass", "secret", "token", "key", "otp"]
        .iter()
        .any(|w| n.contains(w));
    sensitive.then(|| super::env_name(name))
}

/// The recorded headers, without those the client sets itself (and without repeats); the body's
/// `Content-Type` from `postData.mimeType` when the headers do not give one.
fn headers(w: &mut Writer, list: &[Value], post: &Value) {
    let mut kept: Vec<(&str, &str)> = Vec::new();
    for h in list {
        let (Some(k), Some(v)) = (h["name"].as_str(), h["value"].as_str()) else {
            continue;
        };
        let own = k.starts_with(':') || OWN.contains(&k.to_ascii_lowercase().as_str());
        if !own && !kept.iter().any(|(seen, _)| seen.eq_ignore_ascii_case(k)) {
            kept.push((k, v));
        }
    }
    let typed = kept
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    let mut extra = Vec::new();
    let has_text = post["text"].as_str().is_some_and(|t| !t.is_empty());
    if let (false, true, Some(mime)) = (typed, has_text, post["mimeType"].as_str()) {
        extra.push(format!("Content-Type: {}", scalar(mime)));
    }
    write_headers(w, 3, kept, extra);
}

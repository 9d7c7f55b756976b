//! A curl command line as an HTTP canary: method, headers, data (`@file` read as curl reads
//! it), `--json`, `-u`, `-k`, `--cacert`, `-L`, `--max-time`, `--retry`, `--http2`. Credentials (`-u`'s password, `Authorization`, `Cookie` and
//! API-key headers) become `${secret:…}` references, never literals; options without an
//! equivalent become notes.

use super::{ImportError, Imported, Writer, scalar, write_headers};

/// The request a curl command line makes.
#[derive(Debug, Default)]
struct Request {
    url: Option<String>,
    method: Option<String>,
    headers: Vec<(String, String)>,
    data: Vec<String>,
    json: Option<String>,
    user: Option<String>,
    insecure: bool,
    cacert: Option<String>,
    location: bool,
    max_time: Option<String>,
    retries: Option<String>,
    http2: bool,
    get: bool,
    ignored: Vec<String>,
}

/// Options that take no value and change nothing canary does (output, progress, verbosity).
const QUIET: &[&str] = &[
    "-s",
    "--silent",
    "-S",
    "--show-error",
    "-v",
    "--verbose",
    "-i",
    "--include",
    "--compressed",
    "-f",
    "--fail",
    "--fail-with-body",
    "-#",
    "--progress-bar",
    "--no-progress-meter",
];

/// Options with a value that canary does not carry over (noted with their value).
const NOTED_WITH_VALUE: &[&str] = &[
    "--retry-delay",
    "--retry-max-time",
    "--connect-timeout",
    "-x",
    "--proxy",
    "--resolve",
    "-c",
    "--cookie-jar",
    "-F",
    "--form",
    "-E",
    "--cert",
    "--key",
    "-D",
    "--dump-header",
    "-T",
    "--upload-file",
    "--limit-rate",
];

/// Options whose value canary has no use for.
const QUIET_WITH_VALUE: &[&str] = &["-o", "--output", "-w", "--write-out"];

/// Imports `args` (what follows `curl`, or with `curl` first) as a canary named `name` (default:
/// from the URL).
pub fn import(args: &[String], name: Option<&str>) -> Result<Imported, ImportError> {
    let args = match args.first().map(String::as_str) {
        Some("curl") => &args[1..],
        _ => args,
    };
    let req = parse(&expand(args))?;
    let url = req
        .url
        .clone()
        .ok_or_else(|| ImportError::Format("the curl command has no URL".into()))?;
    let name = name.map_or_else(|| name_from(&url), str::to_string);
    Ok(write(&req, &url, &name))
}

/// `-sSL` as `-s -S -L` (short options that take no value, grouped).
fn expand(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        let grouped = a.len() > 2
            && a.starts_with('-')
            && !a.starts_with("--")
            && a[1..].chars().all(|c| "sSvifLkIG#".contains(c));
        if grouped {
            out.extend(a[1..].chars().map(|c| format!("-{c}")));
        } else {
            out.push(a.clone());
        }
    }
    out
}

fn parse(args: &[String]) -> Result<Request, ImportError> {
    let mut r = Request::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| ImportError::Format(format!("{what} needs a value")))
        };
        match a.as_str() {
            "-X" | "--request" => r.method = Some(value(a)?),
            "-H" | "--header" => {
                let h = value(a)?;
                match h.split_once(':') {
                    Some((k, v)) => r.headers.push((k.trim().into(), v.trim().into())),
                    None => r.ignored.push(format!("-H {h} (not `Name: value`)")),
                }
            }
            "-d" | "--data" | "--data-ascii" => r.data.push(data(&value(a)?, Read::Text)?),
            "--data-binary" => r.data.push(data(&value(a)?, Read::Binary)?),
            "--data-raw" => r.data.push(value(a)?),
            "--data-urlencode" => r.data.push(urlencoded(&value(a)?)?),
            "--json" => {
                let more = data(&value(a)?, Read::Binary)?;
                r.json = Some(r.json.take().unwrap_or_default() + &more);
            }
            "-u" | "--user" => r.user = Some(value(a)?),
            "-k" | "--insecure" => r.insecure = true,
            "--cacert" => r.cacert = Some(value(a)?),
            "-L" | "--location" => r.location = true,
            "-m" | "--max-time" => r.max_time = Some(value(a)?),
            "-I" | "--head" => r.method = Some("HEAD".into()),
            "-G" | "--get" => r.get = true,
            "-A" | "--user-agent" => r.headers.push(("User-Agent".into(), value(a)?)),
            "-e" | "--referer" => r.headers.push(("Referer".into(), value(a)?)),
            "-b" | "--cookie" => r.headers.push(("Cookie".into(), value(a)?)),
            "--url" => set_url(&mut r, value(a)?)?,
            "--retry" => r.retries = Some(value(a)?),
            "--http2" | "--http2-prior-knowledge" => r.http2 = true,
            "--http1.1" => r.http2 = false,
            a if QUIET.contains(&a) => {}
            a if QUIET_WITH_VALUE.contains(&a) => {
                value(a)?;
            }
            a if NOTED_WITH_VALUE.contains(&a) => {
                let v = value(a)?;
                r.ignored.push(format!("{a} {v}"));
            }
            a if a.starts_with('-') => r.ignored.push(a.to_string()),
            url => set_url(&mut r, url.to_string())?,
        }
    }
    Ok(r)
}

/// The URL, `http://` first when it has no scheme (as curl assumes); a second URL is an error,
/// never a silent replacement of the first.
fn set_url(r: &mut Request, url: String) -> Result<(), ImportError> {
    let url = match url.contains("://") {
        true => url,
        false => format!("http://{url}"),
    };
    if let Some(first) = &r.url {
        return Err(ImportError::Format(format!(
            "the curl command has two URLs ({first} and {url}); a canary makes one request: \
             import each URL on its own"
        )));
    }
    r.url = Some(url);
    Ok(())
}

/// How curl reads an `@file` data argument.
#[derive(Clone, Copy, PartialEq)]
enum Read {
    /// `-d`: carriage returns and newlines are stripped.
    Text,
    /// `--data-binary`, `--json`: as it is.
    Binary,
}

/// A data argument: the text itself, or `@file` (`@-`: standard input) read as curl reads it.
fn data(arg: &str, how: Read) -> Result<String, ImportError> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(arg.to_string());
    };
    let text = read(path)?;
    Ok(match how {
        Read::Text => text.replace(['\r', '\n'], ""),
        Read::Binary => text,
    })
}

/// The contents of `path` (`-`: standard input) as text.
fn read(path: &str) -> Result<String, ImportError> {
    let bytes = match path {
        "-" => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
        }
        _ => std::fs::read(path),
    };
    let bytes = bytes.map_err(|source| ImportError::Read {
        path: path.to_string(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| {
        ImportError::Format(format!(
            "{path} is not UTF-8 text: a canary's body is text (write binary bodies as base64 \
             in a `body:` by hand)"
        ))
    })
}

/// `--data-urlencode`'s forms: `content`, `=content`, `name=content`, `@file`, `name@file` —
/// the content percent-encoded, the name as it is.
fn urlencoded(arg: &str) -> Result<String, ImportError> {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let at = arg.find('@');
    let eq = arg.find('=');
    Ok(match (eq, at) {
        (Some(e), Some(a)) if a < e => {
            format!("{}={}", &arg[..a], encode(&read(&arg[a + 1..])?))
        }
        (Some(0), _) => encode(&arg[1..]),
        (Some(e), _) => format!("{}={}", &arg[..e], encode(&arg[e + 1..])),
        (None, Some(0)) => encode(&read(&arg[1..])?),
        (None, Some(a)) => format!("{}={}", &arg[..a], encode(&read(&arg[a + 1..])?)),
        (None, None) => encode(arg),
    })
}

/// A canary name from the URL's host and path: `api.example.com/v1/orders` → `api-example-com-v1-orders`.
fn name_from(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let slug: Vec<&str> = rest
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect();
    if slug.is_empty() {
        "imported".into()
    } else {
        slug.join("-").to_lowercase()
    }
}

fn write(r: &Request, url: &str, name: &str) -> Imported {
    let mut w = Writer::default();
    w.comment(
        0,
        "Imported from a curl command line by `canary import curl`.",
    );
    w.line(0, format!("name: {}", scalar(name)));
    if let Some(t) = &r.max_time {
        w.line(0, format!("timeout: {}s", t.trim_end_matches('s')));
    }
    retries(&mut w, r);
    w.line(0, "http:");
    let (url, data_in_query) = match (r.get, r.data.is_empty()) {
        (true, false) => (
            format!(
                "{url}{}{}",
                if url.contains('?') { "&" } else { "?" },
                r.data.join("&")
            ),
            true,
        ),
        _ => (url.to_string(), false),
    };
    w.line(1, format!("url: {}", scalar(&url)));
    if r.http2 {
        w.line(
            1,
            "http_version: \"2\"   # --http2: an error if the server does not speak it",
        );
    }
    let method = r.method.clone().or_else(|| {
        let body = (!r.data.is_empty() && !data_in_query) || r.json.is_some();
        body.then(|| "POST".to_string())
    });
    if let Some(m) = method {
        w.line(1, format!("method: {}", scalar(&m)));
    }
    headers(&mut w, r, data_in_query);
    body(&mut w, r, data_in_query);
    if let Some(user) = &r.user {
        let (u, _) = user.split_once(':').unwrap_or((user, ""));
        w.line(
            1,
            format!(
                "auth: {{ basic: {{ username: {}, password: \"${{secret:CURL_PASSWORD}}\" }} }}",
                scalar(u)
            ),
        );
        w.note(
            1,
            "-u",
            "the password is read from the CURL_PASSWORD secret (environment or --env-file)",
        );
    }
    if !r.location {
        w.line(
            1,
            "follow_redirects: false   # curl follows redirects only with -L",
        );
    }
    if r.insecure || r.cacert.is_some() {
        w.line(1, "tls:");
        if r.insecure {
            w.line(2, "insecure: true");
        }
        if let Some(ca) = &r.cacert {
            w.line(2, format!("ca_file: {}", scalar(ca)));
        }
    }
    w.line(1, "assert:");
    w.line(
        2,
        "- status: { lt: 400 }   # what curl --fail calls success; tighten it",
    );
    for opt in &r.ignored {
        w.note(
            1,
            opt,
            format!("`{opt}` has no equivalent and was left out"),
        );
    }
    w.finish()
}

/// `--retry N` as `retries:` (canary's limit is 10).
fn retries(w: &mut Writer, r: &Request) {
    let Some(n) = &r.retries else { return };
    match n.parse::<u32>() {
        Ok(0) => {}
        Ok(n) if n <= 10 => w.line(0, format!("retries: {n}")),
        Ok(n) => {
            w.line(0, "retries: 10");
            w.note(
                0,
                "--retry",
                format!("--retry {n} is more than canary's 10 retries; 10 kept"),
            );
        }
        Err(_) => w.note(
            0,
            "--retry",
            format!("--retry {n} is not a number; left out"),
        ),
    }
}

fn headers(w: &mut Writer, r: &Request, data_in_query: bool) {
    let has = |name: &str| r.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let mut extra = Vec::new();
    if !r.data.is_empty() && !data_in_query && r.json.is_none() && !has("content-type") {
        extra
            .push("Content-Type: application/x-www-form-urlencoded   # as curl -d sends it".into());
    }
    if r.json.is_some() && !has("accept") {
        extra.push("Accept: application/json   # as curl --json sends it".into());
    }
    let given = r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    write_headers(w, 1, given, extra);
}

fn body(w: &mut Writer, r: &Request, data_in_query: bool) {
    if let Some(j) = &r.json {
        match serde_json::from_str::<serde_json::Value>(j) {
            Ok(v) => w.line(1, format!("json: {v}")),
            Err(_) => w.line(1, format!("body: {}", scalar(j))),
        }
    } else if !r.data.is_empty() && !data_in_query {
        w.line(1, format!("body: {}", scalar(&r.data.join("&"))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret_name;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn grouped_flags_names_and_secrets() {
        assert_eq!(expand(&args("-sSL -X POST")), args("-s -S -L -X POST"));
        assert_eq!(
            name_from("https://api.example.com/v1/orders?x=1"),
            "api-example-com-v1-orders"
        );
        assert_eq!(secret_name("X-Api-Key").as_deref(), Some("X_API_KEY"));
        assert_eq!(secret_name("Accept"), None);
        let out = import(
            &args("curl -sS --frobnicate https://x.test/a -H Authorization:Bearer_t"),
            None,
        )
        .unwrap();
        assert!(
            out.yaml
                .contains("Authorization: \"${secret:AUTHORIZATION}\""),
            "{}",
            out.yaml
        );
        assert!(!out.yaml.contains("Bearer_t"), "{}", out.yaml);
        assert!(
            out.warnings.iter().any(|w| w.contains("--frobnicate")),
            "{:?}",
            out.warnings
        );
    }
}

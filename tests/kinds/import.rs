//! `canary import synthetics`: multi checks configurations written field by field as the AWS
//! documentation gives them, imported, loaded and run against real servers on loopback; what has
//! no equivalent is a `# NOTE:` and a warning, never dropped in silence.

use std::collections::HashMap;

use canary::config::{self, LoadOptions};
use canary::import::synthetics::convert;
use canary::run::Outcome;
use serde_json::{Value, json};

use super::support::certs::Ca;
use super::support::dns::{DnsServer, record};
use super::support::server::{Reply, Server};
use super::tcp::banner_server;
use super::{Canary, report};

/// The secrets the configurations below refer to, as the environment gives them.
fn secrets() -> HashMap<String, String> {
    [
        ("OAUTH_CLIENT_ID", "shop-canary"),
        ("OAUTH_CLIENT_SECRET", "s3cr3t"),
        ("ORDERS_API_KEY", "k-123"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Imports `doc`, loads it with [`secrets`] and runs it once.
async fn import_and_run(doc: &Value) -> (String, canary::run::Run) {
    let imported = convert(doc, "imported", "multi.json").expect("imports");
    let c = Canary::new(&imported.yaml, &[]);
    let opts = LoadOptions {
        env: secrets(),
        ..LoadOptions::default()
    };
    let canary = config::load(&[c.dir.path().join("c.yaml")], &opts)
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.yaml))
        .remove(0);
    let run = canary::runner::run_canary(&canary, &Default::default()).await;
    (imported.yaml, run)
}

/// An OAuth token endpoint (client credentials with HTTP Basic, the RFC's default) and an
/// orders API that wants its token and API key.
fn api() -> Server {
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("shop-canary:s3cr3t")
    );
    Server::http(move |req| {
        let form = String::from_utf8_lossy(&req.body).to_string();
        match req.path() {
            "/token"
                if form.contains("grant_type=client_credentials")
                    && req.header("authorization") == Some(&basic)
                    && !form.contains("client_secret")
                    && form.contains("scope=orders") =>
            {
                Reply::json(
                    200,
                    json!({"access_token": "tok-9", "token_type": "Bearer"}),
                )
            }
            "/orders"
                if req.header("authorization") == Some("Bearer tok-9")
                    && req.header("x-api-key") == Some("k-123")
                    && req.header("user-agent") == Some("CloudWatch-Synthetics-Advanced/1.0") =>
            {
                Reply::json(200, json!({"orders": [{"id": "o-17", "total": 12.5}]}))
                    .with_header("x-request-id", "r-1")
            }
            "/orders/o-17" => Reply::text(200, "order o-17 shipped"),
            _ => Reply::text(401, "no"),
        }
    })
}

/// One configuration with each checker type, as a user would have it in Synthetics.
fn configuration(base: &str, dns: &str, tls_port: u16, tcp_port: u16, order: &str) -> Value {
    let (ns, ns_port) = dns.split_once(':').unwrap();
    json!({
      "globalSettings": { "stepTimeout": 5000, "userAgent": "CloudWatch-Synthetics-Advanced/1.0" },
      "variables": { "baseUrl": base, "apiKey": "${AWS_SECRET:orders-api-key}" },
      "steps": {
        "1": {
          "stepName": "listOrders", "checkerType": "HTTP",
          "url": "${baseUrl}/orders", "httpMethod": "GET",
          "headers": { "X-API-Key": "${apiKey}" },
          "Authentication": {
            "type": "OAUTH_CLIENT_CREDENTIALS", "tokenUrl": "${baseUrl}/token",
            "clientId": "${AWS_SECRET:oauth:client_id}", "clientSecret": "${AWS_SECRET:oauth:client_secret}",
            "scope": "orders"
          },
          "assertions": [
            { "type": "STATUS_CODE", "operator": "EQUALS", "value": 200 },
            { "type": "HEADER", "headerName": "x-request-id", "operator": "EXIST", "value": true },
            { "type": "BODY", "target": "JSON", "path": "$.orders[0].id", "operator": "EQUALS", "value": order },
            { "type": "RESPONSE_TIME", "operator": "LESS_THAN", "value": 3000, "unit": "MILLISECONDS" }
          ],
          "extractors": [ { "name": "orderId", "path": "$.orders[0].id" } ]
        },
        "2": {
          "stepName": "orderStatus", "checkerType": "HTTP", "url": "${baseUrl}/orders/${orderId}",
          "assertions": [
            { "type": "STATUS_CODE", "operator": "IN_RANGE", "rangeMin": 200, "rangeMax": 299 },
            { "type": "BODY", "target": "TEXT", "operator": "CONTAINS", "value": "shipped" }
          ]
        },
        "3": {
          "stepName": "apiRecord", "checkerType": "DNS", "domain": "api.example.test",
          "recordType": "A", "nameserver": ns, "port": ns_port.parse::<u16>().unwrap(),
          "assertions": [
            { "type": "RECORD_VALUE", "operator": "EQUALS", "value": "127.0.0.1" },
            { "type": "RECORD_COUNT", "operator": "GREATER_THAN", "value": 0 },
            { "type": "TTL", "operator": "GREATER_THAN", "value": 30 }
          ]
        },
        "4": {
          "stepName": "certificate", "checkerType": "SSL", "hostname": "localhost", "port": tls_port,
          "allowSelfSigned": true,
          "assertions": [
            { "type": "CERTIFICATE_EXPIRY", "operator": "GREATER_THAN", "value": 30, "unit": "DAYS" },
            { "type": "CERTIFICATE_SUBJECT", "field": "CN", "operator": "CONTAINS", "value": "localhost" }
          ]
        },
        "5": {
          "stepName": "queue", "checkerType": "TCP", "hostname": "127.0.0.1", "port": tcp_port,
          "sendData": "PING\r\n", "expectedResponse": "PING", "readTimeout": 2000,
          "assertions": [
            { "type": "CONNECTION_SUCCESSFUL", "value": true },
            { "type": "RESPONSE_DATA", "operator": "STARTS_WITH", "value": "+OK" }
          ]
        }
      }
    })
}

#[tokio::test]
async fn a_configuration_with_every_checker_type_runs_and_fails_where_it_should() {
    let srv = api();
    let dns = DnsServer::start(vec![record("api.example.test.", 120, "A 127.0.0.1")]);
    let ca = Ca::new();
    let tls = Server::https(ca.leaf_for(&["localhost"], -1, 90), |_| {
        Reply::text(200, "ok")
    });
    let (tcp, _stop) = banner_server(Some("+OK ready\r\n"));
    let base = srv.url("");
    let base = base.trim_end_matches('/');
    let tls_port = url::Url::parse(&tls.url("/")).unwrap().port().unwrap();
    let doc = |order: &str| configuration(base, &dns.addr.to_string(), tls_port, tcp.port(), order);

    let (yaml, ok) = import_and_run(&doc("o-17")).await;
    assert_eq!(ok.outcome(), Outcome::Passed, "{yaml}\n{}", report(&ok));
    let names: Vec<_> = ok.last().steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "listOrders-token",
            "listOrders",
            "orderStatus",
            "apiRecord",
            "certificate",
            "queue"
        ]
    );
    // The token was captured as a secret: it is nowhere in the report.
    assert!(!report(&ok).contains("tok-9"), "{}", report(&ok));

    let (_, bad) = import_and_run(&doc("o-18")).await;
    assert_eq!(bad.outcome(), Outcome::Failed, "{}", report(&bad));
    let failed = &bad.last().steps[1];
    assert!(
        failed
            .assertions
            .iter()
            .any(|a| !a.passed && a.actual.contains("o-17")),
        "{}",
        report(&bad)
    );
}

#[test]
fn the_yaml_reads_like_a_canary_file() {
    let doc = configuration("http://127.0.0.1:1", "127.0.0.1:53", 443, 6379, "o-17");
    let out = convert(&doc, "orders", "orders.json").unwrap();
    for line in [
        "name: orders",
        "#   OAUTH_CLIENT_ID  (AWS Secrets Manager: oauth:client_id)",
        "  apiKey: \"${secret:ORDERS_API_KEY}\"",
        "  - name: listOrders-token",
        "      listOrders_token: { json: $.access_token, secret: true }",
        "      auth: { bearer: \"${listOrders_token}\" }",
        "        - header: { name: x-request-id, exists: true }",
        "        - status: { gte: 200, lte: 299 }",
        "      server: \"127.0.0.1:53\"",
        "        - answers: { includes: \"127.0.0.1\" }",
        "        - ttl: { gt: 30 }",
        "      insecure: true",
        "        - tls: { subject: { field: CN, contains: localhost } }",
        "      expect: PING",
        "        - body: { matches: \"^\\\\+OK\" }",
        "      read_timeout: 2s",
        "      orderId: { json: \"$.orders[0].id\" }",
    ] {
        assert!(
            out.yaml.lines().any(|l| l == line),
            "no line `{line}` in:\n{}",
            out.yaml
        );
    }
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn what_has_no_equivalent_is_a_note_and_a_warning_and_the_rest_still_loads() {
    let doc = json!({
      "globalSettings": { "stepTimeout": 10000, "retries": 2 },
      "steps": {
        "1": {
          "stepName": "signed", "checkerType": "HTTP", "url": "https://api.example.test/",
          "waitTime": 5,
          "authentication": { "type": "SIGV4", "service": "execute-api", "region": "eu-west-1" },
          "assertions": [
            { "type": "STATUS_CODE", "operator": "EQUALS", "value": 200 },
            { "type": "RESPONSE_TIME", "operator": "LESS_THAN", "value": 2, "unit": "SECONDS" }
          ],
          "extractors": [ { "name": "id", "path": "$.id", "regex": "[0-9]+" } ]
        },
        "3": {
          "stepName": "closed", "checkerType": "TCP", "hostname": "127.0.0.1", "port": 9,
          "connectionTimeout": 1000, "colour": "red",
          "assertions": [ { "type": "CONNECTION_SUCCESSFUL", "value": false } ]
        }
      }
    });
    let out = convert(&doc, "odd", "odd.json").unwrap();
    for w in [
        "step 1 (signed): waitTime 5s before the step has no equivalent",
        "step 1 (signed) authentication: SIGV4 authentication has no equivalent",
        "step 1 (signed) assertion 2: RESPONSE_TIME in `SECONDS` has no equivalent",
        "step 1 (signed) extractor 1: a regex over the JSONPath result has no equivalent",
        "step 3 (closed): connectionTimeout 1000ms has no equivalent",
        "step 3 (closed): `colour` has no equivalent and was left out",
        "step 3 (closed) assertion 1: CONNECTION_SUCCESSFUL false",
        "globalSettings: `retries` has no equivalent and was left out",
    ] {
        assert!(
            out.warnings.iter().any(|x| x.starts_with(w)),
            "no warning `{w}` in {:#?}",
            out.warnings
        );
        let note = w.split_once(": ").unwrap().1;
        assert!(
            out.yaml.contains(&format!("# NOTE: {note}")),
            "no note `{note}`:\n{}",
            out.yaml
        );
    }
    assert_eq!(out.warnings.len(), 8, "{:#?}", out.warnings);
    let c = Canary::new(&out.yaml, &[]);
    c.load().unwrap_or_else(|e| panic!("{e}\n{}", out.yaml));
}

#[test]
fn a_check_type_canary_lacks_is_an_error_and_no_wait_is_no_note() {
    let doc = json!({ "steps": {
        "1": { "stepName": "home", "checkerType": "HTTP", "url": "http://127.0.0.1:1/", "waitTime": 0 },
        "2": { "stepName": "ping", "checkerType": "ICMP", "hostname": "example.test" },
    }});
    let e = convert(&doc, "odd", "odd.json").unwrap_err().to_string();
    assert!(
        e.starts_with("step 2 (ping): checkerType ICMP has no equivalent in canary"),
        "{e}"
    );
    let doc = json!({ "steps": { "1": {
        "stepName": "home", "checkerType": "HTTP", "url": "http://127.0.0.1:1/", "waitTime": 0
    }}});
    let out = convert(&doc, "ok", "ok.json").unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn oauth_client_credentials_go_as_basic_unless_token_api_auth_asks_for_the_body() {
    let oauth = |how: Option<&str>| {
        let mut auth = json!({
            "type": "OAUTH_CLIENT_CREDENTIALS", "tokenUrl": "https://auth.test/token",
            "clientId": "${AWS_SECRET:o:id}", "clientSecret": "${AWS_SECRET:o:secret}"
        });
        if let Some(h) = how {
            auth["tokenApiAuth"] = json!(h);
        }
        let doc = json!({ "steps": { "1": {
            "stepName": "api", "checkerType": "HTTP", "url": "https://api.test/", "authentication": auth
        }}});
        convert(&doc, "o", "o.json").unwrap().yaml
    };
    let basic =
        "auth: { basic: { username: \"${secret:O_ID}\", password: \"${secret:O_SECRET}\" } }";
    for yaml in [oauth(None), oauth(Some("BASIC_AUTH_HEADER"))] {
        assert!(yaml.contains(basic), "{yaml}");
        assert!(!yaml.contains("client_secret:"), "{yaml}");
    }
    let body = oauth(Some("REQUEST_BODY"));
    assert!(
        body.contains("client_secret: \"${secret:O_SECRET}\"") && !body.contains(basic),
        "{body}"
    );
}

#[test]
fn every_documented_assertion_converts_to_one_that_loads() {
    let http = [
        json!({ "type": "STATUS_CODE", "operator": "NOT_EQUALS", "value": 500 }),
        json!({ "type": "STATUS_CODE", "operator": "GREATER_THAN", "value": 199 }),
        json!({ "type": "STATUS_CODE", "operator": "LESS_THAN", "value": 400 }),
        json!({ "type": "RESPONSE_TIME", "operator": "GREATER_THAN", "value": 1 }),
        json!({ "type": "RESPONSE_TIME", "operator": "EQUALS", "value": 100, "unit": "MILLISECONDS" }),
        json!({ "type": "HEADER", "headerName": "content-type", "operator": "CONTAINS", "value": "json" }),
        json!({ "type": "HEADER", "headerName": "server", "operator": "NOT_CONTAINS", "value": "IIS" }),
        json!({ "type": "HEADER", "headerName": "etag", "operator": "REGEX_MATCH", "value": "^W/" }),
        json!({ "type": "HEADER", "headerName": "x-a", "operator": "EQUALS", "value": "1" }),
        json!({ "type": "HEADER", "headerName": "x-b", "operator": "NOT_EQUALS", "value": "2" }),
        json!({ "type": "BODY", "target": "TEXT", "operator": "REGEX_MATCH", "value": "ok|fine" }),
        json!({ "type": "BODY", "target": "TEXT", "operator": "NOT_CONTAINS", "value": "error" }),
        json!({ "type": "BODY", "target": "TEXT", "operator": "EQUALS", "value": "ok" }),
        json!({ "type": "BODY", "target": "JSON", "path": "$.a", "operator": "EXISTS", "value": true }),
        json!({ "type": "BODY", "target": "JSON", "path": "$.b", "operator": "NOT_EQUALS", "value": "x" }),
        json!({ "type": "BODY", "target": "JSON", "path": "$.c", "operator": "CONTAINS", "value": "y" }),
        json!({ "type": "BODY", "target": "JSON", "path": "$.d", "operator": "NOT_CONTAINS", "value": "z" }),
        json!({ "type": "BODY", "target": "JSON", "path": "$.e", "operator": "REGEX_MATCH", "value": "^[0-9]+$" }),
    ];
    let dns = [
        json!({ "type": "RECORD_VALUE", "operator": "NOT_EQUALS", "value": "10.0.0.9" }),
        json!({ "type": "RECORD_VALUE", "operator": "CONTAINS", "value": "10.0" }),
        json!({ "type": "RECORD_VALUE", "operator": "NOT_CONTAINS", "value": "192.168" }),
        json!({ "type": "RECORD_VALUE", "operator": "REGEX_MATCH", "value": "^10\\." }),
        json!({ "type": "RECORD_COUNT", "operator": "EQUALS", "value": 2 }),
        json!({ "type": "RECORD_COUNT", "operator": "LESS_THAN", "value": 5 }),
        json!({ "type": "TTL", "operator": "LESS_THAN", "value": 86400 }),
        json!({ "type": "TTL", "operator": "EQUALS", "value": 300 }),
        json!({ "type": "AUTHORITATIVE", "operator": "EQUALS", "value": true }),
    ];
    let ssl = [
        json!({ "type": "CERTIFICATE_EXPIRY", "operator": "LESS_THAN", "value": 400, "unit": "DAYS" }),
        json!({ "type": "CERTIFICATE_EXPIRY", "operator": "GREATER_THAN", "value": 72, "unit": "HOURS" }),
        json!({ "type": "CERTIFICATE_SUBJECT", "field": "O", "operator": "EQUALS", "value": "Shop" }),
        json!({ "type": "CERTIFICATE_ISSUER", "field": "CN", "operator": "REGEX_MATCH", "value": "R[0-9]+" }),
        json!({ "type": "CERTIFICATE_ISSUER", "field": "O", "operator": "NOT_CONTAINS", "value": "Evil" }),
        json!({ "type": "CIPHER_SUITE", "operator": "CONTAINS", "value": "AES_256" }),
        json!({ "type": "CIPHER_SUITE", "operator": "EQUALS", "value": "TLS13_AES_128_GCM_SHA256" }),
    ];
    let dns_time = [json!({ "type": "RESPONSE_TIME", "operator": "LESS_THAN", "value": 500 })];
    let tcp_time = [
        json!({ "type": "RESPONSE_TIME", "operator": "LESS_THAN", "value": 300, "unit": "MILLISECONDS" }),
    ];
    let tcp = [
        json!({ "type": "RESPONSE_DATA", "operator": "ENDS_WITH", "value": "\r\n" }),
        json!({ "type": "RESPONSE_DATA", "operator": "EQUALS", "value": "+PONG\r\n" }),
        json!({ "type": "RESPONSE_DATA", "operator": "CONTAINS", "value": "2b504f4e47", "encoding": "HEX" }),
    ];
    let doc = json!({ "steps": {
        "1": { "checkerType": "HTTP", "url": "http://127.0.0.1:1/", "assertions": http },
        "2": { "checkerType": "DNS", "domain": "example.test", "nameserver": "127.0.0.1", "assertions": dns },
        "3": { "checkerType": "SSL", "hostname": "example.test", "assertions": ssl },
        "4": { "checkerType": "TCP", "hostname": "127.0.0.1", "port": 6379, "assertions": tcp },
        "5": { "checkerType": "DNS", "domain": "example.test", "nameserver": "127.0.0.1", "assertions": dns_time },
        "6": { "checkerType": "TCP", "hostname": "127.0.0.1", "port": 6379, "assertions": tcp_time },
    }});
    let out = convert(&doc, "all", "all.json").unwrap();
    assert!(out.warnings.is_empty(), "{:#?}\n{}", out.warnings, out.yaml);
    let asserts = out
        .yaml
        .lines()
        .filter(|l| l.trim_start().starts_with("- ") && !l.trim_start().starts_with("- name:"));
    assert_eq!(
        asserts.count(),
        http.len() + dns.len() + ssl.len() + tcp.len() + dns_time.len() + tcp_time.len(),
        "{}",
        out.yaml
    );
    for line in [
        "        - status: { not: 500 }",
        "        - latency: { total: { gte: 100ms, lte: 100ms } }",
        "        - json: { path: \"$.e\", matches: \"^[0-9]+$\" }",
        "        - answers: { excludes: \"10.0.0.9\" }",
        "        - answers: { count: 2 }",
        "        - tls: { expires_in: { gt: 72h } }",
        "        - tls: { issuer: { field: CN, matches: \"R[0-9]+\" } }",
        "        - body: { contains: \"+PONG\" }",
        "        - tls: { cipher: { contains: AES_256 } }",
        "        - latency: { total: { lt: 500ms } }",
        "        - latency: { total: { lt: 300ms } }",
    ] {
        assert!(
            out.yaml.lines().any(|l| l == line),
            "no line `{line}` in:\n{}",
            out.yaml
        );
    }
    let c = Canary::new(&out.yaml, &[]);
    c.load().unwrap_or_else(|e| panic!("{e}\n{}", out.yaml));
}

#[test]
fn the_command_writes_the_canary_and_warns_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("shop-api.json");
    let doc = json!({ "steps": { "1": {
        "stepName": "home", "checkerType": "HTTP", "url": "http://127.0.0.1:1/", "waitTime": 2,
        "assertions": [ { "type": "STATUS_CODE", "operator": "EQUALS", "value": 200 } ]
    }}});
    std::fs::write(&src, doc.to_string()).unwrap();
    let out = super::support::canary(dir.path(), &["import", "synthetics", "shop-api.json"]);
    let (stdout, stderr) = super::support::text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("name: shop-api\n"), "{stdout}");
    assert_eq!(
        stderr.trim(),
        "warning: step 1 (home): waitTime 2s before the step has no equivalent; the step runs at once"
    );

    let written = super::support::canary(
        dir.path(),
        &[
            "import",
            "synthetics",
            "shop-api.json",
            "--name",
            "shop",
            "-o",
            "shop.yaml",
        ],
    );
    assert!(written.status.success());
    let validate = super::support::canary(dir.path(), &["validate", "shop.yaml"]);
    assert!(
        validate.status.success(),
        "{:?}",
        super::support::text(&validate)
    );

    std::fs::write(&src, "{ \"steps\": [1,").unwrap();
    let bad = super::support::canary(dir.path(), &["import", "synthetics", "shop-api.json"]);
    let (_, stderr) = super::support::text(&bad);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr.starts_with("error: shop-api.json is not JSON: "),
        "{stderr}"
    );
}

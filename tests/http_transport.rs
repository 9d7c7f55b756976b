//! How requests travel: client certificates (mutual TLS, keys encrypted or not), forward proxies
//! (plain and CONNECT, with and without auth), HTTP/2 (ALPN and prior knowledge), and the TLS
//! chain, protocol and host name — each passing and failing against real servers on loopback.

mod support;

use std::collections::HashMap;

use canary::config::{self, LoadOptions};
use canary::run::{ErrorKind, Outcome, Run};
use support::certs::Ca;
use support::forward::ForwardProxy;
use support::h2::H2Server;
use support::server::{Reply, Server};

struct Setup {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
    proxy: Option<url::Url>,
}

impl Setup {
    fn new(files: &[(&str, &str)]) -> Setup {
        Setup {
            dir: support::canary_dir(files),
            vars: Vec::new(),
            proxy: None,
        }
    }

    fn var(mut self, k: &str, v: &str) -> Setup {
        self.vars.push((k.into(), v.into()));
        self
    }

    fn load(&self) -> Result<Vec<canary::canary::Canary>, canary::config::ConfigErrors> {
        let opts = LoadOptions {
            vars: self.vars.iter().cloned().collect::<HashMap<_, _>>(),
            proxy: self.proxy.clone(),
            ..Default::default()
        };
        config::load(&[self.dir.path().join("c.yaml")], &opts)
    }

    async fn run(&self) -> Run {
        let canaries = self.load().unwrap_or_else(|e| panic!("{e}"));
        canary::runner::run_canary(&canaries[0], &Default::default()).await
    }
}

fn outcome_and_error(r: &Run) -> (Outcome, Option<ErrorKind>) {
    let step = &r.last().steps[0];
    (step.outcome, step.error.as_ref().map(|e| e.kind))
}

const MTLS: &str = r#"name: c
timeout: 5s
http:
  url: ${U}/private
  tls: { ca_file: ca.pem, cert_file: "${CERT:-}", key_file: "${KEY:-}", key_password: "${PW:-}" }
  assert: [ { status: 200 } ]
"#;

#[tokio::test]
async fn mutual_tls_with_a_plain_or_encrypted_key() {
    let ca = Ca::new();
    let clients = Ca::new();
    let client = clients.client("canary-client");
    let srv = Server::https_mtls(ca.leaf(-1, 30), clients.der(), |_| Reply::text(200, "hi"));
    let encrypted = {
        let info = pkcs8::PrivateKeyInfo::try_from(client.key.secret_der()).unwrap();
        // As `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it: PBKDF2-SHA256, 2048 rounds.
        let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(
            2048,
            b"saltsalt",
            b"0123456789abcdef",
        )
        .unwrap();
        let doc = info.encrypt_with_params(params, "pa55").unwrap();
        doc.to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
            .unwrap()
            .to_string()
    };
    let files = [
        ("c.yaml", MTLS),
        ("ca.pem", &ca.pem()),
        ("client.pem", &client.chain_pem()),
        ("client.key", &client.key_pem()),
        ("client-enc.key", &encrypted),
    ];
    let url = srv.url("");
    let with = |key: &str, pw: &str| {
        Setup::new(&files)
            .var("U", &url)
            .var("CERT", "client.pem")
            .var("KEY", key)
            .var("PW", pw)
    };
    let plain = with("client.key", "").run().await;
    assert_eq!(plain.outcome(), Outcome::Passed, "{:?}", plain.last());
    let enc = with("client-enc.key", "pa55").run().await;
    assert_eq!(enc.outcome(), Outcome::Passed, "{:?}", enc.last());
    let none = Setup::new(&files).var("U", &url).run().await;
    assert_eq!(
        outcome_and_error(&none),
        (Outcome::Errored, Some(ErrorKind::Tls))
    );
    // A wrong or missing password is a config error at the key's place, before anything runs.
    let wrong = with("client-enc.key", "nope")
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        wrong.contains("c.yaml:5:") && wrong.contains("wrong key_password"),
        "{wrong}"
    );
    let missing = with("client-enc.key", "").load().unwrap_err().to_string();
    assert!(missing.contains("give `key_password"), "{missing}");
    let half = Setup::new(&files).var("U", &url).var("CERT", "client.pem");
    let half = half.load().unwrap_err().to_string();
    assert!(
        half.contains("needs both `cert_file` and `key_file`"),
        "{half}"
    );
}

#[tokio::test]
async fn a_forward_proxy_carries_http_and_https() {
    let ca = Ca::new();
    let web = Server::http(|_| Reply::text(200, "plain"));
    let secure = Server::https(ca.leaf(-1, 30), |_| Reply::text(200, "secure"));
    let proxy = ForwardProxy::start(None);
    let yaml = r#"name: c
timeout: 5s
proxy: ${P}
steps:
  - { name: plain, http: { url: "${W}/a", assert: [ { body: { equals: plain } } ] } }
  - { name: secure, http: { url: "${S}/b", tls: { ca_file: ca.pem }, assert: [ { body: { equals: secure } } ] } }
"#;
    let r = Setup::new(&[("c.yaml", yaml), ("ca.pem", &ca.pem())])
        .var("P", &proxy.url())
        .var("W", &web.url(""))
        .var("S", &secure.url(""))
        .run()
        .await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:?}", r.last());
    let seen: Vec<(String, String)> = proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|q| (q.method.clone(), q.target.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET".to_string(), web.url("/a")),
            ("CONNECT".to_string(), secure.addr.to_string()),
        ]
    );
    // The connect phase measures the proxy: it is there, and TLS still has its own phase.
    let phases = r.last().steps[1].phases.unwrap();
    assert!(phases.connect > std::time::Duration::ZERO && phases.tls > std::time::Duration::ZERO);
}

#[tokio::test]
async fn proxy_from_the_command_line_with_auth_and_opt_out() {
    let web = Server::http(|_| Reply::text(200, "plain"));
    let proxy = ForwardProxy::start(Some("u:p"));
    let yaml = "name: c\ntimeout: 5s\nhttp: { url: \"${W}/x\", assert: [ { status: 200 } ] }\n";
    let auth_url = format!("http://u:p@{}", proxy.addr);
    let mut s = Setup::new(&[("c.yaml", yaml)]).var("W", &web.url(""));
    s.proxy = Some(auth_url.parse().unwrap());
    assert_eq!(s.run().await.outcome(), Outcome::Passed);
    s.proxy = Some(proxy.url().parse().unwrap());
    let denied = s.run().await;
    assert_eq!(
        denied.last().steps[0].status,
        Some(407),
        "{:?}",
        denied.last()
    );
    let opt_out = "name: c\nproxy: none\nhttp: { url: \"${W}/x\", assert: [ { status: 200 } ] }\n";
    let mut s = Setup::new(&[("c.yaml", opt_out)]).var("W", &web.url(""));
    s.proxy = Some(proxy.url().parse().unwrap());
    assert_eq!(s.run().await.outcome(), Outcome::Passed);
    assert_eq!(
        proxy.requests.lock().unwrap().len(),
        2,
        "the opt-out went direct"
    );
    let bad = Setup::new(&[(
        "c.yaml",
        "name: c\nproxy: socks5://x:1\nhttp: { url: \"http://a\" }\n",
    )]);
    let e = bad.load().unwrap_err().to_string();
    assert!(
        e.contains("c.yaml:2:8") && e.contains("not socks5://"),
        "{e}"
    );
}

#[tokio::test]
async fn http2_over_alpn_and_prior_knowledge_and_the_report_says_which() {
    let ca = Ca::new();
    let both = H2Server::tls(ca.leaf(-1, 30), &["h2", "http/1.1"]);
    let only1 = H2Server::tls(ca.leaf(-1, 30), &["http/1.1"]);
    let plain = H2Server::plain();
    let yaml = |version: &str| {
        format!(
            "name: c\ntimeout: 5s\nhttp:\n  url: ${{U}}/v\n  http_version: {version}\n  tls: {{ ca_file: ca.pem }}\n  assert: [ {{ status: 200 }} ]\n"
        )
    };
    let run = |version: &str, url: String| {
        let setup = Setup::new(&[("c.yaml", &yaml(version)), ("ca.pem", &ca.pem())]).var("U", &url);
        async move { setup.run().await }
    };
    let r = run("\"2\"", both.url("")).await;
    assert_eq!(
        r.last().steps[0].http_version,
        Some("HTTP/2"),
        "{:?}",
        r.last()
    );
    let r = run("\"1.1\"", both.url("")).await;
    assert_eq!(r.last().steps[0].http_version, Some("HTTP/1.1"));
    let r = run("2", plain.url("")).await;
    assert_eq!(
        r.last().steps[0].http_version,
        Some("HTTP/2"),
        "{:?}",
        r.last()
    );
    assert_eq!(*both.versions.lock().unwrap(), ["HTTP/2.0", "HTTP/1.1"]);
    assert_eq!(*plain.versions.lock().unwrap(), ["HTTP/2.0"]);
    // A server that does not speak HTTP/2 is an error, not a silent downgrade: one that refuses
    // h2 in the handshake, one that ignores ALPN and answers HTTP/1.1 (as OpenSSL servers do),
    // and one on plain HTTP that reads HTTP/2's preface as a bad HTTP/1.1 request.
    let r = run("2", only1.url("")).await;
    assert_eq!(r.outcome(), Outcome::Errored, "{:?}", r.last());
    let e = r.last().steps[0].error.clone().expect("an error");
    assert!(
        e.message.contains("accepts none of the protocols offered"),
        "{}",
        e.message
    );
    let no_alpn = Server::https(ca.leaf(-1, 30), |_| Reply::text(200, "ok"));
    let r = run("2", no_alpn.url("")).await;
    let e = r.last().steps[0]
        .error
        .clone()
        .expect("an error, not a downgrade");
    assert_eq!(e.kind, ErrorKind::Protocol, "{e:?}");
    assert!(
        e.message.contains("answered in HTTP/1.1") && e.message.contains("ALPN h2"),
        "{}",
        e.message
    );
    let plain1 = Server::http(|_| Reply::text(200, "ok"));
    let r = run("2", plain1.url("")).await;
    let e = r.last().steps[0].error.clone().expect("an error");
    assert!(
        e.message.contains("did not answer in HTTP/2") && e.message.contains("HTTP/1.1"),
        "{}",
        e.message
    );
    // The same server may instead hang up on the preface before its answer is read (a race the
    // CI machine lost): the same sentence, not "broken pipe".
    let hangs_up = Server::http(|_| Reply::Reset);
    let r = run("2", hangs_up.url("")).await;
    let e = r.last().steps[0].error.clone().expect("an error");
    assert!(
        e.message.contains("did not answer in HTTP/2") && e.message.contains("HTTP/1.1"),
        "{:?}: {}",
        e.kind,
        e.message
    );
    let e = Setup::new(&[("c.yaml", &yaml("3"))])
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("c.yaml:5:17") && e.contains("write \"1.1\" or \"2\""),
        "{e}"
    );
}

#[tokio::test]
async fn the_chain_is_recorded_and_leaf_and_chain_expiry_are_told_apart() {
    let root = Ca::new();
    let intermediate = root.intermediate("canary intermediate", 5);
    let srv = Server::https(
        intermediate.leaf_for(&["localhost", "127.0.0.1"], -1, 60),
        |_| Reply::text(200, "ok"),
    );
    let yaml = r#"name: c
timeout: 5s
http:
  url: ${U}/
  tls: { ca_file: root.pem }
  assert:
    - tls: { expires_in: { gt: 30d }, protocol: "1.3", hostname_matches: true }
    - tls: { chain_expires_in: { gt: 30d } }
"#;
    let r = Setup::new(&[("c.yaml", yaml), ("root.pem", &root.pem())])
        .var("U", &srv.url(""))
        .run()
        .await;
    let step = &r.last().steps[0];
    let verdicts: Vec<(&str, bool)> = step
        .assertions
        .iter()
        .map(|a| (a.subject.as_str(), a.passed))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("tls expires_in", true),
            ("tls protocol", true),
            ("tls hostname_matches", true),
            ("tls chain_expires_in", false),
        ]
    );
    let chain_fail = &step.assertions[3].actual;
    assert!(
        chain_fail.contains("CN=canary intermediate"),
        "{chain_fail}"
    );
    let tls = step.tls.as_ref().unwrap();
    assert!(tls.verified);
    let subjects: Vec<&str> = tls.chain.iter().map(|c| c.subject.as_str()).collect();
    assert_eq!(
        subjects,
        ["CN=localhost", "CN=canary intermediate"],
        "the root is not part of it"
    );
    let json = canary::report::json::render(std::slice::from_ref(&r));
    assert!(
        json.contains("\"chain\"") && json.contains("CN=canary intermediate"),
        "{json}"
    );
}

#[tokio::test]
async fn hostname_and_protocol_fail_where_they_should() {
    let ca = Ca::new();
    let srv = Server::https(ca.leaf_for(&["other.example"], -1, 30), |_| {
        Reply::text(200, "ok")
    });
    let yaml = r#"name: c
timeout: 5s
http:
  url: ${U}/
  tls: { insecure: true }
  assert:
    - tls: { hostname_matches: true, protocol: "1.2" }
"#;
    let r = Setup::new(&[("c.yaml", yaml)])
        .var("U", &srv.url(""))
        .run()
        .await;
    let step = &r.last().steps[0];
    assert_eq!(step.outcome, Outcome::Failed);
    assert!(
        step.assertions.iter().all(|a| !a.passed),
        "{:?}",
        step.assertions
    );
    assert_eq!(step.assertions[0].actual, "TLS 1.3");
    assert!(
        step.assertions[1].actual.contains("other.example"),
        "{:?}",
        step.assertions
    );
    assert!(!step.tls.as_ref().unwrap().verified);
    // Verified (not insecure): the mismatch is a TLS error before any assertion.
    let strict = "name: c\ntimeout: 5s\nhttp: { url: \"${U}/\", tls: { ca_file: ca.pem } }\n";
    let r = Setup::new(&[("c.yaml", strict), ("ca.pem", &ca.pem())])
        .var("U", &srv.url(""))
        .run()
        .await;
    assert_eq!(
        outcome_and_error(&r),
        (Outcome::Errored, Some(ErrorKind::Tls))
    );
}

//! `dns:` against an authoritative server run by the test: every record type, the assertions,
//! UDP truncation falling back to TCP, answers that change, and servers that fail.

use std::time::Duration;

use canary::run::{ErrorKind, Outcome};

use super::support::dns::{DnsServer, Mode, record};
use super::{Canary, errored, failed_on, passed, run, step, timed_out_within};

fn zone() -> Vec<hickory_proto::rr::Record> {
    vec![
        record("example.test.", 300, "MX 10 mail.example.test."),
        record("example.test.", 300, "MX 20 backup.example.test."),
        record("example.test.", 3600, "NS ns1.example.test."),
        record(
            "example.test.",
            3600,
            "SOA ns1.example.test. hostmaster.example.test. 2026112501",
        ),
        record("example.test.", 300, "TXT v=spf1 mx -all"),
        record("example.test.", 300, "CAA letsencrypt.org."),
        record("www.example.test.", 60, "CNAME example.test."),
        record("api.example.test.", 120, "A 127.0.0.1"),
        record("api.example.test.", 120, "A 127.0.0.2"),
        record("api.example.test.", 120, "AAAA ::1"),
        record(
            "_https._tcp.example.test.",
            300,
            "SRV 10 5 443 api.example.test.",
        ),
    ]
}

#[tokio::test]
async fn the_mail_records_canary_passes_and_fails() {
    let srv = DnsServer::start(zone());
    let yaml = |contains: &str, ttl: u32| {
        format!(
            r#"name: mail-records
dns:
  name: example.test
  type: MX                       # A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, CAA
  server: {}         # host:port; default: the system resolver
  assert:
    - rcode: NOERROR
    - answers: {{ contains: "{contains}" }}   # also equals (a list), matches, count
    - ttl: {{ gte: {ttl} }}
    - authoritative: true
    - latency: {{ total: {{ lt: 500ms }} }}
"#,
            srv.addr
        )
    };
    let ok = run(&yaml("mail.example.test", 60)).await;
    passed(&ok);
    let d = step(&ok)
        .dns
        .clone()
        .expect("the answers are in the report");
    assert_eq!(
        (d.rcode.as_str(), d.tcp, d.answers.len()),
        ("NOERROR", false, 2)
    );
    assert_eq!(d.answers[0].data, "10 mail.example.test.");
    assert!(super::report(&ok).contains("\"answers\""));

    let bad = run(&yaml("smtp.example.test", 301)).await;
    failed_on(
        &bad,
        "dns answers",
        "10 mail.example.test., 20 backup.example.test.",
    );
    failed_on(&bad, "dns ttl", "300s");
}

#[tokio::test]
async fn every_record_type_is_queried_and_asserted() {
    let srv = DnsServer::start(zone());
    let cases = [
        ("A", "api.example.test", "equals: [127.0.0.2, 127.0.0.1]"),
        ("AAAA", "api.example.test", "includes: \"::1\""),
        ("CNAME", "www.example.test", "includes: example.test"),
        ("MX", "example.test", "count: 2"),
        ("TXT", "example.test", "matches: \"^v=spf1 \""),
        ("NS", "example.test", "equals: [ns1.example.test.]"),
        (
            "SOA",
            "example.test",
            "contains: hostmaster.example.test. 2026112501",
        ),
        (
            "SRV",
            "_https._tcp.example.test",
            "contains: \"443 api.example.test\"",
        ),
        ("CAA", "example.test", "contains: letsencrypt.org"),
    ];
    for (kind, name, test) in cases {
        let yaml = format!(
            "name: t\ndns: {{ name: {name}, type: {kind}, server: \"{}\", assert: [ {{ answers: {{ {test} }} }} ] }}\n",
            srv.addr
        );
        let r = run(&yaml).await;
        assert_eq!(
            r.outcome(),
            Outcome::Passed,
            "{kind}: {}",
            super::report(&r)
        );
        let excluded = yaml.replace(test, "count: 0");
        failed_on(&run(&excluded).await, "dns answers", "");
    }
}

#[tokio::test]
async fn a_truncated_udp_answer_is_asked_again_over_tcp() {
    let many: Vec<_> = (0..40)
        .map(|i| {
            record(
                "big.example.test.",
                300,
                &format!("TXT token-{i:02}-{}", "x".repeat(40)),
            )
        })
        .collect();
    let srv = DnsServer::start(many);
    let yaml = format!(
        "name: big\ndns: {{ name: big.example.test, type: TXT, server: \"{}\", assert: [ {{ answers: {{ count: 40 }} }}, {{ answers: {{ includes: token-39-{} }} }} ] }}\n",
        srv.addr,
        "x".repeat(40)
    );
    let r = run(&yaml).await;
    passed(&r);
    assert!(
        step(&r).dns.as_ref().unwrap().tcp,
        "the answer came over TCP"
    );
    assert_eq!(
        *srv.queries.lock().unwrap(),
        (1, 1),
        "one UDP query, one TCP retry"
    );
    // `tcp: true` asks over TCP from the start.
    let r = run(&yaml.replace("type: TXT,", "type: TXT, tcp: true,")).await;
    passed(&r);
    assert_eq!(*srv.queries.lock().unwrap(), (1, 2));
}

#[tokio::test]
async fn a_changed_answer_shows_in_the_report_and_captures_feed_later_steps() {
    let srv = DnsServer::start(zone());
    let yaml = format!(
        r#"name: resolve-then-connect
steps:
  - name: resolve
    dns: {{ name: api.example.test, server: "{}", capture: {{ ip: {{ answer: 0 }} }} }}
  - name: api
    http: {{ url: "http://${{ip}}:1/", assert: [ {{ status: 200 }} ] }}
    timeout: 2s
"#,
        srv.addr
    );
    let r = run(&yaml).await;
    let api = &r.last().steps[1];
    assert_eq!(
        api.url.as_deref(),
        Some("http://127.0.0.1:1/"),
        "the captured address was used"
    );
    assert_eq!(api.error.as_ref().unwrap().kind, ErrorKind::Connect);

    let one = format!(
        "name: a\ndns: {{ name: api.example.test, server: \"{}\" }}\n",
        srv.addr
    );
    let before = run(&one).await;
    srv.set_records(vec![record("api.example.test.", 30, "A 10.1.2.3")]);
    let after = run(&one).await;
    let data = |r: &canary::run::Run| step(r).dns.as_ref().unwrap().summary();
    assert_eq!(data(&before), "127.0.0.1 (ttl 120), 127.0.0.2 (ttl 120)");
    assert_eq!(data(&after), "10.1.2.3 (ttl 30)");
}

#[tokio::test]
async fn nxdomain_refused_silence_and_no_server_are_reported() {
    let srv = DnsServer::start(zone());
    let at = srv.addr;
    let nx = run(&format!("name: n\ndns: {{ name: nope.example.test, server: \"{at}\", assert: [ {{ rcode: NOERROR }} ] }}\n")).await;
    failed_on(&nx, "dns rcode", "NXDOMAIN");
    passed(&run(&format!("name: n\ndns: {{ name: nope.example.test, server: \"{at}\", assert: [ {{ rcode: nxdomain }} ] }}\n")).await);

    srv.set_mode(Mode::Refuse);
    failed_on(&run(&format!("name: r\ndns: {{ name: example.test, server: \"{at}\", assert: [ {{ rcode: NOERROR }} ] }}\n")).await, "dns rcode", "REFUSED");

    srv.set_mode(Mode::Silent);
    let c = Canary::new(
        &format!("name: s\ntimeout: 1s\ndns: {{ name: example.test, server: \"{at}\" }}\n"),
        &[],
    );
    let (r, took) = c.run().await;
    timed_out_within(&r, took, Duration::from_secs(1));

    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = run(&format!(
        "name: c\ntimeout: 2s\ndns: {{ name: example.test, server: \"{closed}\" }}\n"
    ))
    .await;
    errored(&r, ErrorKind::Connect, "refused");
}

#[test]
fn bad_dns_sections_are_config_errors_at_their_place() {
    let e = super::errors("name: d\ndns: { name: x.test, type: MXX }\n");
    assert!(
        e.contains("c.yaml:2:")
            && e.contains("`MXX` is not a record type canary queries (known: A, AAAA, CNAME"),
        "{e}"
    );
    let e = super::errors("name: d\ndns: { name: x.test, server: dns.google }\n");
    assert!(
        e.contains("is not a DNS server: write an IP address"),
        "{e}"
    );
    let e = super::errors("name: d\ndns: { name: x.test, assert: [ { rcode: NOERR } ] }\n");
    assert!(e.contains("`NOERR` is not a DNS response code"), "{e}");
    let e = super::errors(
        "name: d\ndns: { name: x.test, assert: [ { answers: { contains: a, count: 1 } } ] }\n",
    );
    assert!(e.contains("exactly one test"), "{e}");
    let e = super::errors("name: d\ndns: { name: x.test, assert: [ { ttl: { gte: 1m } } ] }\n");
    assert!(e.contains("whole number of seconds"), "{e}");
}

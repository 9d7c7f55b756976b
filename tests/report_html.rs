//! The HTML report, opened in real headless Chromium: a run with passes, a flaky pass, failures,
//! an error and a browser failure becomes one page that shows them (the screenshot embedded),
//! loads with no console error and no request besides itself, and renders to a non-blank PNG.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use support::server::{Reply, Req, Server};

/// A canary file: (name, text).
fn http(name: &str, url: &str, retries: u32) -> (String, String) {
    let text = format!(
        "name: {name}\nretries: {retries}\nhttp: {{ url: '{url}', assert: [ {{ status: 200 }} ] }}\n"
    );
    (format!("{name}.yaml"), text)
}

/// Checks a PNG decodes (zlib-inflated rows of the size its header says) and is not one colour.
fn check_png(path: &std::path::Path) {
    let script = r#"
import sys, zlib, struct
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w = 8, b'', 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, colour = struct.unpack('>IIBB', body[:10])
    if kind == b'IDAT':
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}[colour]
assert len(raw) == h * (1 + w * bpp), 'rows do not match the header'
assert len(set(raw[1:1 + w * bpp * 40])) > 8 or len(set(raw)) > 16, 'blank'
print(w, h)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", support::text(&out));
}

#[test]
fn the_html_report_shows_a_failed_run_in_chromium_without_requests_or_console_errors() {
    if !support::browser_available() {
        return;
    }
    let flaky = AtomicUsize::new(0);
    let target = Server::http(move |r: &Req| match r.path() {
        "/ok" => Reply::text(200, "ok"),
        "/flaky" if flaky.fetch_add(1, Ordering::SeqCst) == 0 => Reply::text(500, "no"),
        "/flaky" => Reply::text(200, "ok"),
        "/page" => Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<html><head><title>Shop</title></head><body><h1>Shop</h1></body></html>"
                .to_vec(),
        },
        _ => Reply::text(500, "broken <b>&</b>"),
    });
    let base = format!("http://{}", target.addr);
    let browser = "name: shop-page\nbrowser:\n  steps:\n    - goto: BASE/page\n    - assert: { title_contains: Checkout }\n".replace("BASE", &base);
    let dir = support::canary_dir_owned(&[
        http("home", &format!("{base}/ok"), 0),
        http("cart", &format!("{base}/flaky"), 1),
        (
            "orders.yaml".into(),
            http("'orders <b>&'", &format!("{base}/broken"), 0).1,
        ),
        http("search", "http://127.0.0.1:1/", 0),
        ("shop-page.yaml".into(), browser),
    ]);
    let run = support::canary(
        dir.path(),
        &[
            "test",
            ".",
            "--html",
            "report.html",
            "--artifacts",
            "artifacts",
        ],
    );
    assert_eq!(run.status.code(), Some(1), "{:?}", support::text(&run));
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    for want in [
        "5 canaries",
        "data:image/png;base64,",
        "orders &lt;b&gt;&amp;",
        "Checkout",
        "class='b flaky'",
        "connect",
    ] {
        assert!(html.contains(want), "report lacks {want}");
    }
    assert!(
        html.find("search").unwrap() < html.find("home").unwrap(),
        "failures come first"
    );
    assert!(
        !html.contains("src='http") && !html.contains("href='http"),
        "nothing is loaded from elsewhere"
    );

    let served = Arc::new(Mutex::new(Vec::<String>::new()));
    let (page, seen) = (html.clone(), served.clone());
    let host = Server::http(move |r: &Req| {
        seen.lock().unwrap().push(r.path().to_string());
        Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: page.clone().into_bytes(),
        }
    });
    let viewer = format!(
        "name: open-report\nbrowser:\n  viewport: 1280x900\n  steps:\n    - goto: http://{}/report.html\n    - assert: {{ title_contains: canary report }}\n    - assert: {{ selector: 'details.canary[open]', count: 3 }}\n    - screenshot: report\n    - assert: {{ no_console_errors: true }}\n    - assert: {{ no_failed_requests: true }}\n",
        host.addr
    );
    let viewer_dir = support::canary_dir(&[("open.yaml", &viewer)]);
    let out = support::canary(
        viewer_dir.path(),
        &["test", ".", "--json", "-", "--artifacts", "artifacts"],
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["canaries"][0]["outcome"], "passed", "{report:#}");
    assert_eq!(
        *served.lock().unwrap(),
        ["/report.html"],
        "no request besides the page itself"
    );
    let shot = report["canaries"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["artifacts"].as_array().cloned().unwrap_or_default())
        .find(|a| a.as_str().unwrap().ends_with("report.png"))
        .expect("the screenshot");
    check_png(&viewer_dir.path().join(shot.as_str().unwrap()));
    if let Ok(keep) = std::env::var("CANARY_KEEP_REPORT_SHOT") {
        std::fs::copy(viewer_dir.path().join(shot.as_str().unwrap()), keep).unwrap();
    }
}

//! The HTML report (`--html FILE`): one self-contained page (inline CSS and a few lines of JS, no
//! request leaves it) that a person opens after a failed pipeline — failures first and open,
//! passes collapsed, a filter box, phase waterfalls, expected vs actual, screenshots embedded.

use std::fmt::Write;

use base64::Engine;

use super::{Summary, millis};
use crate::run::{Attempt, Outcome, Phases, Run, StepRun};

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}\
header{padding:16px 24px;background:#fff;border-bottom:1px solid #dde1e6;position:sticky;top:0}\
h1{font-size:18px;margin:0 0 8px}.counts span{margin-right:14px;font-weight:600}\
input{font:inherit;padding:4px 8px;width:320px;border:1px solid #c4c9d0;border-radius:4px}\
main{padding:12px 24px}details{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:6px 0}\
summary{padding:6px 10px;cursor:pointer}summary .d{color:#5b6570;margin-left:8px}\
.body{padding:4px 14px 10px}.b{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px;margin-right:6px}\
.passed{background:#2e7d32}.degraded{background:#b26a00}.failed{background:#c62828}.errored{background:#6a1b9a}.flaky{background:#455a64}\
table{border-collapse:collapse;width:100%;margin:4px 0}td,th{text-align:left;padding:3px 6px;border-top:1px solid #eef0f2;vertical-align:top}\
.wf{display:flex;height:10px;min-width:2px;background:#eef0f2}.wf i{display:block;height:10px}\
.p0{background:#90a4ae}.p1{background:#4fc3f7}.p2{background:#ab47bc}.p3{background:#ffb300}.p4{background:#66bb6a}\
.bad{color:#c62828}.mono{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}\
img{max-width:100%;border:1px solid #dde1e6;margin:6px 0}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}";

const SCRIPT: &str = "const f=document.getElementById('filter');f.addEventListener('input',()=>{\
const q=f.value.toLowerCase();for(const d of document.querySelectorAll('details.canary'))\
d.style.display=d.dataset.name.includes(q)?'':'none'});";

/// The report of `runs` as one HTML page.
pub fn render(runs: &[Run]) -> String {
    let s = Summary::of(runs);
    let mut order: Vec<&Run> = runs.iter().collect();
    order.sort_by_key(|r| (rank(r.outcome()), !r.flaky(), r.canary.clone()));
    let mut out = String::with_capacity(4096 + runs.len() * 400);
    out += "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>";
    out += "<meta name=viewport content='width=device-width'><link rel=icon href='data:,'>";
    let _ = write!(
        out,
        "<title>canary report: {} passed, {} failed, {} errored</title>",
        s.passed, s.failed, s.errored
    );
    let _ = write!(
        out,
        "<style>{STYLE}</style></head><body><header><h1>canary report</h1><div class=counts>"
    );
    let _ = write!(
        out,
        "<span>{}</span><span class=bad>{} failed</span><span class=bad>{} errored</span><span>{} passed</span><span>{} degraded</span><span>{} flaky</span>",
        super::canaries(runs.len()),
        s.failed,
        s.errored,
        s.passed,
        s.degraded,
        s.flaky
    );
    out += "</div><p><input id=filter placeholder='filter by name' aria-label=filter>";
    out += "<span class=legend><i class=p0></i>resolve<i class=p1></i>connect<i class=p2></i>tls<i class=p3></i>processing<i class=p4></i>transfer</span></p></header><main>";
    for r in order {
        canary(&mut out, r);
    }
    let _ = writeln!(out, "</main><script>{SCRIPT}</script></body></html>");
    out
}

/// Failures first: errored, failed, degraded, passed.
fn rank(o: Outcome) -> u8 {
    match o {
        Outcome::Errored => 0,
        Outcome::Failed => 1,
        Outcome::Degraded => 2,
        Outcome::Passed => 3,
    }
}

fn badge(out: &mut String, class: &str) {
    let _ = write!(out, "<span class='b {class}'>{class}</span>");
}

fn canary(out: &mut String, r: &Run) {
    let outcome = r.outcome();
    let open = if outcome == Outcome::Passed {
        ""
    } else {
        " open"
    };
    let _ = write!(
        out,
        "<details class=canary data-name='{}'{open}><summary>",
        esc(&r.canary.to_lowercase())
    );
    badge(out, outcome.as_str());
    if r.flaky() {
        badge(out, "flaky");
    }
    let _ = write!(
        out,
        "<b>{}</b><span class=d>{} ms · {} · {}</span></summary><div class=body>",
        esc(&r.canary),
        millis(r.duration),
        super::count(r.attempts.len(), "attempt", "attempts"),
        esc(&r.file.display().to_string())
    );
    let (earlier, _) = r.attempts.split_at(r.attempts.len() - 1);
    for (i, a) in earlier.iter().enumerate() {
        retried(out, i + 1, a);
    }
    steps(out, r.last());
    out.push_str("</div></details>");
}

fn retried(out: &mut String, n: usize, a: &Attempt) {
    let _ = write!(out, "<p>attempt {n}: ");
    badge(out, a.outcome.as_str());
    let _ = write!(
        out,
        "{} ms — {}</p>",
        millis(a.duration),
        esc(&a.reason().unwrap_or_default())
    );
}

fn steps(out: &mut String, a: &Attempt) {
    let scale = a.steps.iter().map(|s| s.duration).max().unwrap_or_default();
    out.push_str(
        "<table><tr><th>step</th><th>outcome</th><th>ms</th><th style='width:40%'>phases</th></tr>",
    );
    for s in &a.steps {
        step(out, s, scale);
    }
    out.push_str("</table>");
}

fn step(out: &mut String, s: &StepRun, scale: std::time::Duration) {
    let _ = write!(out, "<tr><td>{}", esc(&s.name));
    if let Some(url) = &s.url {
        let status = s.status.map(|c| format!(" → {c}")).unwrap_or_default();
        let _ = write!(out, "<div class=mono>{}{status}</div>", esc(url));
    }
    out.push_str("</td><td>");
    badge(out, s.outcome.as_str());
    let _ = write!(out, "</td><td>{}</td><td>", millis(s.duration));
    if let Some(p) = &s.phases {
        waterfall(out, p, scale);
    }
    out.push_str("</td></tr>");
    let details = details(s);
    if !details.is_empty() {
        let _ = write!(out, "<tr><td colspan=4>{details}</td></tr>");
    }
}

/// The phases as bars to the scale of the attempt's longest step.
fn waterfall(out: &mut String, p: &Phases, scale: std::time::Duration) {
    let whole = scale.as_secs_f64().max(1e-9);
    let width = (p.total.as_secs_f64() / whole * 100.0).clamp(0.5, 100.0);
    let parts = [p.resolve, p.connect, p.tls, p.processing, p.transfer];
    let sum: f64 = parts.iter().map(|d| d.as_secs_f64()).sum::<f64>().max(1e-9);
    let title = format!(
        "resolve {} · connect {} · tls {} · processing {} · transfer {} ms",
        millis(p.resolve),
        millis(p.connect),
        millis(p.tls),
        millis(p.processing),
        millis(p.transfer)
    );
    let _ = write!(
        out,
        "<div class=wf style='width:{width:.1}%' title='{title}'>"
    );
    for (i, d) in parts.iter().enumerate() {
        let w = d.as_secs_f64() / sum * 100.0;
        if w > 0.0 {
            let _ = write!(out, "<i class=p{i} style='width:{w:.1}%'></i>");
        }
    }
    out.push_str("</div>");
}

/// Failed assertions, the error, console lines and screenshots of a step.
fn details(s: &StepRun) -> String {
    let mut out = String::new();
    if let Some(e) = &s.error {
        let _ = write!(
            out,
            "<p class=bad><b>{}</b>: {}</p>",
            e.kind.as_str(),
            esc(&e.message)
        );
    }
    let failed: Vec<_> = s.assertions.iter().filter(|a| !a.passed).collect();
    if !failed.is_empty() {
        out.push_str("<table><tr><th>assertion</th><th>expected</th><th>actual</th></tr>");
        for a in failed {
            let kind = if a.degraded { " (degraded)" } else { "" };
            let _ = write!(
                out,
                "<tr class=bad><td>{}{kind}</td><td class=mono>{}</td><td class=mono>{}</td></tr>",
                esc(&a.subject),
                esc(&a.expected),
                esc(&a.actual)
            );
        }
        out.push_str("</table>");
    }
    if !s.console.is_empty() {
        out.push_str("<p>console and failed requests:</p><div class=mono>");
        for line in &s.console {
            let _ = write!(out, "{}<br>", esc(line));
        }
        out.push_str("</div>");
    }
    for a in &s.artifacts {
        let png = a.extension().is_some_and(|e| e == "png");
        match std::fs::read(a) {
            Ok(bytes) if png => {
                let data = base64::engine::general_purpose::STANDARD.encode(bytes);
                let _ = write!(
                    out,
                    "<img alt='{}' src='data:image/png;base64,{data}'>",
                    esc(&a.display().to_string())
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "<p class=mono>artifact: {}</p>",
                    esc(&a.display().to_string())
                );
            }
        }
    }
    out
}

/// Text made safe for HTML content and single- or double-quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_everywhere() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}

//! JUnit XML (`--junit FILE`): one test case per canary; a failed assertion is `<failure>`,
//! an errored check `<error>`, and a pass after retries carries its earlier attempts as flaky runs.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};

use crate::run::{Attempt, Outcome, Run};

/// The JUnit XML of `runs`.
pub fn render(runs: &[Run]) -> String {
    let mut suite = TestSuite::new("canary");
    for run in runs {
        suite.add_test_case(case(run));
    }
    let mut report = Report::new("canary");
    report.add_test_suite(suite);
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- could not write JUnit XML: {e} -->"))
}

fn case(run: &Run) -> TestCase {
    let last = run.last();
    let earlier = &run.attempts[..run.attempts.len() - 1];
    let mut status = match last.outcome {
        Outcome::Passed | Outcome::Degraded => TestCaseStatus::success(),
        outcome => {
            let mut s = TestCaseStatus::non_success(kind(outcome));
            set_details(&mut s, last);
            s
        }
    };
    for a in earlier {
        let mut rerun = TestRerun::new(kind(a.outcome));
        if let Some(reason) = a.reason() {
            rerun.set_message(reason);
        }
        rerun.set_time(a.duration);
        status.add_rerun(rerun);
    }
    let mut tc = TestCase::new(run.canary.clone(), status);
    tc.set_classname(run.file.display().to_string());
    // Jenkins, GitLab and GitHub reporters pick up attachments written this way.
    let attachments: Vec<String> = last
        .steps
        .iter()
        .flat_map(|s| &s.artifacts)
        .map(|p| {
            format!(
                "[[ATTACHMENT|{}]]",
                std::fs::canonicalize(p)
                    .unwrap_or_else(|_| p.clone())
                    .display()
            )
        })
        .collect();
    let mut out = Vec::new();
    if last.outcome == Outcome::Degraded {
        out.push(format!(
            "degraded: {}",
            last.reason()
                .unwrap_or_else(|| "a degraded assertion did not hold".into())
        ));
        out.push(super::console::details(last));
    }
    out.extend(attachments);
    if !out.is_empty() {
        tc.set_system_out(out.join("\n"));
    }
    tc.set_time(run.duration);
    tc
}

fn kind(outcome: Outcome) -> NonSuccessKind {
    if outcome == Outcome::Errored {
        NonSuccessKind::Error
    } else {
        NonSuccessKind::Failure
    }
}

fn set_details(status: &mut TestCaseStatus, a: &Attempt) {
    let TestCaseStatus::NonSuccess {
        message,
        ty,
        description,
        ..
    } = status
    else {
        return;
    };
    *message = a.reason().map(Into::into);
    let failed_step = a.steps.iter().find(|s| s.outcome != Outcome::Passed);
    *ty = failed_step.map(|s| match &s.error {
        Some(e) => e.kind.as_str().into(),
        None => "assertion".into(),
    });
    *description = Some(super::console::details(a).into());
}

//! The deployment recipes deployed where they can be: the ECS CloudFormation template
//! (`deploy/ecs/canary.yaml`) through LocalStack's CloudFormation — the IAM roles, the log group,
//! the state bucket and its policy, the SNS topic and the EventBridge Scheduler schedule; ECS,
//! EFS and EC2 are LocalStack Pro only, so what refers to them gets a stand-in.

mod support;

use std::path::Path;

#[test]
fn the_ecs_template_deploys_on_localstack() {
    let Some(url) = support::aws::localstack() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv-ci/bin/python");
    assert!(
        python.exists(),
        "cfn-lint and botocore are missing: run scripts/tools (scripts/test does) to install them into .venv-ci"
    );
    let stack = support::aws::unique("canary", "deploy");
    let out = std::process::Command::new(python)
        .arg(root.join("tests/support/cfn_deploy.py"))
        .arg(root.join("deploy/ecs/canary.yaml"))
        .arg(&url)
        .arg(&stack)
        .output()
        .unwrap();
    let (stdout, stderr) = support::text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for resource in [
        "ExecutionRole",
        "TaskRole",
        "SchedulerRole",
        "state bucket",
        "alarm topic",
        "schedule",
    ] {
        assert!(
            stdout.contains(resource),
            "{resource} not checked:\n{stdout}"
        );
    }
}

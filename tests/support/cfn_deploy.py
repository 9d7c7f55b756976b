"""Deploys the parts of deploy/ecs/canary.yaml that LocalStack runs (IAM, CloudWatch Logs, S3,
SNS, EventBridge Scheduler) through LocalStack's CloudFormation, and checks that each resource
exists as the template says. The resources LocalStack cannot run (ECS, EFS, EC2: LocalStack Pro
only) are left out, and what refers to them gets a stand-in of the right shape.

Usage: cfn_deploy.py TEMPLATE ENDPOINT_URL STACK_NAME
Prints one line per check; exits 1 on the first failure.
"""

import json
import sys
import time

import botocore.config
import botocore.session
from cfnlint.decode import decode_str

RUNS_HERE = {
    "AWS::IAM::Role",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Topic",
    "AWS::Scheduler::Schedule",
}
ACCOUNT, REGION = "000000000000", "us-east-1"


def stand_in(name, kind, attribute=None):
    """What a reference to resource `name` (of type `kind`) resolves to in AWS."""
    arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}"
    shapes = {
        "AWS::ECS::Cluster": (arn.format("ecs", f"cluster/{name}"), arn.format("ecs", f"cluster/{name}")),
        "AWS::ECS::TaskDefinition": (arn.format("ecs", f"task-definition/{name}:1"), None),
        "AWS::EFS::FileSystem": ("fs-0123456789abcdef0", arn.format("elasticfilesystem", "file-system/fs-0123456789abcdef0")),
        "AWS::EFS::AccessPoint": ("fsap-0123456789abcdef0", arn.format("elasticfilesystem", "access-point/fsap-0123456789abcdef0")),
        "AWS::EC2::SecurityGroup": ("sg-0123456789abcdef0", "sg-0123456789abcdef0"),
    }
    ref, arn_value = shapes.get(kind, (f"{name}-stand-in", None))
    return arn_value if attribute == "Arn" and arn_value else ref


def replace(node, gone):
    """`node` with every Ref or GetAtt of a resource in `gone` replaced by its stand-in."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in gone:
            return stand_in(node["Ref"], gone[node["Ref"]])
        if set(node) == {"Fn::GetAtt"}:
            name, attribute = node["Fn::GetAtt"] if isinstance(node["Fn::GetAtt"], list) else node["Fn::GetAtt"].split(".", 1)
            if name in gone:
                return stand_in(name, gone[name], attribute)
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            text = node["Fn::Sub"]
            for name, kind in gone.items():
                text = text.replace("${" + name + ".Arn}", stand_in(name, kind, "Arn")).replace("${" + name + "}", stand_in(name, kind))
            return {"Fn::Sub": text}
        return {k: replace(v, gone) for k, v in node.items()}
    if isinstance(node, list):
        return [replace(v, gone) for v in node]
    return node


def client(session, service, url):
    return session.create_client(
        service, region_name=REGION, endpoint_url=url,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=botocore.config.Config(s3={"addressing_style": "path"}),
    )


def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        sys.exit(1)


def main():
    path, url, stack = sys.argv[1:4]
    template, matches = decode_str(open(path).read())
    if matches:
        sys.exit(f"{path}: {matches}")
    resources = template["Resources"]
    gone = {n: r["Type"] for n, r in resources.items() if r["Type"] not in RUNS_HERE}
    kept = {n: r for n, r in resources.items() if r["Type"] in RUNS_HERE}
    for r in kept.values():
        r.pop("DependsOn", None)
    template["Resources"] = replace(kept, gone)
    template["Outputs"] = {}
    print(f"left out (LocalStack Pro only): {', '.join(sorted(gone))}")
    print(f"deploying: {', '.join(sorted(kept))}")
    session = botocore.session.get_session()
    cfn = client(session, "cloudformation", url)
    cfn.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[
            {"ParameterKey": "Image", "ParameterValue": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-canaries:1"},
            {"ParameterKey": "VpcId", "ParameterValue": "vpc-0123456789abcdef0"},
            {"ParameterKey": "SubnetIds", "ParameterValue": "subnet-0123456789abcdef0,subnet-0123456789abcdef1"},
        ],
    )
    status = ""
    for _ in range(240):
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if not status.endswith("IN_PROGRESS"):
            break
        time.sleep(0.5)
    if status != "CREATE_COMPLETE":
        for e in cfn.describe_stack_events(StackName=stack)["StackEvents"]:
            if "FAILED" in e.get("ResourceStatus", ""):
                print(f"  {e['LogicalResourceId']}: {e.get('ResourceStatusReason')}")
    check(f"stack {stack}: {status}", status == "CREATE_COMPLETE")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]
    }
    check(f"every kept resource created ({len(physical)} of {len(kept)})", set(physical) == set(kept))

    iam = client(session, "iam", url)
    for role in ("ExecutionRole", "TaskRole", "SchedulerRole"):
        got = iam.get_role(RoleName=physical[role])["Role"]
        principal = got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
        policies = iam.list_role_policies(RoleName=physical[role])["PolicyNames"]
        check(f"role {role}: assumed by {principal}, inline policies {policies}", bool(policies))
    task_policy = iam.get_role_policy(RoleName=physical["TaskRole"], PolicyName="canary")["PolicyDocument"]
    if isinstance(task_policy, str):
        task_policy = json.loads(task_policy)
    sids = {s["Sid"] for s in task_policy["Statement"]}
    check(f"task role statements: {sorted(sids)}", "KeepTheAlertStateOfOnceRunnersInS3" in sids)

    logs = client(session, "logs", url)
    group = logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{stack}")["logGroups"]
    # LocalStack's provider does not apply RetentionInDays (its API does); cfn-lint checks the value.
    check(f"log group /ecs/{stack}", bool(group))

    s3 = client(session, "s3", url)
    bucket = physical["StateBucket"]
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    check(f"state bucket {bucket}: versioning {versioning}", versioning == "Enabled")
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    check("state bucket: TLS only", policy["Statement"][0]["Effect"] == "Deny")

    sns = client(session, "sns", url)
    attributes = sns.get_topic_attributes(TopicArn=physical["AlarmTopic"])["Attributes"]
    check(f"alarm topic {attributes['TopicArn']}", attributes["TopicArn"] == physical["AlarmTopic"])

    scheduler = client(session, "scheduler", url)
    name = physical["OnceSchedule"].split("/")[-1]
    schedule = scheduler.get_schedule(Name=name)
    target = schedule["Target"]
    check(f"schedule {name}: {schedule['ScheduleExpression']}, role {target['RoleArn'].split('/')[-1]}",
          schedule["ScheduleExpression"] == "rate(5 minutes)" and target["RoleArn"].endswith(physical["SchedulerRole"]))


if __name__ == "__main__":
    main()

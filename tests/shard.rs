//! Sharding: the shards of a set partition it, a changed shard count moves few canaries, the
//! split is what `canary list --shard` shows, and bad values are usage errors.

mod support;

use std::collections::BTreeSet;

use canary::shard::{Shard, owner};

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("canary-{i:05}-checkout")).collect()
}

#[test]
fn shards_partition_every_set_and_are_balanced() {
    let all = names(10_000);
    for count in 1..=8u32 {
        let mut seen = BTreeSet::new();
        for index in 0..count {
            let shard = Shard { index, count };
            let mine: Vec<&String> = all.iter().filter(|n| shard.owns(n)).collect();
            let share = mine.len() as f64 / all.len() as f64;
            assert!(
                (share - 1.0 / f64::from(count)).abs() < 0.02,
                "{shard}: {share}"
            );
            for n in mine {
                assert!(seen.insert(n.clone()), "{n} is in two shards");
            }
        }
        assert_eq!(seen.len(), all.len(), "{count} shards miss canaries");
    }
}

/// Going from N to N+1 shards moves only the canaries the new shard wins: about 1/(N+1),
/// measured on 10,000 names, within 1.5 percentage points.
#[test]
fn a_changed_shard_count_moves_about_one_in_n_plus_one() {
    let all = names(10_000);
    for n in 1..=9u32 {
        let moved: Vec<&String> = all
            .iter()
            .filter(|c| owner(c, n) != owner(c, n + 1))
            .collect();
        let share = moved.len() as f64 / all.len() as f64;
        let ideal = 1.0 / f64::from(n + 1);
        assert!(
            share <= ideal + 0.015,
            "{n}→{}: {share:.4} moved, ideal {ideal:.4}",
            n + 1
        );
        assert!(
            moved.iter().all(|c| owner(c, n + 1) == n),
            "only to the new shard"
        );
    }
}

#[test]
fn list_shows_the_split_and_bad_values_are_usage_errors() {
    let files: Vec<(String, String)> = (0..30)
        .map(|i| {
            (
                format!("c{i}.yaml"),
                format!("name: c{i}\nhttp: {{ url: 'http://127.0.0.1/' }}\n"),
            )
        })
        .collect();
    let dir = support::canary_dir_owned(&files);
    let listed = |args: &[&str], host: Option<&str>| {
        let mut cmd = std::process::Command::new(support::binary());
        cmd.args(["list", "."]).args(args).current_dir(dir.path());
        cmd.env_remove("CANARY_SHARD_INDEX")
            .env_remove("CANARY_SHARD");
        match host {
            Some(h) => cmd.env("HOSTNAME", h),
            None => cmd.env_remove("HOSTNAME"),
        };
        cmd.output().unwrap()
    };
    let set = |out: &std::process::Output| -> BTreeSet<String> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect()
    };
    let all = set(&listed(&[], None));
    assert_eq!(all.len(), 30);
    let mut union = BTreeSet::new();
    for i in 0..3 {
        let out = listed(&["--shard", &format!("{i}/3")], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let part = set(&out);
        assert!(
            stderr.contains(&format!("shard {i}/3: {} of 30 canaries", part.len())),
            "{stderr}"
        );
        assert!(union.is_disjoint(&part));
        union.extend(part);
    }
    assert_eq!(union, all);
    let auto = set(&listed(&["--shard", "auto/3"], Some("canary-1")));
    assert_eq!(
        auto,
        set(&listed(&["--shard", "1/3"], None)),
        "auto takes the pod's ordinal"
    );
    for (bad, says) in [
        ("3/3", "0 to 2 for 3 shards"),
        ("0/0", "at least 1"),
        ("a/b", "is not a shard"),
        ("auto/3", "does not end in a number"),
    ] {
        let out = listed(&["--shard", bad], Some("canary"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains(says), "{bad}: {stderr}");
    }
}

/// Runs promtool with `args` in `dir`; a failure shows its output and `input`.
fn promtool(dir: &std::path::Path, args: &[&str], input: &str) {
    let out = std::process::Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool (scripts/test installs prometheus)");
    assert!(out.status.success(), "{:?}\n{input}", support::text(&out));
}

/// The shard series one runner shows on `/metrics`, as Prometheus stores them after scraping pod
/// `pod` of the StatefulSet (the target's namespace, job and pod labels added), for `minutes`.
fn shard_series(pod: &str, shard: Shard, minutes: u32) -> String {
    let prom = canary::metrics::prometheus::Prometheus::new(&[], None, false);
    prom.set_shard(Some(shard));
    let target = format!(r#"namespace="canary",job="canary",pod="{pod}""#);
    let mut out = String::new();
    for line in prom
        .encode()
        .lines()
        .filter(|l| l.starts_with("canary_shard"))
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let series = match series.split_once('{') {
            Some((name, labels)) => format!("{name}{{{target},{labels}"),
            None => format!("{series}{{{target}}}"),
        };
        let samples = minutes * 4;
        out += &format!("      - series: '{series}'\n        values: '{value}x{samples}'\n");
    }
    out
}

/// The shipped PrometheusRule, evaluated by promtool over runners as `/metrics` shows them:
/// every alert fires exactly in the situation it names, and none while the shards add up.
#[test]
fn the_shard_alerts_fire_exactly_when_the_shards_do_not_add_up() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("deploy/kubernetes/prometheusrule.yaml")).unwrap();
    let rule: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), rule["spec"].to_string()).unwrap();
    promtool(dir.path(), &["check", "rules", "rules.yml"], "");
    let of = |i, n| Shard { index: i, count: n };
    // (what the runners say, the StatefulSet's replicas, the alerts that fire)
    type Runners<'a> = &'a [(&'a str, Shard)];
    let cases: &[(Runners, u32, &[&str])] = &[
        (
            &[
                ("canary-0", of(0, 3)),
                ("canary-1", of(1, 3)),
                ("canary-2", of(2, 3)),
            ],
            3,
            &[],
        ),
        (
            &[("canary-0", of(0, 3)), ("canary-1", of(1, 3))],
            3,
            &["CanaryShardMissing"],
        ),
        (
            // `kubectl scale --replicas=2` without CANARY_SHARD=auto/2
            &[("canary-0", of(0, 3)), ("canary-1", of(1, 3))],
            2,
            &["CanaryReplicasAreNotShards", "CanaryShardMissing"],
        ),
        (
            // `kubectl scale --replicas=4` without CANARY_SHARD=auto/4: canary-3 cannot start
            &[
                ("canary-0", of(0, 3)),
                ("canary-1", of(1, 3)),
                ("canary-2", of(2, 3)),
            ],
            4,
            &["CanaryReplicasAreNotShards"],
        ),
        (
            // a second runner started by hand with --shard 1/2
            &[
                ("canary-0", of(0, 2)),
                ("canary-1", of(1, 2)),
                ("other-0", of(1, 2)),
            ],
            2,
            &["CanaryShardClaimedTwice"],
        ),
        (
            &[
                ("canary-0", of(0, 2)),
                ("canary-1", of(1, 3)),
                ("canary-2", of(2, 3)),
            ],
            3,
            &["CanaryShardCountsDisagree"],
        ),
        (&[], 3, &["CanaryShardsAbsent"]),
    ];
    let mut unit = "rule_files: [rules.yml]\nevaluation_interval: 15s\ntests:\n".to_string();
    for (runners, replicas, fire) in cases {
        unit += "  - interval: 15s\n    input_series:\n";
        for (pod, shard) in runners.iter() {
            unit += &shard_series(pod, *shard, 10);
        }
        unit += &format!(
            "      - series: 'kube_statefulset_replicas{{namespace=\"canary\",statefulset=\"canary\"}}'\n        values: '{replicas}x40'\n"
        );
        // Not yet at 4 minutes (each alert waits 5), then exactly these.
        unit += "    promql_expr_test:\n";
        unit += "      - expr: count by (alertname) (ALERTS{alertstate=\"firing\"})\n        eval_time: 4m\n        exp_samples: []\n";
        unit += "      - expr: count by (alertname) (ALERTS{alertstate=\"firing\"})\n        eval_time: 9m\n        exp_samples:";
        if fire.is_empty() {
            unit += " []\n";
        } else {
            unit += "\n";
            for alert in fire.iter() {
                unit += &format!(
                    "          - labels: '{{alertname=\"{alert}\"}}'\n            value: 1\n"
                );
            }
        }
    }
    std::fs::write(dir.path().join("unit.yml"), &unit).unwrap();
    promtool(dir.path(), &["test", "rules", "unit.yml"], &unit);
}

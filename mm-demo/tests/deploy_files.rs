//! The deployment files in `deploy/` agree with the binary: the systemd unit's stop and start
//! timeouts and the Kubernetes grace period cover the shutdown budget, the watchdog's slack
//! and the start timeout that `mm-demo --help` states as defaults; the arithmetic written in
//! their comments is the arithmetic of their values; every option they pass exists; keys
//! never travel in an environment.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Demo, bounded};

fn deploy_file(path: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("deploy")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// `mm-demo ARGS` (ending in `--help`): its exit code and stdout.
async fn run(args: &[&str]) -> (i32, String) {
    let mut demo = Demo::start(args);
    let (code, _) = demo.exit_within(Duration::from_secs(20)).await;
    (code, demo.stdout())
}

/// The help of `mm-demo [SUBCOMMAND]`.
async fn help(subcommand: Option<&str>) -> String {
    let mut args: Vec<&str> = subcommand.into_iter().collect();
    args.push("--help");
    let (code, stdout) = run(&args).await;
    assert_eq!(code, 0, "{stdout}");
    stdout
}

/// The text the help gives `option` (its lines up to the next option), on one line.
fn option_help(help: &str, option: &str) -> String {
    let lines: Vec<&str> = help.lines().collect();
    let start = lines
        .iter()
        .position(|line| {
            let line = line.trim_start();
            line == option || line.starts_with(&format!("{option} "))
        })
        .unwrap_or_else(|| panic!("{option} not in the help:\n{help}"));
    let mut text = vec![lines[start]];
    for line in &lines[start + 1..] {
        let indent = line.len() - line.trim_start().len();
        if line.trim_start().starts_with('-') && indent <= 6 {
            break;
        }
        text.push(line);
    }
    text.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `[default: N]` of `option`, in seconds.
fn default_seconds(help: &str, option: &str) -> f64 {
    let text = option_help(help, option);
    let value = text
        .split("[default: ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("no default for {option}: {text}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("{option}: {value:?}"))
}

/// The defaults the deploy files are made for, as the binary states them.
#[derive(Debug)]
struct Defaults {
    shutdown_budget: f64,
    app_grace: f64,
    start_timeout: f64,
    watchdog_slack: f64,
    sweep_timeout: f64,
}

async fn defaults() -> Defaults {
    let main = help(None).await;
    let orphans = help(Some("cancel-orphans")).await;
    let budget_help = option_help(&main, "--shutdown-budget");
    let watchdog_slack = budget_help
        .split(" s past it is ended by the watchdog")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the watchdog's slack is not stated: {budget_help}"));
    Defaults {
        shutdown_budget: default_seconds(&main, "--shutdown-budget"),
        app_grace: default_seconds(&main, "--app-grace"),
        start_timeout: default_seconds(&main, "--start-timeout"),
        watchdog_slack,
        sweep_timeout: default_seconds(&orphans, "--sweep-timeout"),
    }
}

/// A comment line `# NAME: a (what) + b (what) ... = total [= ...]`: the terms by what they
/// are, and the total. Fails unless the terms add up to the total.
fn arithmetic(file: &str, name: &str) -> (Vec<(String, f64)>, f64) {
    let prefix = format!("# {name}: ");
    let line = file
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line"));
    let mut sides = line.split(" = ");
    let terms: Vec<(String, f64)> = sides
        .next()
        .unwrap()
        .split(" + ")
        .map(|term| {
            let (value, what) = term.split_once(" (").unwrap_or_else(|| panic!("{term:?}"));
            (
                what.trim_end_matches(')').to_owned(),
                value.parse().unwrap_or_else(|_| panic!("{term:?}")),
            )
        })
        .collect();
    let total: f64 = sides.next().unwrap().trim().parse().unwrap();
    let sum: f64 = terms.iter().map(|(_, value)| value).sum();
    assert!(
        (sum - total).abs() < 1e-9,
        "{name}: {line}: the terms add up to {sum}"
    );
    (terms, total)
}

fn term(terms: &[(String, f64)], what: &str) -> f64 {
    terms
        .iter()
        .find(|(name, _)| name == what)
        .map(|(_, value)| *value)
        .unwrap_or_else(|| panic!("no {what:?} term in {terms:?}"))
}

/// The value of `key=` in a unit file (the last one: systemd's rule for these keys).
fn unit_value<'a>(unit: &'a str, key: &str) -> &'a str {
    let prefix = format!("{key}=");
    unit.lines()
        .rev()
        .filter(|line| !line.trim_start().starts_with('#'))
        .find_map(|line| line.trim().strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key}= in the unit"))
}

fn unit_seconds(unit: &str, key: &str) -> f64 {
    let value = unit_value(unit, key);
    value
        .trim_end_matches('s')
        .parse()
        .unwrap_or_else(|_| panic!("{key}={value}: not plain seconds"))
}

/// `mm-demo ARGS --help` exits 0 only if every option in ARGS exists and every value parses
/// (clap stops at the first it does not know, before the help).
async fn assert_options_exist(what: &str, args: &[&str]) {
    let mut with_help = args.to_vec();
    with_help.push("--help");
    let mut demo = Demo::start(&with_help);
    let (code, _) = demo.exit_within(Duration::from_secs(20)).await;
    assert_eq!(code, 0, "{what}: {args:?}\n{}", demo.stderr());
}

/// The systemd unit: `Type=notify`, `KillMode=mixed`, the orphan sweep as `ExecStopPost=`,
/// keys through `LoadCredential=`, and stop and start timeouts that cover the binary's
/// budgets, with the arithmetic of its comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systemd_unit_agrees_with_the_binary() {
    bounded(async {
        let unit = deploy_file("systemd/mm-demo@.service");
        let defaults = defaults().await;
        assert_eq!(unit_value(&unit, "Type"), "notify");
        assert_eq!(unit_value(&unit, "NotifyAccess"), "main");
        assert_eq!(unit_value(&unit, "KillMode"), "mixed");
        assert!(unit_seconds(&unit, "WatchdogSec") >= 2.0);

        let exec_start = unit_value(&unit, "ExecStart");
        let exec_stop_post = unit_value(&unit, "ExecStopPost");
        for (what, line) in [("ExecStart", exec_start), ("ExecStopPost", exec_stop_post)] {
            let args: Vec<&str> = line.split_whitespace().skip(1).collect();
            assert!(args.contains(&"--credentials-file"), "{what}: {line}");
            // The budgets the unit is made for are the defaults: it sets none of its own.
            for option in [
                "--shutdown-budget",
                "--app-grace",
                "--start-timeout",
                "--sweep-timeout",
            ] {
                assert!(
                    !args.contains(&option),
                    "{what} sets {option}: update the arithmetic"
                );
            }
            // Specifiers as systemd would expand them.
            let expanded: Vec<String> = args
                .iter()
                .map(|arg| {
                    arg.replace("%i", "hifi")
                        .replace("%S", "/var/lib")
                        .replace("%d", "/run/credentials/mm-demo@hifi.service")
                })
                .collect();
            let expanded: Vec<&str> = expanded.iter().map(String::as_str).collect();
            assert_options_exist(what, &expanded).await;
        }
        assert!(
            exec_stop_post.contains(" cancel-orphans "),
            "{exec_stop_post}"
        );
        assert!(unit_value(&unit, "LoadCredential").starts_with("mexc-keys:"));
        assert!(exec_start.contains("%d/mexc-keys") && exec_stop_post.contains("%d/mexc-keys"));
        // Never the keys in the unit's environment.
        for line in unit
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
        {
            assert!(!line.contains("MEXC_API"), "a key in the unit: {line}");
            assert!(
                !line.starts_with("Environment"),
                "an environment in the unit: {line}"
            );
        }

        // Stop: budget + the watchdog's slack + a margin, as the comment says.
        let stop = unit_seconds(&unit, "TimeoutStopSec");
        let (terms, total) = arithmetic(&unit, "TimeoutStopSec");
        assert_eq!(
            total, stop,
            "the comment's TimeoutStopSec is not the unit's"
        );
        assert_eq!(term(&terms, "shutdown budget"), defaults.shutdown_budget);
        assert_eq!(term(&terms, "watchdog slack"), defaults.watchdog_slack);
        assert!(term(&terms, "margin") >= 1.0, "{terms:?}");
        assert!(stop > defaults.shutdown_budget + defaults.watchdog_slack);
        assert!(
            defaults.app_grace <= defaults.shutdown_budget / 2.0,
            "{defaults:?}"
        );
        // The sweep after the stop has the same limit.
        assert!(defaults.sweep_timeout < stop, "{defaults:?}");

        // Start: the start timeout, then a failed start's stop.
        let start = unit_seconds(&unit, "TimeoutStartSec");
        let (terms, total) = arithmetic(&unit, "TimeoutStartSec");
        assert_eq!(
            total, start,
            "the comment's TimeoutStartSec is not the unit's"
        );
        assert_eq!(term(&terms, "start timeout"), defaults.start_timeout);
        assert_eq!(term(&terms, "stop after a failed start"), stop);
        assert!(start > defaults.start_timeout + stop);
    })
    .await;
}

/// Lines of the block under the first line `key:` (more indented than it), after `after`.
fn yaml_block<'a>(yaml: &'a str, key: &str, after: usize) -> (usize, Vec<&'a str>) {
    let lines: Vec<&str> = yaml.lines().collect();
    let at = lines
        .iter()
        .enumerate()
        .skip(after)
        .find(|(_, line)| line.trim() == format!("{key}:"))
        .map(|(at, _)| at)
        .unwrap_or_else(|| panic!("no {key}: block"));
    let indent = |line: &str| line.len() - line.trim_start().len();
    let own = indent(lines[at]);
    let block = lines[at + 1..]
        .iter()
        .take_while(|line| line.trim().is_empty() || indent(line) > own)
        .copied()
        .collect();
    (at, block)
}

/// The value of `key: value` among `lines` (the first).
fn yaml_value<'a>(lines: &[&'a str], key: &str) -> &'a str {
    let prefix = format!("{key}: ");
    lines
        .iter()
        .find_map(|line| line.trim().strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key}: in {lines:#?}"))
        .trim()
}

fn yaml_number(lines: &[&str], key: &str) -> f64 {
    yaml_value(lines, key).parse().unwrap()
}

/// The Kubernetes manifest: one pod, `Recreate`, a grace period that covers preStop, the
/// budget and the watchdog's slack (the arithmetic of its comment), a startup probe that
/// waits out the start, probes on `/readyz` and `/livez`, keys from a Secret file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubernetes_manifest_agrees_with_the_binary() {
    bounded(async {
        let yaml = deploy_file("kubernetes/mm-demo.yaml");
        let defaults = defaults().await;
        let deployment_at = yaml.find("kind: Deployment").expect("a Deployment");
        let deployment = &yaml[deployment_at..];
        let all: Vec<&str> = deployment.lines().collect();
        assert_eq!(yaml_value(&all, "replicas"), "1");
        let (_, strategy) = yaml_block(deployment, "strategy", 0);
        assert_eq!(yaml_value(&strategy, "type"), "Recreate");

        let grace = yaml_number(&all, "terminationGracePeriodSeconds");
        let (_, pre_stop) = yaml_block(deployment, "preStop", 0);
        let pre_stop = yaml_number(&pre_stop, "seconds");
        let (terms, total) = arithmetic(&yaml, "terminationGracePeriodSeconds");
        assert_eq!(
            total, grace,
            "the comment's grace period is not the manifest's"
        );
        assert_eq!(
            term(&terms, "preStop"),
            pre_stop,
            "the comment's preStop is not the hook's"
        );
        assert_eq!(term(&terms, "shutdown budget"), defaults.shutdown_budget);
        assert_eq!(term(&terms, "watchdog slack"), defaults.watchdog_slack);
        assert!(term(&terms, "margin") >= 1.0, "{terms:?}");
        assert!(grace > pre_stop + defaults.shutdown_budget + defaults.watchdog_slack);

        // The startup probe waits out the start (and the stale listen keys' clean-up).
        let (_, startup) = yaml_block(deployment, "startupProbe", 0);
        assert_eq!(yaml_value(&startup, "path"), "/readyz");
        let waits =
            yaml_number(&startup, "failureThreshold") * yaml_number(&startup, "periodSeconds");
        let (terms, total) = arithmetic(&yaml, "startupProbe");
        assert_eq!(
            total, waits,
            "the comment's startup wait is not the probe's"
        );
        assert_eq!(term(&terms, "start timeout"), defaults.start_timeout);
        assert!(waits > defaults.start_timeout);
        let (_, readiness) = yaml_block(deployment, "readinessProbe", 0);
        assert_eq!(yaml_value(&readiness, "path"), "/readyz");
        let (_, liveness) = yaml_block(deployment, "livenessProbe", 0);
        assert_eq!(yaml_value(&liveness, "path"), "/livez");

        // The options exist, the probes' listener among them, on the container's port.
        let (_, args) = yaml_block(deployment, "args", 0);
        let args: Vec<String> = args
            .iter()
            .filter_map(|line| line.trim().strip_prefix("- "))
            .map(|arg| arg.trim_matches('"').to_owned())
            .collect();
        let checked: Vec<&str> = args.iter().map(String::as_str).collect();
        assert!(checked.contains(&"--credentials-file"), "{args:?}");
        for option in ["--shutdown-budget", "--app-grace", "--start-timeout"] {
            assert!(
                !checked.contains(&option),
                "the manifest sets {option}: update the arithmetic"
            );
        }
        assert_options_exist("the container's args", &checked).await;
        let listen: std::net::SocketAddr = args
            .iter()
            .skip_while(|arg| *arg != "--metrics-addr")
            .nth(1)
            .unwrap_or_else(|| panic!("no --metrics-addr: the probes reach nothing: {args:?}"))
            .parse()
            .unwrap();
        // The kubelet probes the pod's address: the listener must be reachable beyond
        // loopback, which the binary allows only with its flag.
        assert!(!listen.ip().is_loopback(), "{listen}");
        assert!(checked.contains(&"--metrics-allow-remote"), "{args:?}");
        let (_, ports) = yaml_block(deployment, "ports", 0);
        assert_eq!(
            yaml_number(&ports, "containerPort"),
            f64::from(listen.port()),
            "the probes' port is not the listener's"
        );
        assert_eq!(yaml_value(&ports, "- name"), "http");
        for probe in [&startup, &readiness, &liveness] {
            assert_eq!(yaml_value(probe, "port"), "http");
        }

        // The keys: a Secret mounted as a file, never an environment variable.
        assert!(!deployment.contains("MEXC_API"), "a key in the Deployment");
        assert!(!deployment.contains("env:") && !deployment.contains("envFrom:"));
        assert!(!deployment.contains("secretKeyRef"));
        let (_, volumes) = yaml_block(deployment, "volumes", 0);
        let secret = yaml_value(&volumes, "secretName");
        assert!(
            yaml.contains(&format!("name: {secret}\ntype: Opaque")),
            "{secret}"
        );
        let keys_file = args
            .iter()
            .skip_while(|arg| *arg != "--credentials-file")
            .nth(1)
            .unwrap();
        let (_, mounts) = yaml_block(deployment, "volumeMounts", 0);
        let mount = yaml_value(&mounts, "- name")
            .eq("keys")
            .then(|| yaml_value(&mounts, "mountPath"))
            .unwrap();
        assert!(
            keys_file.starts_with(&format!("{mount}/")),
            "{keys_file} outside {mount}"
        );
    })
    .await;
}

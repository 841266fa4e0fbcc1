//! Metrics as an operator sees them: the real binary with `--metrics-addr` and JSON logs, a
//! real Prometheus (Debian's `prometheus`) scraping it during traffic, and the series read back
//! through Prometheus' HTTP API.
mod common;

use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use better_auth_grpc::client::{AuthServiceClient, IssueTokenRequest, ValidateTokenRequest};
use common::process::{self, Running};
use serde_json::Value;

const START: Duration = Duration::from_secs(60);
const VALID_CALLS: u64 = 5;
const REFUSED_CALLS: u64 = 3;

/// The service in `dir` with JSON logs: (process, gRPC address, demo session token).
fn start_service(dir: &Path, metrics_port: u16) -> (Running, SocketAddr, String) {
    let mut c = process::command(dir);
    c.args(["--listen-addr", "127.0.0.1:0", "--log-format", "json"])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")]);
    let mut running = Running::spawn(c);
    let addr = running.wait_for(START, |_, err| {
        err.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| {
                v["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("serving gRPC"))
            })
            .and_then(|v| v["addr"].as_str()?.parse().ok())
    });
    let token = running.wait_for(START, |out, _| {
        let line = out.lines().find(|l| l.starts_with("session token:"))?;
        Some(line.trim_start_matches("session token:").trim().to_owned())
    });
    (running, addr, token)
}

/// Every log line is one JSON object with the fields of the text format.
fn assert_json_logs(stderr: &str) {
    for line in stderr.lines().filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for field in ["timestamp", "level", "target", "message"] {
            assert!(v.get(field).is_some(), "no {field} in {line}");
        }
    }
}

/// Prometheus scraping `target` every second, its data in `dir`; a missing binary fails.
fn start_prometheus(dir: &Path, target: &str, port: u16) -> Child {
    let config = dir.join("prometheus.yml");
    let text = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
         - job_name: better-auth-grpc\n    static_configs:\n      - targets: ['{target}']\n"
    );
    std::fs::write(&config, text).expect("prometheus.yml");
    Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Debian's prometheus on PATH (apt-get install prometheus; .ci/run installs it)")
}

async fn traffic(addr: SocketAddr, token: &str) {
    let mut client = AuthServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    for _ in 0..VALID_CALLS {
        let r = client.validate_token(ValidateTokenRequest {
            token: token.into(),
            ..Default::default()
        });
        assert!(r.await.expect("answer").into_inner().valid);
    }
    for i in 0..REFUSED_CALLS {
        let garbage = format!("not-a-session-{i}");
        let r = client.validate_token(ValidateTokenRequest {
            token: garbage,
            ..Default::default()
        });
        assert!(!r.await.expect("answer").into_inner().valid);
    }
    let refused = client.issue_token(IssueTokenRequest::default()).await;
    assert_eq!(
        refused.expect_err("no API key").code(),
        tonic::Code::Unauthenticated
    );
}

/// Prometheus' answer to an instant query: the sum of its samples, once there is one.
async fn query(http: &reqwest::Client, prom: u16, promql: &str) -> Option<f64> {
    let url = format!("http://127.0.0.1:{prom}/api/v1/query");
    let r = http
        .get(url)
        .query(&[("query", promql)])
        .send()
        .await
        .ok()?;
    let v: Value = r.json().await.ok()?;
    let samples = v["data"]["result"].as_array()?;
    let values = samples
        .iter()
        .filter_map(|s| s["value"][1].as_str()?.parse::<f64>().ok());
    (!samples.is_empty()).then(|| values.sum())
}

/// Waits (scrapes are a second apart) until `promql` answers `want`.
async fn eventually(http: &reqwest::Client, prom: u16, promql: &str, want: f64) {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < Duration::from_secs(45) {
        last = query(http, prom, promql).await;
        if last == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{promql}: Prometheus answers {last:?}, expected {want}");
}

/// Every series label Prometheus holds for the job, as its API returns them.
async fn all_series(http: &reqwest::Client, prom: u16) -> String {
    let url = format!("http://127.0.0.1:{prom}/api/v1/series");
    let r = http
        .get(url)
        .query(&[("match[]", "{job=\"better-auth-grpc\"}")])
        .send()
        .await;
    r.expect("series").text().await.expect("series body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_rpc_domain_database_and_build_series() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics_port = process::free_port();
    let (service, addr, token) = start_service(dir.path(), metrics_port);
    let prom_port = process::free_port();
    let mut prom = start_prometheus(dir.path(), &format!("127.0.0.1:{metrics_port}"), prom_port);
    traffic(addr, &token).await;
    let http = reqwest::Client::new();
    let calls = (VALID_CALLS + REFUSED_CALLS) as f64;
    let validate = "grpc_service=\"auth.v1.AuthService\",grpc_method=\"ValidateToken\"";
    let checks = [
        ("up{job=\"better-auth-grpc\"}".to_owned(), 1.0),
        (format!("sum(grpc_server_handled_total{{{validate},grpc_code=\"OK\"}})"), calls),
        (format!("sum(grpc_server_started_total{{{validate}}})"), calls),
        (format!("sum(grpc_server_handling_seconds_count{{{validate}}})"), calls),
        ("sum(better_auth_grpc_validations_total{kind=\"session_token\",reason=\"VALID\"})".into(), VALID_CALLS as f64),
        ("sum(better_auth_grpc_validations_total{reason!=\"VALID\"})".into(), REFUSED_CALLS as f64),
        ("sum(grpc_server_handled_total{grpc_method=\"IssueToken\",grpc_code=\"Unauthenticated\"})".into(), 1.0),
        ("sum(better_auth_grpc_issue_token_total{caller=\"unknown\",outcome=\"Unauthenticated\"})".into(), 1.0),
        ("count(better_auth_grpc_build_info{version=\"0.1.0\",revision!=\"\"})".into(), 1.0),
        ("sum(better_auth_grpc_db_query_duration_seconds_count{operation=\"find_session\"}) > bool 0".into(), 1.0),
    ];
    for (promql, want) in &checks {
        eventually(&http, prom_port, promql, *want).await;
    }
    let series = all_series(&http, prom_port).await;
    assert!(series.contains("grpc_server_handled_total"), "{series}");
    assert!(!series.contains(&token), "a label holds the session token");
    assert!(
        !series.contains("not-a-session"),
        "a label holds a credential"
    );
    let _ = prom.kill();
    let _ = prom.wait();
    let ended = service.terminate(Duration::from_secs(15));
    assert_json_logs(&ended.stderr);
    assert!(
        !ended.stderr.contains(&token),
        "the log holds the session token"
    );
}

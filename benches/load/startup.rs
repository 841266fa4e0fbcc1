//! `startup` and `wait`: time from spawn to Health/Check SERVING, and idle VmRSS.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;
use tonic::transport::Endpoint;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::measure::cmdline;
use crate::output::{emit, vm_rss_kib};

async fn serving(url: &str) -> bool {
    let Ok(ep) = Endpoint::from_shared(url.to_owned()) else {
        return false;
    };
    let Ok(ch) = ep.connect().await else {
        return false;
    };
    matches!(
        HealthClient::new(ch)
            .check(HealthCheckRequest { service: String::new() })
            .await,
        Ok(r) if r.get_ref().status == ServingStatus::Serving as i32
    )
}

pub(crate) async fn startup(
    bin: &Path,
    addr: &str,
    runs: usize,
    backend: &str,
    results: Option<PathBuf>,
    args: &[String],
) -> Result<()> {
    let url = format!("http://{addr}");
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let mut child = Command::new(bin)
            .args(args)
            .env("LISTEN_ADDR", addr)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("spawn {}", bin.display()))?;
        let pid = child.id();
        let serving = loop {
            if t0.elapsed() > Duration::from_secs(20) {
                break None;
            }
            if let Ok(Some(st)) = child.try_wait() {
                bail!("{} exited during start-up: {st}", bin.display());
            }
            if let Ok(ch) = Endpoint::from_shared(url.clone())?.connect().await {
                if let Ok(r) = HealthClient::new(ch)
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                {
                    if r.get_ref().status == ServingStatus::Serving as i32 {
                        break Some(t0.elapsed());
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let Some(serving) = serving else {
            let _ = child.kill();
            bail!("not SERVING within 20 s");
        };
        times.push(serving.as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some(k) = vm_rss_kib(pid) {
            rss.push(k);
        }
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let _ = child.wait();
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    emit(
        &results,
        json!({
            "kind": "startup",
            "backend": backend,
            "median_ms": (median * 10.0).round() / 10.0,
            "runs_ms": times.iter().map(|t| (t * 10.0).round() / 10.0).collect::<Vec<_>>(),
            "idle_rss_kib": rss,
            "cmd": format!("load {}", cmdline()),
        }),
    )
}

/// Polls Health/Check until SERVING; an error after `timeout` seconds.
pub(crate) async fn wait(addr: &str, timeout: f64) -> Result<()> {
    let t0 = Instant::now();
    loop {
        if serving(addr).await {
            return Ok(());
        }
        if t0.elapsed().as_secs_f64() > timeout {
            bail!("{addr} not SERVING after {timeout} s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

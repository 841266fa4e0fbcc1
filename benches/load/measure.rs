//! A measurement: warm-up, timed window, tally of right, wrong and failed answers, result line.
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use hdrhistogram::Histogram;
use serde_json::json;

use crate::cli::Window;
use crate::output::{emit, vm_rss_kib};

#[derive(Default)]
struct Tally {
    hist: Option<Histogram<u64>>,
    ok: u64,
    wrong: u64,
    errors: u64,
    first_problem: Option<String>,
}

impl Tally {
    fn new() -> Self {
        Self {
            hist: Some(Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")),
            ..Default::default()
        }
    }
    fn record(&mut self, elapsed: Duration, outcome: Result<(), String>, is_error: bool) {
        if let Some(h) = self.hist.as_mut() {
            let _ = h.record((elapsed.as_micros() as u64).max(1));
        }
        match outcome {
            Ok(()) => self.ok += 1,
            Err(e) => {
                if is_error {
                    self.errors += 1
                } else {
                    self.wrong += 1
                }
                if self.first_problem.is_none() {
                    self.first_problem = Some(e);
                }
            }
        }
    }
    fn merge(&mut self, o: Tally) {
        if let (Some(a), Some(b)) = (self.hist.as_mut(), o.hist.as_ref()) {
            let _ = a.add(b);
        }
        self.ok += o.ok;
        self.wrong += o.wrong;
        self.errors += o.errors;
        if self.first_problem.is_none() {
            self.first_problem = o.first_problem;
        }
    }
}

/// Shared clock of a measurement: warm-up, then recording, then stop.
struct Phase {
    recording: AtomicBool,
    stop: AtomicBool,
    next: AtomicUsize,
    /// Workers that ran out of credentials (`--once`).
    done: AtomicUsize,
}

/// Runs `concurrency` loops of `one(i)` (i = the credential index), returns the result JSON.
pub(crate) async fn measure<F, Fut>(
    w: &Window,
    n_creds: usize,
    cmdline: String,
    one: F,
) -> Result<()>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (Result<(), String>, bool)> + Send,
{
    let phase = Arc::new(Phase {
        recording: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
    });
    let one = Arc::new(one);
    let once = w.once;
    let mut tasks = Vec::new();
    for worker in 0..w.concurrency {
        let (phase, one) = (phase.clone(), one.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::new();
            while !phase.stop.load(Ordering::Relaxed) {
                let k = phase.next.fetch_add(1, Ordering::Relaxed);
                if once && k >= n_creds {
                    phase.done.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                let i = k % n_creds.max(1);
                let t0 = Instant::now();
                let (outcome, is_error) = one(worker, i).await;
                let dt = t0.elapsed();
                if phase.recording.load(Ordering::Relaxed) {
                    tally.record(dt, outcome, is_error);
                }
            }
            tally
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(w.warmup)).await;
    let rss_peak = Arc::new(AtomicU64::new(0));
    let watcher = w.watch_pid.map(|pid| {
        let (phase, peak) = (phase.clone(), rss_peak.clone());
        tokio::spawn(async move {
            while !phase.stop.load(Ordering::Relaxed) {
                if let Some(k) = vm_rss_kib(pid) {
                    peak.fetch_max(k, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });
    let cpu0 = (
        w.watch_pid.and_then(cpu_ticks),
        cpu_ticks(std::process::id()),
    );
    phase.recording.store(true, Ordering::SeqCst);
    let t0 = Instant::now();
    window_end(&phase, w, t0).await;
    phase.recording.store(false, Ordering::SeqCst);
    let window = t0.elapsed();
    let cpu1 = (
        w.watch_pid.and_then(cpu_ticks),
        cpu_ticks(std::process::id()),
    );
    phase.stop.store(true, Ordering::SeqCst);
    let mut total = Tally::new();
    for t in tasks {
        total.merge(t.await?);
    }
    if let Some(w) = watcher {
        let _ = w.await;
    }
    let h = total.hist.as_ref().expect("histogram");
    let n = total.ok + total.wrong + total.errors;
    let rps = n as f64 / window.as_secs_f64();
    let mut v = json!({
        "kind": "run",
        "scenario": w.scenario,
        "backend": w.backend,
        "role": w.role,
        "level": w.concurrency,
        "rps": (rps * 10.0).round() / 10.0,
        "ok_rps": ((total.ok as f64 / window.as_secs_f64()) * 10.0).round() / 10.0,
        "p50_us": h.value_at_quantile(0.50),
        "p99_us": h.value_at_quantile(0.99),
        "max_us": h.max(),
        "ok": total.ok,
        "wrong": total.wrong,
        "errors": total.errors,
        "window_s": (window.as_secs_f64() * 1000.0).round() / 1000.0,
        "distinct_credentials": n_creds,
        "cmd": cmdline,
    });
    if let Some(p) = &total.first_problem {
        v["first_problem"] = json!(p);
    }
    // CPU per call of the service (the watched process) and of this client, over the window.
    if let ((Some(s0), Some(c0)), (Some(s1), Some(c1))) = (cpu0, cpu1) {
        v["service_cpu_us_per_call"] = json!(per_call(s1 - s0, n));
        v["client_cpu_us_per_call"] = json!(per_call(c1 - c0, n));
    }
    let peak = rss_peak.load(Ordering::Relaxed);
    if peak > 0 {
        v["rss_peak_kib"] = json!(peak);
    }
    emit(&w.results, v)?;
    if w.strict && (total.ok == 0 || total.wrong > 0 || total.errors > 0) {
        bail!(
            "{} @{}: ok={} wrong={} errors={} first problem: {:?}",
            w.scenario,
            w.concurrency,
            total.ok,
            total.wrong,
            total.errors,
            total.first_problem
        );
    }
    Ok(())
}

/// The end of the timed window: its duration, or every worker out of credentials (`--once`).
async fn window_end(phase: &Phase, w: &Window, t0: Instant) {
    let duration = Duration::from_secs_f64(w.duration);
    while t0.elapsed() < duration && phase.done.load(Ordering::SeqCst) < w.concurrency {
        let left = duration.saturating_sub(t0.elapsed());
        tokio::time::sleep(left.min(Duration::from_millis(5))).await;
    }
}

/// utime + stime of a process, in clock ticks (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Microseconds of CPU per call, from clock ticks (100 per second on Linux).
fn per_call(ticks: u64, calls: u64) -> f64 {
    let us = ticks as f64 * 1e6 / 100.0 / calls.max(1) as f64;
    (us * 10.0).round() / 10.0
}

pub(crate) fn cmdline() -> String {
    let mut after_key = false;
    std::env::args()
        .filter(|a| a != "--bench")
        .skip(1)
        .map(|a| {
            if std::mem::replace(&mut after_key, a == "--api-key") {
                "\"$API_KEY\"".to_owned()
            } else if a.contains(' ') {
                format!("'{a}'")
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

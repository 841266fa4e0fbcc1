//! `pgbench`: the service's session lookup under pgbench, as a ceiling.
use std::fs::{self};
use std::path::PathBuf;
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use chrono::Utc;
use hdrhistogram::Histogram;
use serde_json::json;

use crate::cli::Window;
use crate::output::emit;

/// The service's lookup (src/store/postgres.rs `find_session`: session LEFT JOIN user by
/// token, every core column) for token `i`, recomputed in SQL like `session_token`.
const PGBENCH_SCRIPT: &str = r#"\set i random(1, :users)
SELECT s."id", s."expiresAt", s."token", s."createdAt", s."updatedAt", s."ipAddress", s."userAgent", s."userId", u."id", u."name", u."email", u."emailVerified", u."image", u."createdAt", u."updatedAt" FROM "session" s LEFT JOIN "user" u ON u."id" = s."userId" WHERE s."token" = CAST(left(encode(sha256(convert_to('bench-session-' || :i::text, 'UTF8')), 'hex'), 32) AS text);
"#;

pub(crate) async fn pgbench_run(url: &str, users: usize, pgbench: &str, w: Window) -> Result<()> {
    let dir = tempdir_for("pgbench")?;
    let script = dir.join("lookup.sql");
    fs::write(&script, PGBENCH_SCRIPT)?;
    let jobs = w.concurrency.min(2).to_string();
    let clients = w.concurrency.to_string();
    let users_var = format!("users={users}");
    let run = |secs: f64, log: bool| -> Result<String> {
        let mut c = Command::new(pgbench);
        c.args(["-n", "-M", "prepared", "-c", &clients, "-j", &jobs])
            .args(["-D", &users_var])
            .arg("-T")
            .arg(format!("{}", secs.ceil().max(1.0) as u64))
            .arg("-f")
            .arg(&script);
        if log {
            c.arg("-l")
                .arg(format!("--log-prefix={}", dir.join("tx").display()));
        }
        c.arg(url).current_dir(&dir);
        let out = c.output().with_context(|| format!("run {pgbench}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "pgbench failed: {}\n{stdout}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(stdout)
    };
    if w.warmup > 0.0 {
        run(w.warmup, false)?;
    }
    let stdout = run(w.duration, true)?;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut n = 0u64;
    for entry in fs::read_dir(&dir)? {
        let p = entry?.path();
        if !p
            .file_name()
            .and_then(|f| f.to_str())
            .is_some_and(|f| f.starts_with("tx"))
        {
            continue;
        }
        for line in fs::read_to_string(&p)?.lines() {
            // client_id transaction_no time script_no time_epoch time_us
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|s| s.parse::<u64>().ok())
            {
                hist.record(us.max(1))?;
                n += 1;
            }
        }
    }
    let tps = stdout
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| anyhow!("no tps in pgbench output:\n{stdout}"))?;
    let failed = stdout
        .lines()
        .find(|l| l.starts_with("number of failed transactions"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    let v = json!({
        "kind": "run",
        "scenario": w.scenario,
        "backend": w.backend,
        "role": w.role,
        "level": w.concurrency,
        "rps": (tps * 10.0).round() / 10.0,
        "ok_rps": (tps * 10.0).round() / 10.0,
        "p50_us": hist.value_at_quantile(0.50),
        "p99_us": hist.value_at_quantile(0.99),
        "max_us": hist.max(),
        "ok": n,
        "wrong": 0,
        "errors": failed,
        "window_s": w.duration,
        "distinct_credentials": users,
        "cmd": format!("pgbench -n -M prepared -c {clients} -j {jobs} -D {users_var} -T {} -f lookup.sql (benches/load/pgbench.rs PGBENCH_SCRIPT) -l {url}", w.duration.ceil()),
    });
    emit(&w.results, v)?;
    let _ = fs::remove_dir_all(&dir);
    if w.strict && (n == 0 || failed > 0) {
        bail!("pgbench: {n} transactions, {failed} failed");
    }
    Ok(())
}

fn tempdir_for(what: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "bag-bench-{what}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    ));
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

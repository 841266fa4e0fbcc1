//! `report`: the tables, ratios and targets of a results file, as Markdown.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;

type Key = (String, String); // (scenario, backend)

struct Row {
    role: String,
    by_level: BTreeMap<u64, Value>,
}

pub(crate) fn report(results: &Path, out: Option<PathBuf>) -> Result<()> {
    let text = fs::read_to_string(results)?;
    let mut notes: Vec<(String, String)> = Vec::new();
    let mut rows: Vec<(Key, Row)> = Vec::new();
    let mut rss: Vec<(String, u64)> = Vec::new();
    let mut startups: Vec<Value> = Vec::new();
    // Memory runs far above the latency levels: reported apart, not as table columns.
    let mut stress: Vec<Value> = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match v["kind"].as_str() {
            Some("note") => notes.push((
                v["key"].as_str().unwrap_or("").into(),
                v["value"].as_str().unwrap_or("").into(),
            )),
            Some("rss") => rss.push((
                v["label"].as_str().unwrap_or("").into(),
                v["rss_kib"].as_u64().unwrap_or(0),
            )),
            Some("startup") => startups.push(v),
            Some("run") if v["role"] == "stress" => stress.push(v),
            Some("run") => {
                let key = (
                    v["scenario"].as_str().unwrap_or("").to_owned(),
                    v["backend"].as_str().unwrap_or("").to_owned(),
                );
                let level = v["level"].as_u64().unwrap_or(0);
                let role = v["role"].as_str().unwrap_or("").to_owned();
                match rows.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, r)) => {
                        r.by_level.insert(level, v);
                    }
                    None => rows.push((
                        key,
                        Row {
                            role,
                            by_level: BTreeMap::from([(level, v)]),
                        },
                    )),
                }
            }
            _ => {}
        }
    }
    let levels: Vec<u64> = {
        let mut l: Vec<u64> = rows
            .iter()
            .flat_map(|(_, r)| r.by_level.keys().copied())
            .collect();
        l.sort_unstable();
        l.dedup();
        l
    };
    let get = |scenario: &str, backend: &str, level: u64| -> Option<&Value> {
        rows.iter()
            .find(|((s, b), _)| s == scenario && b == backend)
            .and_then(|(_, r)| r.by_level.get(&level))
    };
    let rps = |scenario: &str, backend: &str, level: u64| -> Option<f64> {
        get(scenario, backend, level).and_then(|v| v["rps"].as_f64())
    };
    let ms = |us: &Value| format!("{:.2}", us.as_f64().unwrap_or(0.0) / 1000.0);

    let mut md = String::new();
    let note = |k: &str| {
        notes
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("?")
    };
    writeln!(md, "## Results ({})\n", note("mode"))?;
    writeln!(md, "* Run: {} — {}", note("started"), note("finished"))?;
    writeln!(md, "* Machine: {}", note("machine"))?;
    writeln!(
        md,
        "* Load average before / after: {} / {}",
        note("load_before"),
        note("load_after")
    )?;
    writeln!(md, "* Versions: {}", note("versions"))?;
    writeln!(md, "* Window: {}", note("window"))?;
    writeln!(md, "* Command: `{}`\n", note("command"))?;

    // One table per scenario group, levels as columns.
    writeln!(md, "### Throughput and latency (req/s · p50 ms · p99 ms)\n")?;
    let mut head = String::from("| scenario | backend | role |");
    let mut sep = String::from("|---|---|---|");
    for l in &levels {
        write!(head, " {l} in flight |")?;
        sep.push_str("---|");
    }
    writeln!(md, "{head} errors/wrong |\n{sep}---|")?;
    for ((scenario, backend), r) in &rows {
        let mut line = format!("| {scenario} | {backend} | {} |", r.role);
        let mut bad = 0;
        for l in &levels {
            match r.by_level.get(l) {
                Some(v) => {
                    bad += v["errors"].as_u64().unwrap_or(0) + v["wrong"].as_u64().unwrap_or(0);
                    write!(
                        line,
                        " {:.0} · {} · {} |",
                        v["rps"].as_f64().unwrap_or(0.0),
                        ms(&v["p50_us"]),
                        ms(&v["p99_us"])
                    )?
                }
                None => line.push_str(" — |"),
            }
        }
        writeln!(md, "{line} {bad} |")?;
    }

    // Ratios.
    let ratio_row = |md: &mut String,
                     label: &str,
                     a: (&str, &str),
                     b: (&str, &str)|
     -> Result<Vec<Option<f64>>> {
        let mut line = format!("| {label} |");
        let mut out = Vec::new();
        for &l in &levels {
            let r = match (rps(a.0, a.1, l), rps(b.0, b.1, l)) {
                (Some(x), Some(y)) if y > 0.0 => Some(x / y),
                _ => None,
            };
            match r {
                Some(r) => write!(line, " {r:.2} |")?,
                None => line.push_str(" — |"),
            }
            out.push(r);
        }
        writeln!(md, "{line}")?;
        Ok(out)
    };
    writeln!(
        md,
        "\n### Ratios (req/s ÷ req/s at the same in-flight level)\n"
    )?;
    let mut head = String::from("| ratio |");
    let mut sep = String::from("|---|");
    for l in &levels {
        write!(head, " {l} |")?;
        sep.push_str("---|");
    }
    writeln!(md, "{head}\n{sep}")?;
    const HEALTH: (&str, &str) = ("Health/Check (transport ceiling)", "pg");
    const PGB: (&str, &str) = ("pgbench session⋈user lookup (DB ceiling)", "pg");
    const BA_GS: (&str, &str) = ("Better Auth get-session (cookie)", "pg");
    const BA_GSB: (&str, &str) = ("Better Auth get-session (bearer)", "pg");
    const BA_TOK: (&str, &str) = ("Better Auth /token (cookie)", "pg");
    const JWT_E: (&str, &str) = ("ValidateToken JWT EdDSA", "pg");
    const SESS: (&str, &str) = ("ValidateToken session token", "pg");
    const GS: (&str, &str) = ("GetSession", "pg");
    const ISS: (&str, &str) = ("IssueToken EdDSA (session_token)", "pg");
    const JWT_CACHED: (&str, &str) = (
        "ValidateToken JWT EdDSA, 1 000 repeated (verified cache)",
        "pg",
    );
    const SESS_CACHED: (&str, &str) = (
        "ValidateToken session token, 1 000 repeated (session cache 5 s)",
        "pg",
    );
    let r_jwt_health = ratio_row(
        &mut md,
        "ValidateToken JWT EdDSA ÷ Health/Check",
        JWT_E,
        HEALTH,
    )?;
    ratio_row(
        &mut md,
        "ValidateToken JWT ES256 ÷ Health/Check",
        ("ValidateToken JWT ES256", "pg"),
        HEALTH,
    )?;
    ratio_row(
        &mut md,
        "ValidateToken JWT RS256 ÷ Health/Check",
        ("ValidateToken JWT RS256", "pg"),
        HEALTH,
    )?;
    let r_sess_pgb = ratio_row(&mut md, "ValidateToken session ÷ pgbench", SESS, PGB)?;
    ratio_row(
        &mut md,
        "ValidateToken cookie ÷ pgbench",
        ("ValidateToken signed cookie", "pg"),
        PGB,
    )?;
    ratio_row(&mut md, "GetSession ÷ pgbench", GS, PGB)?;
    ratio_row(&mut md, "pgbench ÷ Health/Check", PGB, HEALTH)?;
    let r_sess_ba = ratio_row(
        &mut md,
        "ValidateToken session ÷ BA get-session (cookie)",
        SESS,
        BA_GS,
    )?;
    ratio_row(
        &mut md,
        "ValidateToken session ÷ BA get-session (bearer)",
        SESS,
        BA_GSB,
    )?;
    let r_gs_ba = ratio_row(&mut md, "GetSession ÷ BA get-session (cookie)", GS, BA_GS)?;
    let r_iss_ba = ratio_row(
        &mut md,
        "IssueToken EdDSA (session_token) ÷ BA /token",
        ISS,
        BA_TOK,
    )?;
    ratio_row(
        &mut md,
        "IssueToken EdDSA (user_id) ÷ BA /token",
        ("IssueToken EdDSA (user_id)", "pg"),
        BA_TOK,
    )?;
    let r_jwt_cached = ratio_row(
        &mut md,
        "ValidateToken JWT EdDSA repeated (verified cache) ÷ Health/Check",
        JWT_CACHED,
        HEALTH,
    )?;
    let r_sess_cached = ratio_row(
        &mut md,
        "ValidateToken session repeated (session cache) ÷ Health/Check",
        SESS_CACHED,
        HEALTH,
    )?;
    ratio_row(
        &mut md,
        "ValidateToken session: SQLite ÷ PostgreSQL",
        ("ValidateToken session token", "sqlite"),
        SESS,
    )?;

    // Memory and start-up.
    writeln!(md, "\n### Memory and start-up\n")?;
    writeln!(md, "| what | value |\n|---|---|")?;
    for (label, kib) in &rss {
        writeln!(md, "| {label} | {:.1} MiB |", *kib as f64 / 1024.0)?;
    }
    for ((scenario, backend), r) in &rows {
        for (l, v) in &r.by_level {
            if let Some(k) = v["rss_peak_kib"].as_u64() {
                if *l == *levels.last().unwrap_or(&0) {
                    writeln!(
                        md,
                        "| peak VmRSS during {scenario} ({backend}) @{l} | {:.1} MiB |",
                        k as f64 / 1024.0
                    )?;
                }
            }
        }
    }
    for v in &stress {
        writeln!(
            md,
            "| peak VmRSS during {} ({}) @{}: {} answered, {} errors | {} |",
            v["scenario"].as_str().unwrap_or(""),
            v["backend"].as_str().unwrap_or(""),
            v["level"],
            v["ok"],
            v["errors"].as_u64().unwrap_or(0) + v["wrong"].as_u64().unwrap_or(0),
            v["rss_peak_kib"]
                .as_u64()
                .map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        )?;
    }
    for s in &startups {
        writeln!(
            md,
            "| start to SERVING ({}), median of {} ms | {} ms |",
            s["backend"].as_str().unwrap_or(""),
            s["runs_ms"],
            s["median_ms"]
        )?;
        if let Some(k) = s["idle_rss_kib"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_u64)
        {
            writeln!(
                md,
                "| idle VmRSS 1 s after SERVING ({}) | {:.1} MiB |",
                s["backend"].as_str().unwrap_or(""),
                k as f64 / 1024.0
            )?;
        }
    }

    // Targets, judged at the highest in-flight level measured.
    let top = levels.len().saturating_sub(1);
    let top_level = levels.last().copied().unwrap_or(0);
    let verdict = |ok: Option<bool>| match ok {
        Some(true) => "**holds**",
        Some(false) => "**missed**",
        None => "not measured",
    };
    let at = |v: &[Option<f64>]| v.get(top).copied().flatten();
    // A ratio target: judged at the top level, and said whether it also holds below it.
    let ratio_verdict = |v: &[Option<f64>], min: f64| -> String {
        match at(v) {
            None => "not measured".into(),
            Some(r) if r < min => "**missed**".into(),
            Some(_) => {
                let below: Vec<String> = v
                    .iter()
                    .zip(&levels)
                    .filter(|(r, _)| r.is_some_and(|r| r < min))
                    .map(|(_, l)| l.to_string())
                    .collect();
                if below.is_empty() {
                    "**holds** (every level)".into()
                } else {
                    format!(
                        "**holds at {top_level} only** (missed at {})",
                        below.join(", ")
                    )
                }
            }
        }
    };
    let all = |v: &[Option<f64>], min: f64| -> String {
        v.iter()
            .zip(&levels)
            .map(|(r, l)| format!("{l}: {}", r.map_or("—".into(), |r| format!("{r:.2}"))))
            .collect::<Vec<_>>()
            .join(", ")
            + &format!(" (need ≥ {min})")
    };
    writeln!(
        md,
        "\n### Targets (judged at {top_level} in flight; every level shown)\n"
    )?;
    writeln!(md, "| target | measured | verdict |\n|---|---|---|")?;
    let jwt_p99 = get(JWT_E.0, JWT_E.1, top_level).and_then(|v| v["p99_us"].as_f64());
    writeln!(
        md,
        "| ValidateToken(JWT EdDSA, distinct) ≥ 35 % of Health/Check | {} | {} |",
        all(&r_jwt_health, 0.35),
        ratio_verdict(&r_jwt_health, 0.35)
    )?;
    writeln!(
        md,
        "| ValidateToken(JWT EdDSA) p99 < 2 ms at 64 | {} | {} |",
        jwt_p99.map_or("—".into(), |p| format!("{:.2} ms", p / 1000.0)),
        verdict(jwt_p99.map(|p| p < 2000.0))
    )?;
    writeln!(
        md,
        "| ValidateToken(JWT EdDSA, repeated, verified cache) ≥ 70 % of Health/Check | {} | {} |",
        all(&r_jwt_cached, 0.7),
        ratio_verdict(&r_jwt_cached, 0.7)
    )?;
    writeln!(
        md,
        "| ValidateToken(session, distinct) ≥ 50 % of pgbench | {} | {} |",
        all(&r_sess_pgb, 0.5),
        ratio_verdict(&r_sess_pgb, 0.5)
    )?;
    writeln!(
        md,
        "| ValidateToken(session) ≥ 30× Better Auth get-session | {} | {} |",
        all(&r_sess_ba, 30.0),
        ratio_verdict(&r_sess_ba, 30.0)
    )?;
    writeln!(
        md,
        "| ValidateToken(session, repeated, session cache) ≥ 60 % of Health/Check | {} | {} |",
        all(&r_sess_cached, 0.6),
        ratio_verdict(&r_sess_cached, 0.6)
    )?;
    writeln!(
        md,
        "| GetSession ≥ 20× get-session | {} | {} |",
        all(&r_gs_ba, 20.0),
        ratio_verdict(&r_gs_ba, 20.0)
    )?;
    writeln!(
        md,
        "| IssueToken(EdDSA) ≥ 20× /token | {} | {} |",
        all(&r_iss_ba, 20.0),
        ratio_verdict(&r_iss_ba, 20.0)
    )?;
    let idle = startups
        .iter()
        .filter(|s| s["backend"] == "sqlite")
        .filter_map(|s| s["idle_rss_kib"].as_array()?.first()?.as_u64())
        .next()
        .or_else(|| {
            rss.iter()
                .find(|(l, _)| l.contains("idle"))
                .map(|(_, k)| *k)
        });
    writeln!(
        md,
        "| RSS < 20 MiB idle | {} | {} |",
        idle.map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        verdict(idle.map(|k| k < 20 * 1024))
    )?;
    let stress_peak = stress
        .iter()
        .filter(|v| v["level"].as_u64().is_some_and(|l| l >= 10_000))
        .filter_map(|v| v["rss_peak_kib"].as_u64())
        .max();
    writeln!(
        md,
        "| RSS < 100 MiB with 10 000 requests in flight | {} | {} |",
        stress_peak.map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        verdict(stress_peak.map(|k| k < 100 * 1024))
    )?;
    let start = startups
        .iter()
        .find(|s| s["backend"] == "sqlite")
        .and_then(|s| s["median_ms"].as_f64());
    writeln!(
        md,
        "| start to SERVING < 200 ms on SQLite | {} | {} |",
        start.map_or("—".into(), |m| format!("{m} ms")),
        verdict(start.map(|m| m < 200.0))
    )?;

    writeln!(md, "\n### Exact commands of every row\n")?;
    writeln!(md, "```")?;
    for ((scenario, backend), r) in &rows {
        if let Some((_, v)) = r.by_level.iter().next() {
            writeln!(md, "# {scenario} ({backend}); likewise for every level")?;
            writeln!(md, "{}", v["cmd"].as_str().unwrap_or(""))?;
        }
    }
    for v in &stress {
        writeln!(md, "# {} (memory)", v["scenario"].as_str().unwrap_or(""))?;
        writeln!(md, "{}", v["cmd"].as_str().unwrap_or(""))?;
    }
    for s in &startups {
        writeln!(
            md,
            "# start-up ({})\n{}",
            s["backend"].as_str().unwrap_or(""),
            s["cmd"].as_str().unwrap_or("")
        )?;
    }
    writeln!(md, "```")?;

    print!("{md}");
    if let Some(out) = out {
        fs::write(&out, &md)?;
    }
    Ok(())
}

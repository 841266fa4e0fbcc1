//! The load client of `scripts/bench` (harness = false): seeds Better-Auth-shaped rows, mints
//! JWTs through IssueToken, drives the service (gRPC), Better Auth (HTTP/1.1 keep-alive) and
//! pgbench at a fixed number of requests in flight, and writes the report.
//!
//! ```text
//! cargo bench --bench load -- <subcommand> …      (or the binary cargo build --release --benches makes)
//!   seed     --pg URL --sqlite URL --users N --secret S --out DIR
//!   mint     --addr URL --api-key K --user-ids FILE --out FILE [--expect-alg A]
//!   grpc     --addr URL --rpc R --creds FILE --concurrency N …   one measurement, one JSON line
//!   http     --url URL --mode M --creds FILE --concurrency N …   one measurement, one JSON line
//!   pgbench  --url URL --users N --concurrency N …               one measurement, one JSON line
//!   revocation --addrs URL,URL --pg URL --creds FILE [--rounds N]  delete→refused, per replica
//!   startup  --bin PATH --addr HOST:PORT [--runs N] -- ARGS…     start to SERVING, idle RSS
//!   rss / note                                                    one JSON line
//!   report   --results FILE --out FILE                           the tables, ratios and targets
//! ```
//!
//! Every request takes the next credential of a list (round robin over ≥ 10 000 distinct
//! users/sessions/tokens by default) and its answer is checked (`valid = true`, a session and
//! user, a compact JWT, HTTP 200 with a session…); wrong answers and errors are counted apart.

use anyhow::{anyhow, Result};
use clap::Parser;
use serde_json::json;

use crate::cli::{Cli, Cmd};
use crate::grpc::grpc;
use crate::http::http;
use crate::mint::mint;
use crate::output::{emit, vm_rss_kib};
use crate::pgbench::pgbench_run;
use crate::report::report;
use crate::revocation::revocation;
use crate::seed::seed;
use crate::startup::{startup, wait};

mod cli;
mod grpc;
mod http;
mod measure;
mod mint;
mod output;
mod pgbench;
mod report;
mod revocation;
mod seed;
mod startup;

fn main() -> Result<()> {
    // `cargo bench` appends --bench; it means nothing here.
    let args = std::env::args().filter(|a| a != "--bench");
    let cli = Cli::parse_from(args);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.cmd {
            Cmd::Seed {
                pg,
                sqlite,
                users,
                secret,
                out,
            } => seed(pg, sqlite, users, &secret, &out).await,
            Cmd::Mint {
                addr,
                api_key,
                user_ids,
                out,
                lifetime,
                expect_alg,
                limit,
            } => {
                mint(
                    &addr, &api_key, &user_ids, &out, lifetime, expect_alg, limit,
                )
                .await
            }
            Cmd::Grpc {
                addr,
                rpc,
                creds,
                api_key,
                connections,
                window,
            } => grpc(&addr, rpc, creds, &api_key, connections, window).await,
            Cmd::Http {
                url,
                mode,
                creds,
                cookie_name,
                window,
            } => http(&url, mode, &creds, &cookie_name, window).await,
            Cmd::Pgbench {
                url,
                users,
                pgbench,
                window,
            } => pgbench_run(&url, users, &pgbench, window).await,
            Cmd::Startup {
                bin,
                addr,
                runs,
                backend,
                results,
                args,
            } => startup(&bin, &addr, runs, &backend, results, &args).await,
            Cmd::Wait { addr, timeout } => wait(&addr, timeout).await,
            Cmd::Revocation {
                addrs,
                pg,
                creds,
                rounds,
                results,
            } => revocation(&addrs, &pg, &creds, rounds, &results).await,
            Cmd::Rss {
                pid,
                label,
                results,
            } => {
                let kib = vm_rss_kib(pid).ok_or_else(|| anyhow!("no VmRSS for pid {pid}"))?;
                emit(
                    &results,
                    json!({"kind": "rss", "label": label, "rss_kib": kib}),
                )
            }
            Cmd::Note {
                key,
                value,
                results,
            } => emit(
                &Some(results),
                json!({"kind": "note", "key": key, "value": value}),
            ),
            Cmd::Report { results, out } => report(&results, out),
        }
    })
}

//! `revocation`: how long after a session row's deletion commits every replica refuses it.
//! Each round warms one session on every replica (so it is cached), deletes its row as Better
//! Auth's sign-out does (`DELETE FROM "session" WHERE "token" = $1`), and polls every replica
//! until it answers invalid; the delays from the DELETE's return go into the percentiles.
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use better_auth_grpc::client::{AuthServiceClient, ValidateTokenRequest};
use futures::future::try_join_all;
use serde_json::json;
use sqlx::Connection;
use tonic::transport::Channel;

use crate::grpc::channels;
use crate::output::{emit, read_lines};

/// A replica that has not refused after this long fails the run.
const PATIENCE: Duration = Duration::from_secs(10);

pub(crate) async fn revocation(
    addrs: &[String],
    pg: &str,
    creds: &Path,
    rounds: usize,
    results: &Option<std::path::PathBuf>,
) -> Result<()> {
    let tokens = read_lines(creds)?;
    let mut clients = Vec::new();
    for a in addrs {
        clients.push(AuthServiceClient::new(channels(a, 1).await?.remove(0)));
    }
    let mut db = sqlx::PgConnection::connect(pg).await?;
    let (mut each, mut all) = (Vec::new(), Vec::new());
    for token in tokens.iter().take(rounds) {
        for c in &clients {
            for _ in 0..2 {
                if !valid(c, token).await? {
                    bail!("a session was not valid before its deletion");
                }
            }
        }
        let raw = token.split('.').next().unwrap_or(token);
        sqlx::query("DELETE FROM \"session\" WHERE \"token\" = $1")
            .bind(raw)
            .execute(&mut db)
            .await?;
        let committed = Instant::now();
        let delays = try_join_all(clients.iter().map(|c| refused(c, token, committed))).await?;
        all.push(*delays.iter().max().unwrap_or(&Duration::ZERO));
        each.extend(delays);
    }
    emit(
        results,
        json!({"kind": "revocation", "rounds": all.len(), "replicas": clients.len(),
               "each": percentiles(&mut each), "all": percentiles(&mut all)}),
    )
}

async fn valid(c: &AuthServiceClient<Channel>, token: &str) -> Result<bool> {
    let req = ValidateTokenRequest {
        token: token.to_owned(),
        ..Default::default()
    };
    Ok(c.clone().validate_token(req).await?.into_inner().valid)
}

async fn refused(c: &AuthServiceClient<Channel>, token: &str, since: Instant) -> Result<Duration> {
    while valid(c, token).await? {
        if since.elapsed() > PATIENCE {
            bail!("still valid {PATIENCE:?} after the deletion committed");
        }
    }
    Ok(since.elapsed())
}

fn percentiles(v: &mut [Duration]) -> serde_json::Value {
    v.sort();
    let at = |q: f64| {
        let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len().max(1)) - 1;
        v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    json!({"p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)})
}

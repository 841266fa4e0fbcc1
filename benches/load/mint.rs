//! `mint`: IssueToken for every user id of a file, the JWT lists.
use std::fs::{self};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use better_auth_grpc::client::{AuthServiceClient, IssueTokenRequest, Subject};
use serde_json::Value;

use crate::grpc::{channels, with_key};
use crate::output::read_lines;

pub(crate) async fn mint(
    addr: &str,
    api_key: &str,
    user_ids: &Path,
    out: &Path,
    lifetime: u32,
    expect_alg: Option<String>,
    limit: usize,
) -> Result<()> {
    let mut ids = read_lines(user_ids)?;
    if limit > 0 {
        ids.truncate(limit);
    }
    let ch = channels(addr, 1).await?.remove(0);
    let started = Instant::now();
    let mut tokens = vec![String::new(); ids.len()];
    let next = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(ids);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (ch, next, ids, key) = (ch.clone(), next.clone(), ids.clone(), api_key.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut c = AuthServiceClient::new(ch);
            let mut got = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= ids.len() {
                    return Ok::<_, anyhow::Error>(got);
                }
                let r = c
                    .issue_token(with_key(
                        IssueTokenRequest {
                            subject: Some(Subject::UserId(ids[i].clone())),
                            audience: String::new(),
                            lifetime_seconds: Some(lifetime),
                        },
                        &key,
                    ))
                    .await
                    .with_context(|| format!("IssueToken(user_id {})", ids[i]))?;
                got.push((i, r.into_inner().token));
            }
        }));
    }
    for t in tasks {
        for (i, tok) in t.await?? {
            tokens[i] = tok;
        }
    }
    if let Some(alg) = expect_alg {
        let header = tokens[0].split('.').next().unwrap_or("");
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap_or_default();
        let header: Value = serde_json::from_slice(&header)?;
        if header["alg"] != alg.as_str() {
            bail!("minted tokens are {}, expected {alg}", header["alg"]);
        }
    }
    let mut text = tokens.join("\n");
    text.push('\n');
    fs::write(out, text)?;
    eprintln!(
        "mint: {} JWTs in {:?} -> {}",
        tokens.len(),
        started.elapsed(),
        out.display()
    );
    Ok(())
}

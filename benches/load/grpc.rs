//! `grpc`: one measurement of an RPC, each answer checked; the channels the clients share.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use better_auth_grpc::client::{
    AuthServiceClient, CredentialKind, GetSessionRequest, IssueTokenRequest, Subject,
    ValidateTokenRequest,
};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::cli::{Rpc, Window};
use crate::measure::{cmdline, measure};
use crate::output::read_lines;

pub(crate) async fn channels(addr: &str, n: usize) -> Result<Vec<Channel>> {
    let mut out = Vec::new();
    for _ in 0..n.max(1) {
        // Each connect() is its own HTTP/2 connection.
        let ch = Endpoint::from_shared(addr.to_owned())?
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("connect {addr}"))?;
        out.push(ch);
    }
    Ok(out)
}

pub(crate) fn with_key<T>(msg: T, api_key: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if !api_key.is_empty() {
        if let Ok(v) = api_key.parse() {
            r.metadata_mut().insert("x-api-key", v);
        }
    }
    r
}

fn is_compact_jwt(t: &str) -> bool {
    t.split('.').count() == 3 && t.starts_with("ey")
}

pub(crate) async fn grpc(
    addr: &str,
    rpc: Rpc,
    creds: Option<PathBuf>,
    api_key: &str,
    connections: usize,
    w: Window,
) -> Result<()> {
    let creds = Arc::new(match &creds {
        Some(p) => read_lines(p)?,
        None if rpc == Rpc::Health => vec![String::new()],
        None => bail!("--creds is required for {rpc:?}"),
    });
    let chans = Arc::new(channels(addr, connections).await?);
    let key: Arc<str> = api_key.into();
    let n = creds.len();
    measure(&w, n, format!("load {}", cmdline()), move |worker, i| {
        let ch = chans[worker % chans.len()].clone();
        let cred = creds[i].clone();
        let key = key.clone();
        async move { grpc_one(rpc, ch, cred, &key).await }
    })
    .await
}

/// One call and the check of its answer: (outcome, was it a transport/status error).
async fn grpc_one(rpc: Rpc, ch: Channel, cred: String, key: &str) -> (Result<(), String>, bool) {
    let status = |s: tonic::Status| (Err(format!("{:?}: {}", s.code(), s.message())), true);
    match rpc {
        Rpc::Health => {
            match HealthClient::new(ch)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
            {
                Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => (Ok(()), false),
                Ok(r) => (Err(format!("health status {}", r.get_ref().status)), false),
                Err(s) => status(s),
            }
        }
        Rpc::ValidateJwt | Rpc::ValidateSession => {
            let want = if rpc == Rpc::ValidateJwt {
                CredentialKind::Jwt
            } else {
                CredentialKind::Unspecified // any session form
            };
            match AuthServiceClient::new(ch)
                .validate_token(ValidateTokenRequest {
                    token: cred,
                    audience: String::new(),
                })
                .await
            {
                Ok(r) => {
                    let r = r.into_inner();
                    let kind_ok = match want {
                        CredentialKind::Jwt => r.kind == CredentialKind::Jwt as i32,
                        _ => r.kind != CredentialKind::Jwt as i32 && r.session.is_some(),
                    };
                    if r.valid && kind_ok && r.user.as_ref().is_some_and(|u| !u.id.is_empty())
                        || (r.valid && kind_ok && want == CredentialKind::Jwt && r.claims.is_some())
                    {
                        (Ok(()), false)
                    } else {
                        (
                            Err(format!(
                                "valid={} reason={} kind={} message={}",
                                r.valid, r.reason, r.kind, r.message
                            )),
                            false,
                        )
                    }
                }
                Err(s) => status(s),
            }
        }
        Rpc::GetSession => match AuthServiceClient::new(ch)
            .get_session(GetSessionRequest {
                token: cred,
                disable_refresh: false,
            })
            .await
        {
            Ok(r) => {
                let r = r.into_inner();
                if r.session.is_some() && r.user.is_some() {
                    (Ok(()), false)
                } else {
                    (Err("no session/user in the answer".into()), false)
                }
            }
            Err(s) => status(s),
        },
        Rpc::IssueSession | Rpc::IssueUser => {
            let subject = if rpc == Rpc::IssueSession {
                Subject::SessionToken(cred)
            } else {
                Subject::UserId(cred)
            };
            match AuthServiceClient::new(ch)
                .issue_token(with_key(
                    IssueTokenRequest {
                        subject: Some(subject),
                        audience: String::new(),
                        lifetime_seconds: None,
                    },
                    key,
                ))
                .await
            {
                Ok(r) if is_compact_jwt(&r.get_ref().token) => (Ok(()), false),
                Ok(_) => (Err("not a compact JWT".into()), false),
                Err(s) => status(s),
            }
        }
    }
}

//! The three RPCs, recording every status and refusal the server answers.
use better_auth_grpc::proto::auth::v1::{
    self as pb, auth_service_client::AuthServiceClient, issue_token_request::Subject,
};
use tonic::{transport::Channel, Code, Request, Status};

use super::{grep::Seen, API_KEY};

/// The caller's API key, as IssueToken metadata.
pub const KEY: Option<(&str, &str)> = Some(("x-api-key", API_KEY));

pub async fn validate(
    c: &mut AuthServiceClient<Channel>,
    seen: &mut Seen,
    what: &str,
    token: &str,
    audience: &str,
) -> Result<pb::ValidateTokenResponse, Status> {
    let mut req = Request::new(pb::ValidateTokenRequest {
        token: token.to_owned(),
        audience: audience.to_owned(),
    });
    // A caller that sends its API key everywhere: it must not be logged here either.
    req.metadata_mut()
        .insert("x-api-key", API_KEY.parse().unwrap());
    match c.validate_token(req).await {
        Ok(r) => {
            let r = r.into_inner();
            if !r.valid {
                seen.refusal(what, &r);
            } else {
                assert!(r.message.is_empty(), "{what}: {r:?}");
            }
            Ok(r)
        }
        Err(s) => {
            seen.status(what, &s);
            Err(s)
        }
    }
}

pub async fn get_session(
    c: &mut AuthServiceClient<Channel>,
    seen: &mut Seen,
    what: &str,
    token: &str,
) -> Result<pb::GetSessionResponse, Status> {
    let r = c
        .get_session(pb::GetSessionRequest {
            token: token.to_owned(),
            disable_refresh: false,
        })
        .await;
    r.map(|r| r.into_inner())
        .inspect_err(|s| seen.status(what, s))
}

pub async fn issue(
    c: &mut AuthServiceClient<Channel>,
    seen: &mut Seen,
    what: &str,
    key: Option<(&'static str, &str)>,
    subject: Option<Subject>,
    audience: &str,
    lifetime: Option<u32>,
) -> Result<pb::IssueTokenResponse, Status> {
    let mut req = Request::new(pb::IssueTokenRequest {
        subject,
        audience: audience.to_owned(),
        lifetime_seconds: lifetime,
    });
    if let Some((name, value)) = key {
        req.metadata_mut()
            .insert(name, value.parse().expect("ASCII metadata"));
    }
    c.issue_token(req)
        .await
        .map(|r| r.into_inner())
        .inspect_err(|s| seen.status(what, s))
}

/// An IssueToken call that must fail: label, metadata key, subject, audience, lifetime, code.
pub type Denied<'a> = (
    &'a str,
    Option<(&'static str, &'a str)>,
    Option<Subject>,
    &'a str,
    Option<u32>,
    Code,
);

pub fn reason(r: &Result<pb::ValidateTokenResponse, Status>) -> pb::Reason {
    match r {
        Ok(r) => r.reason(),
        Err(s) => panic!("ValidateToken failed: {s:?}"),
    }
}

pub fn is_valid(r: &Result<pb::ValidateTokenResponse, Status>) -> bool {
    matches!(r, Ok(r) if r.valid)
}

//! Thin handlers: read the request, ask the domain, convert the answer.
use std::{future::Future, time::Duration};

use tonic::{Request, Response, Status};

use super::watch::{self, EventStream};
use super::{convert, metrics, status};
use crate::auth::{
    callers::{Caller, Callers},
    credential::CredentialKind,
    error::AuthError,
    feed::Feed,
    issue::{IssueRequest, Subject, TokenService},
    validate::{Authenticator, Verified},
};
use crate::proto::auth::v1::{self as pb, auth_service_server::AuthService};
use crate::store::StoreError;
use crate::token::IssuedJwt;

pub struct AuthGrpc {
    auth: Authenticator,
    feed: Feed,
    tokens: Option<TokenService>,
    callers: Callers,
    /// Upper bound for the database work of one call.
    db_timeout: Duration,
}

impl AuthGrpc {
    pub fn new(
        auth: Authenticator,
        feed: Feed,
        tokens: Option<TokenService>,
        callers: Callers,
        db_timeout: Duration,
    ) -> Self {
        Self {
            auth,
            feed,
            tokens,
            callers,
            db_timeout,
        }
    }

    /// What ends the WatchSessions streams when the server drains.
    pub fn feed(&self) -> Feed {
        self.feed.clone()
    }

    /// The calling service: by its `x-api-key` metadata when it sends one, else by the
    /// client certificate it presented under mutual TLS.
    fn caller<T>(&self, request: &Request<T>) -> Result<&Caller, AuthError> {
        let key = request
            .metadata()
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .filter(|k| !k.is_empty());
        if let Some(key) = key {
            return self
                .callers
                .authenticate(key)
                .ok_or(AuthError::ApiKeyUnknown);
        }
        let certs = request.peer_certs();
        match certs.as_deref().and_then(|c| c.first()) {
            Some(leaf) => self
                .callers
                .by_certificate(leaf)
                .ok_or(AuthError::CertificateUnknown),
            None => Err(AuthError::CallerMissing),
        }
    }

    /// IssueToken's checks in their order: the caller, then issuing configured, then the request.
    async fn issue(
        &self,
        caller: &Caller,
        request: Request<pb::IssueTokenRequest>,
    ) -> Result<IssuedJwt, AuthError> {
        let tokens = self.tokens.as_ref().ok_or(AuthError::NotConfigured)?;
        let deadline = caller_deadline(request.metadata());
        let req = request.into_inner();
        let issue = IssueRequest {
            caller,
            subject: subject(req.subject)?,
            audience: Some(req.audience).filter(|a| !a.is_empty()),
            lifetime: req
                .lifetime_seconds
                .map(|s| Duration::from_secs(u64::from(s))),
        };
        let issued = self.bounded(deadline, tokens.issue(issue)).await?;
        tracing::debug!(caller = %caller.name, kid = %issued.kid, "issued a JWT");
        Ok(issued)
    }

    /// A database that hangs answers UNAVAILABLE instead of holding the caller: the work is
    /// bounded by `db_timeout`, and by the caller's own deadline when it sent one.
    async fn bounded<T>(
        &self,
        caller: Option<Duration>,
        fut: impl Future<Output = Result<T, AuthError>>,
    ) -> Result<T, AuthError> {
        let limit = caller.map_or(self.db_timeout, |c| c.min(self.db_timeout));
        tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
            metrics::deadline_cut();
            Err(AuthError::Store(StoreError::Unavailable(
                "database call timed out".into(),
            )))
        })
    }
}

/// The caller's `grpc-timeout`, less a margin so our UNAVAILABLE reaches it before its deadline.
fn caller_deadline(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let v = metadata.get("grpc-timeout")?.to_str().ok()?;
    super::limits::parse_grpc_timeout(v).map(|d| d.mul_f64(0.9))
}

#[tonic::async_trait]
impl AuthService for AuthGrpc {
    type WatchSessionsStream = EventStream;

    async fn watch_sessions(
        &self,
        _request: Request<pb::WatchSessionsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        Ok(Response::new(watch::events(&self.feed)))
    }

    async fn validate_token(
        &self,
        request: Request<pb::ValidateTokenRequest>,
    ) -> Result<Response<pb::ValidateTokenResponse>, Status> {
        let deadline = caller_deadline(request.metadata());
        let req = request.into_inner();
        let audience = Some(req.audience.as_str()).filter(|a| !a.is_empty());
        let reply = match self
            .bounded(deadline, self.auth.validate(&req.token, audience))
            .await
        {
            Ok(v) => valid(v),
            Err(AuthError::Refused { kind, reason }) => {
                tracing::debug!(%reason, ?kind, "credential refused");
                metrics::validation(kind, Some(reason));
                pb::ValidateTokenResponse {
                    valid: false,
                    reason: convert::reason(reason) as i32,
                    kind: kind.map_or(0, |k| convert::kind(k) as i32),
                    message: convert::describe(reason).into(),
                    ..Default::default()
                }
            }
            Err(e) => return Err(status::auth(&e)),
        };
        Ok(Response::new(reply))
    }

    async fn issue_token(
        &self,
        request: Request<pb::IssueTokenRequest>,
    ) -> Result<Response<pb::IssueTokenResponse>, Status> {
        let (name, issued) = match self.caller(&request) {
            Ok(caller) => (
                Some(caller.name.as_str()),
                self.issue(caller, request).await,
            ),
            Err(e) => (None, Err(e)),
        };
        let issued = issued.map_err(|e| status::auth(&e));
        metrics::issue(name, issued.as_ref().err().map(Status::code));
        let issued = issued?;
        Ok(Response::new(pb::IssueTokenResponse {
            token: issued.token,
            kid: issued.kid,
            expires_at: Some(convert::timestamp(&issued.expires_at)),
        }))
    }

    async fn get_session(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::GetSessionResponse>, Status> {
        let deadline = caller_deadline(request.metadata());
        let req = request.into_inner();
        let found = self
            .bounded(
                deadline,
                self.auth.get_session(&req.token, req.disable_refresh),
            )
            .await
            .map_err(|e| status::auth(&e))?;
        Ok(Response::new(pb::GetSessionResponse {
            session: Some(convert::session(&found.session)),
            user: Some(convert::user(&found.user)),
        }))
    }
}

fn subject(s: Option<pb::issue_token_request::Subject>) -> Result<Subject, AuthError> {
    match s {
        Some(pb::issue_token_request::Subject::SessionToken(t)) => Ok(Subject::Session(t)),
        Some(pb::issue_token_request::Subject::UserId(id)) => Ok(Subject::UserId(id)),
        None => Err(AuthError::SubjectMissing),
    }
}

fn valid(v: Verified) -> pb::ValidateTokenResponse {
    let kind = match &v {
        Verified::Session { kind, .. } => *kind,
        Verified::Jwt { .. } => CredentialKind::Jwt,
    };
    metrics::validation(Some(kind), None);
    match v {
        Verified::Session { kind, found } => pb::ValidateTokenResponse {
            valid: true,
            kind: convert::kind(kind) as i32,
            user: Some(convert::user(&found.user)),
            expires_at: Some(convert::timestamp(&found.session.expires_at)),
            session: Some(convert::session(&found.session)),
            ..Default::default()
        },
        Verified::Jwt { jwt, user } => pb::ValidateTokenResponse {
            valid: true,
            kind: pb::CredentialKind::Jwt as i32,
            user: Some(match &user {
                Some(u) => convert::user(u),
                None => convert::user_from_claims(&jwt.sub, &jwt.claims),
            }),
            expires_at: Some(prost_types::Timestamp {
                seconds: jwt.exp,
                nanos: 0,
            }),
            claims: Some(convert::json_struct(jwt.claims.iter())),
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(v: &str) -> tonic::metadata::MetadataMap {
        let mut m = tonic::metadata::MetadataMap::new();
        m.insert("grpc-timeout", v.parse().unwrap());
        m
    }

    #[test]
    fn grpc_timeout_is_parsed_with_a_margin() {
        assert_eq!(
            caller_deadline(&md("1000m")),
            Some(Duration::from_millis(900))
        );
        assert_eq!(
            caller_deadline(&md("2S")),
            Some(Duration::from_millis(1800))
        );
        assert_eq!(caller_deadline(&md("x")), None);
        assert_eq!(caller_deadline(&md("")), None);
        assert_eq!(caller_deadline(&tonic::metadata::MetadataMap::new()), None);
    }
}

//! Thin handlers: read the request, ask the domain, convert the answer.
use std::{future::Future, time::Duration};

use tonic::{Request, Response, Status};

use super::{convert, status};
use crate::auth::{
    error::AuthError,
    validate::{Authenticator, Verified},
};
use crate::proto::auth::v1::{self as pb, auth_service_server::AuthService};
use crate::store::StoreError;

pub struct AuthGrpc {
    auth: Authenticator,
    /// Upper bound for the database work of one call.
    db_timeout: Duration,
}

impl AuthGrpc {
    pub fn new(auth: Authenticator, db_timeout: Duration) -> Self {
        Self { auth, db_timeout }
    }

    /// A database that hangs answers UNAVAILABLE instead of holding the caller.
    async fn bounded<T>(
        &self,
        fut: impl Future<Output = Result<T, AuthError>>,
    ) -> Result<T, AuthError> {
        tokio::time::timeout(self.db_timeout, fut)
            .await
            .unwrap_or_else(|_| {
                Err(AuthError::Store(StoreError::Unavailable(
                    "database call timed out".into(),
                )))
            })
    }
}

#[tonic::async_trait]
impl AuthService for AuthGrpc {
    async fn validate_token(
        &self,
        request: Request<pb::ValidateTokenRequest>,
    ) -> Result<Response<pb::ValidateTokenResponse>, Status> {
        let req = request.into_inner();
        let reply = match self.bounded(self.auth.validate(&req.token)).await {
            Ok(v) => valid(v),
            Err(AuthError::Refused { kind, reason }) => {
                tracing::debug!(%reason, ?kind, "credential refused");
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
        _request: Request<pb::IssueTokenRequest>,
    ) -> Result<Response<pb::IssueTokenResponse>, Status> {
        Err(Status::unimplemented(
            "IssueToken is not implemented yet in this release: JWT issuing arrives with the jwt plugin support",
        ))
    }

    async fn get_session(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::GetSessionResponse>, Status> {
        let req = request.into_inner();
        let found = self
            .bounded(self.auth.get_session(&req.token, req.disable_refresh))
            .await
            .map_err(|e| status::auth(&e))?;
        Ok(Response::new(pb::GetSessionResponse {
            session: Some(convert::session(&found.session)),
            user: Some(convert::user(&found.user)),
        }))
    }
}

fn valid(v: Verified) -> pb::ValidateTokenResponse {
    match v {
        Verified::Session { kind, found } => pb::ValidateTokenResponse {
            valid: true,
            kind: convert::kind(kind) as i32,
            user: Some(convert::user(&found.user)),
            expires_at: Some(convert::timestamp(&found.session.expires_at)),
            session: Some(convert::session(&found.session)),
            ..Default::default()
        },
    }
}

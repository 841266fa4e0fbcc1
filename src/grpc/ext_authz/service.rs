//! The thin handler: read the proxied request, ask the gatekeeper, answer Envoy.
use tonic::{Request, Response, Status};

use super::pb::envoy::service::auth::v3::{
    authorization_server::Authorization, CheckRequest, CheckResponse,
};
use super::{request, response};
use crate::auth::gateway::{Gatekeeper, GatewayRequest, IdentityHeaders};
use crate::grpc::status;

pub struct ExtAuthz {
    gate: Gatekeeper,
    names: IdentityHeaders,
}

impl ExtAuthz {
    pub fn new(gate: Gatekeeper, names: IdentityHeaders) -> Self {
        Self { gate, names }
    }
}

#[tonic::async_trait]
impl Authorization for ExtAuthz {
    /// A decision is an OK rpc; a database that cannot answer is an error status, which Envoy
    /// turns into a 403 (or lets through, if the operator set `failure_mode_allow`).
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let proxied = request::proxied(request.get_ref());
        let decision = self
            .gate
            .check(GatewayRequest {
                method: &proxied.method,
                uri: &proxied.path,
                authorization: proxied.authorization.as_deref(),
                cookie: proxied.cookie.as_deref(),
            })
            .await
            .map_err(|e| status::auth(&e))?;
        if let Some(d) = decision.denial() {
            tracing::debug!(reason = d.reason, status = d.status, "gateway: denied");
        }
        Ok(Response::new(response::check_response(
            &decision,
            &self.names,
        )))
    }
}

//! A gateway decision as Envoy's `CheckResponse`.
use prost_types::{value::Kind, Struct, Value};

use super::pb::envoy::config::core::v3::{
    header_value_option::HeaderAppendAction, HeaderValue, HeaderValueOption,
};
use super::pb::envoy::r#type::v3::HttpStatus;
use super::pb::envoy::service::auth::v3::{
    check_response::HttpResponse, CheckResponse, DeniedHttpResponse, OkHttpResponse,
};
use super::pb::google::rpc;
use crate::auth::gateway::{Decision, Denial, IdentityHeaders, Principal};

pub fn check_response(decision: &Decision, names: &IdentityHeaders) -> CheckResponse {
    match decision.denial() {
        Some(denial) => denied(&denial),
        None => allowed(decision, names),
    }
}

fn allowed(decision: &Decision, names: &IdentityHeaders) -> CheckResponse {
    let upstream = decision.upstream(names);
    let principal = match decision {
        Decision::Allow { principal, .. } => principal.as_ref(),
        _ => None,
    };
    CheckResponse {
        status: Some(rpc::Status::default()),
        http_response: Some(HttpResponse::OkResponse(OkHttpResponse {
            // Overwrite, so a client's own value of one of these never passes.
            headers: upstream.set.iter().map(|(k, v)| header(k, v)).collect(),
            headers_to_remove: upstream.remove,
            ..Default::default()
        })),
        dynamic_metadata: principal.map(metadata),
    }
}

fn denied(denial: &Denial) -> CheckResponse {
    let code = match denial.status {
        401 => tonic::Code::Unauthenticated,
        _ => tonic::Code::PermissionDenied,
    };
    let mut headers = vec![header("content-type", "application/json")];
    if let Some(w) = denial.www_authenticate {
        headers.push(header("www-authenticate", w));
    }
    CheckResponse {
        status: Some(rpc::Status {
            code: code as i32,
            message: denial.reason.into(),
            details: vec![],
        }),
        http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
            status: Some(HttpStatus {
                code: i32::from(denial.status),
            }),
            headers,
            body: denial.body(),
        })),
        dynamic_metadata: None,
    }
}

fn header(key: &str, value: &str) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.into(),
            value: value.into(),
            ..Default::default()
        }),
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
        ..Default::default()
    }
}

/// The principal for later filters (`envoy.filters.http.ext_authz` namespace).
fn metadata(p: &Principal) -> Struct {
    let text = |s: &str| Value {
        kind: Some(Kind::StringValue(s.to_owned())),
    };
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("user_id".to_owned(), text(&p.user_id));
    fields.insert("user_email".to_owned(), text(&p.email));
    fields.insert("user_name".to_owned(), text(&p.name));
    if let Some(s) = &p.session_id {
        fields.insert("session_id".to_owned(), text(s));
    }
    Struct { fields }
}

//! Traces as a collector receives them: the real binary with the standard `OTEL_*` variables,
//! a real OTLP receiver (`TraceService/Export` from the official opentelemetry-proto
//! definitions) in the test, a call carrying the caller's `traceparent`, and the spans checked:
//! their parent, the database span under the RPC span, and no credential anywhere in them.
mod common;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use better_auth_grpc::client::{AuthServiceClient, ValidateTokenRequest};
use common::process::{self, Running};
use opentelemetry_proto::tonic::collector::trace::v1::{
    trace_service_server::{TraceService, TraceServiceServer},
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio_stream::wrappers::TcpListenerStream;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut got = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        got.push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Receiver {
    fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn spans(&self) -> Vec<Span> {
        let requests = self.requests();
        let resource_spans = requests.iter().flat_map(|r| &r.resource_spans);
        let scope_spans = resource_spans.flat_map(|r| &r.scope_spans);
        scope_spans.flat_map(|s| s.spans.clone()).collect()
    }
}

async fn start_receiver() -> (Receiver, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let receiver = Receiver::default();
    let service = TraceServiceServer::new(receiver.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    (receiver, addr)
}

/// The embedded default exporting to `collector`: (process, gRPC address, demo token).
fn start_service(dir: &std::path::Path, collector: SocketAddr) -> (Running, SocketAddr, String) {
    let mut c = process::command(dir);
    c.args(["--listen-addr", "127.0.0.1:0"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"))
        .env("OTEL_SERVICE_NAME", "auth-under-test")
        .env("OTEL_TRACES_SAMPLER", "parentbased_always_on")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100");
    let mut running = Running::spawn(c);
    let addr = running.serving(Duration::from_secs(60));
    let token = running.wait_for(Duration::from_secs(10), |out, _| {
        let line = out.lines().find(|l| l.starts_with("session token:"))?;
        Some(line.trim_start_matches("session token:").trim().to_owned())
    });
    (running, addr, token)
}

async fn validate_with_traceparent(addr: SocketAddr, token: &str) {
    let mut client = AuthServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let mut request = tonic::Request::new(ValidateTokenRequest {
        token: token.into(),
        ..Default::default()
    });
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().expect("ascii"));
    let answer = client.validate_token(request).await.expect("answer");
    assert!(answer.into_inner().valid);
}

/// Waits until a span named `name` has arrived.
async fn span_named(receiver: &Receiver, name: &str) -> Span {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Some(s) = receiver.spans().into_iter().find(|s| s.name == name) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let names: Vec<_> = receiver.spans().into_iter().map(|s| s.name).collect();
    panic!("no span {name:?} within 30 s; got {names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_and_database_spans_continue_the_callers_trace_without_credentials() {
    let (receiver, collector) = start_receiver().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (service, addr, token) = start_service(dir.path(), collector);
    validate_with_traceparent(addr, &token).await;

    let rpc = span_named(&receiver, "auth.v1.AuthService/ValidateToken").await;
    assert_eq!(hex::encode(&rpc.trace_id), TRACE_ID);
    assert_eq!(hex::encode(&rpc.parent_span_id), PARENT_ID);
    assert_eq!(rpc.kind, 2, "SPAN_KIND_SERVER");
    let db = span_named(&receiver, "find_session").await;
    assert_eq!(db.trace_id, rpc.trace_id);
    assert_eq!(
        db.parent_span_id, rpc.span_id,
        "the database span is the RPC's child"
    );

    let ended = service.terminate(Duration::from_secs(15));
    assert!(ended.status.success(), "{}", ended.stderr);
    let everything = format!("{:?}", receiver.requests());
    assert!(
        everything.contains("auth-under-test"),
        "OTEL_SERVICE_NAME is the resource's service.name"
    );
    assert!(
        !everything.contains(&token),
        "a span holds the session token"
    );
}

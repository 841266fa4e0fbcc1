//! A Rust service asking better-auth-grpc who a credential belongs to.
//!
//! ```sh
//! cargo run --example validate_token -- http://127.0.0.1:50051 '<token, cookie header or JWT>'
//! ```
use std::time::Duration;

use better_auth_grpc::client::{AuthServiceClient, Reason, ValidateTokenRequest};
use tonic::Request;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(token)) = (args.next(), args.next()) else {
        eprintln!("usage: validate_token <http://host:port> <credential>");
        std::process::exit(2);
    };
    // One channel per process: it multiplexes every call over one HTTP/2 connection.
    let mut client = AuthServiceClient::connect(addr).await?;
    let mut request = Request::new(ValidateTokenRequest {
        token,
        ..Default::default()
    });
    request.set_timeout(Duration::from_secs(2));
    let reply = client.validate_token(request).await?.into_inner();
    if reply.valid {
        let kind = reply.kind();
        let user = reply.user.unwrap_or_default();
        println!("valid: user {} <{}> ({kind:?})", user.id, user.email);
    } else {
        println!(
            "refused: {:?} ({})",
            Reason::try_from(reply.reason).unwrap_or(Reason::Unspecified),
            reply.message
        );
        std::process::exit(1);
    }
    Ok(())
}

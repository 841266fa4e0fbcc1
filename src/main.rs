use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let started = match better_auth_grpc::cli::Cli::parse_layered() {
        Ok(cli) => better_auth_grpc::app::main(cli).await,
        Err(e) => Err(e.into()),
    };
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

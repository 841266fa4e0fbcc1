use std::process::ExitCode;

/// mimalloc: every call allocates and frees small buffers; glibc's malloc cost 10–20 % more CPU
/// per call (docs/BENCHMARKS.md, "Answers in fewer writes, and mimalloc").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

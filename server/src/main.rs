//! `anomalyforge-server`: reads the configuration, starts the server, stops on SIGINT/SIGTERM.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match anomalyforge::config::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("anomalyforge-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    anomalyforge::telemetry::init(&config.log_format);
    match server::run(config, server::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "server stopped with an error");
            eprintln!("anomalyforge-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! `sample-app`: the sample app as a server.
//!
//! Environment: `LOGTO_ENDPOINT`, `LOGTO_APP_ID`, `LOGTO_APP_SECRET` (the Logto tenant and
//! app), `LOGTO_SCOPES` and `LOGTO_RESOURCES` (space- or comma-separated), `BASE_URL` (default
//! `http://localhost:{PORT}`), `PORT` (default 3000). It listens on 127.0.0.1 only.
//!
//! With no `LOGTO_ENDPOINT` (and the default `demo` feature) it starts the mock Logto and fake
//! Postmark in-process with the fixture tenant: `cargo run -p sample-app` is the whole demo.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use sample_app::logto::LogtoConfig;
use sample_app::{AppState, Config};

const DEFAULT_PORT: u16 = 3000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sample-app: {error}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error>;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn list(name: &str) -> Vec<String> {
    env(name)
        .map(|v| {
            v.split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

async fn run() -> Result<(), BoxError> {
    let port = match env("PORT") {
        Some(port) => port
            .parse::<u16>()
            .map_err(|e| format!("PORT={port}: {e}"))?,
        None => DEFAULT_PORT,
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let port = listener.local_addr()?.port();
    let base_url = env("BASE_URL")
        .unwrap_or_else(|| format!("http://localhost:{port}"))
        .trim_end_matches('/')
        .to_owned();

    // Kept alive until the server stops; dropping it stops the mock.
    let (logto, _demo) = match env("LOGTO_ENDPOINT") {
        Some(endpoint) => {
            let app_id = env("LOGTO_APP_ID").ok_or("LOGTO_APP_ID is not set")?;
            let mut config = LogtoConfig::new(endpoint, app_id, env("LOGTO_APP_SECRET"));
            config.scopes = list("LOGTO_SCOPES");
            config.resources = list("LOGTO_RESOURCES");
            (config, None)
        }
        None => demo::start(&base_url).await?,
    };
    println!("sample app      {base_url}");
    println!("  Logto         {}", logto.endpoint);
    println!("  app id        {}", logto.app_id);
    let state = AppState::new(Config { base_url, logto })?;
    axum::serve(listener, sample_app::app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

#[cfg(feature = "demo")]
mod demo {
    use mock_idp::MockIdp;
    use sample_app::logto::LogtoConfig;

    use super::{BoxError, list};

    /// Starts the mock Logto (port 3001) and fake Postmark (3002) with the fixture tenant and
    /// returns the sample app's config for it.
    pub async fn start(base_url: &str) -> Result<(LogtoConfig, Option<MockIdp>), BoxError> {
        let idp = MockIdp::builder()
            .port(MockIdp::DEFAULT_PORT)
            .postmark_port(mock_idp::postmark::DEFAULT_PORT)
            .redirect_uri(format!("{base_url}/callback"))
            .post_logout_redirect_uri(format!("{base_url}/"))
            .start()
            .await
            .map_err(|e| {
                format!(
                    "cannot start the mock Logto on 127.0.0.1:{} and its fake Postmark on \
                     127.0.0.1:{} (the demo's fixed ports): {e}",
                    MockIdp::DEFAULT_PORT,
                    mock_idp::postmark::DEFAULT_PORT
                )
            })?;
        let client = idp.client();
        let mut config = LogtoConfig::new(
            idp.base_url(),
            client.id.clone(),
            Some(client.secret.clone()),
        );
        config.scopes = match list("LOGTO_SCOPES") {
            scopes if scopes.is_empty() => [
                "email",
                "read:messages",
                "roles",
                "urn:logto:scope:organizations",
                "urn:logto:scope:organization_roles",
            ]
            .map(String::from)
            .to_vec(),
            scopes => scopes,
        };
        config.resources = match list("LOGTO_RESOURCES") {
            resources if resources.is_empty() => idp
                .tenant()
                .resources
                .iter()
                // The Management API is for machine-to-machine apps, not for users' sign-ins.
                .filter(|r| r.indicator != MockIdp::MANAGEMENT_API)
                .map(|r| r.indicator.clone())
                .collect(),
            resources => resources,
        };
        println!("No LOGTO_ENDPOINT: running the mock Logto in-process (Ctrl-C stops everything)");
        println!("  issuer        {}", idp.issuer());
        if let Some(postmark) = idp.postmark() {
            println!(
                "  inbox         {}   (the verification codes land here)",
                postmark.inbox_url()
            );
        }
        println!(
            "  users         alice@example.com (password alice-Secret-1), bob@example.com \
             (bob-Secret-1), or sign up with any address"
        );
        Ok((config, Some(idp)))
    }
}

#[cfg(not(feature = "demo"))]
mod demo {
    use sample_app::logto::LogtoConfig;

    use super::BoxError;

    /// Without the `demo` feature there is no mock to start.
    pub async fn start(_base_url: &str) -> Result<(LogtoConfig, Option<()>), BoxError> {
        Err("LOGTO_ENDPOINT is not set (and this build has no `demo` feature to run the mock Logto)".into())
    }
}

//! `mock-idp`: run the fake Postmark (and, later, the mock Logto) as a standalone server.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mock_idp::FakePostmark;
use mock_idp::postmark::DEFAULT_PORT;

#[derive(Parser)]
#[command(
    name = "mock-idp",
    version,
    about = "An offline Logto + Postmark for tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the fake Postmark API alone.
    Postmark(PostmarkArgs),
}

#[derive(clap::Args)]
struct PostmarkArgs {
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Server token to accept (repeat for several; default: the fixture's token).
    #[arg(long = "server-token", value_name = "TOKEN")]
    server_tokens: Vec<String>,
    /// Seed of the generator behind MessageIDs.
    #[arg(long, default_value_t = mock_idp::DEFAULT_SEED)]
    seed: u64,
    /// Require From to be one of these sender signatures (an address, or @domain).
    #[arg(long = "sender-signature", value_name = "ADDRESS_OR_@DOMAIN")]
    sender_signatures: Vec<String>,
    /// Treat this recipient as inactive (sends to it fail with ErrorCode 406).
    #[arg(long = "suppress", value_name = "ADDRESS")]
    suppressed: Vec<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Postmark(args) => run_postmark(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-idp: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_postmark(args: PostmarkArgs) -> std::io::Result<()> {
    // Registered before anything is printed, so a Ctrl-C right after the banner is never lost.
    let stop = StopSignal::register()?;
    let mut builder = FakePostmark::builder()
        .bind(SocketAddr::new(args.bind, args.port))
        .seed(args.seed);
    for token in args.server_tokens {
        builder = builder.server_token(token);
    }
    for signature in args.sender_signatures {
        builder = builder.sender_signature(signature);
    }
    for address in args.suppressed {
        builder = builder.suppress(address);
    }
    let postmark = builder.start().await?;
    println!("fake Postmark is running (Ctrl-C stops it)");
    println!("  API          {}", postmark.base_url());
    println!("  inbox        {}", postmark.inbox_url());
    println!(
        "  wait API     {}/_inbox/wait?to=ADDRESS&after=SEQ",
        postmark.base_url()
    );
    println!("  server token {}", postmark.server_tokens().join(", "));
    println!("  seed         {}", postmark.seed());
    println!(
        "  try          curl -X POST {}/email -H 'X-Postmark-Server-Token: {}' \
         -H 'Content-Type: application/json' \
         -d '{{\"From\":\"app@example.com\",\"To\":\"alice@example.com\",\"TextBody\":\"Code: 123456\"}}'",
        postmark.base_url(),
        postmark.server_token()
    );
    stop.recv().await;
    drop(postmark);
    println!("stopped");
    Ok(())
}

/// Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `docker stop` and process managers send).
struct StopSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn register() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    #[cfg_attr(not(unix), allow(unused_mut))]
    async fn recv(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

//! `mock-idp`: run the mock Logto (with its fake Postmark), or the fake Postmark alone, or
//! drive a running mock Logto's control plane (`mock-idp ctl`, in [`ctl`]).

mod ctl;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mock_idp::postmark::DEFAULT_PORT;
use mock_idp::tenant::Tenant;
use mock_idp::{FakePostmark, MockIdp, Scenario, SigningAlg};

#[derive(Parser)]
#[command(
    name = "mock-idp",
    version,
    about = "An offline Logto (OIDC + email codes) and Postmark for tests",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the mock Logto with its fake Postmark (the default).
    Serve(ServeArgs),
    /// Run the fake Postmark API alone.
    Postmark(PostmarkArgs),
    /// Change a running mock Logto over HTTP: users, apps, clock, faults, events, inbox, reset.
    Ctl(ctl::CtlArgs),
}

#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// A tenant config in Logto's JSON shapes; its top-level sections replace the fixture's.
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Address to listen on (both servers).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Port of the mock Logto (0 picks a free one).
    #[arg(long, default_value_t = MockIdp::DEFAULT_PORT)]
    port: u16,
    /// Port of the fake Postmark (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    postmark_port: u16,
    /// Seed of every random value (ids, codes, tokens).
    #[arg(long, default_value_t = mock_idp::DEFAULT_SEED)]
    seed: u64,
    /// The origin browsers and apps use to reach the IdP (behind a proxy or in a container).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Sign with the tenant's first key of this algorithm (default: the tenant's first key).
    #[arg(long, value_enum, value_name = "ALG")]
    signing_alg: Option<SigningAlg>,
    /// Threads serving both servers: 1 replays every byte of concurrent flows too; 0 is one
    /// per core, for many clients at once.
    #[arg(long, default_value_t = 1, value_name = "N")]
    workers: usize,
    /// A scenario file (seed, clock, tenant sections, faults); its seed wins over --seed and
    /// its tenant sections over --config's.
    #[arg(long, value_name = "FILE")]
    scenario: Option<std::path::PathBuf>,
    /// Write the event log to this file as JSON Lines, one event per line as it happens.
    #[arg(long, value_name = "FILE")]
    events_file: Option<std::path::PathBuf>,
    /// Require `Authorization: Bearer TOKEN` on the control plane (/_mock/); needed to use it
    /// at all when --bind is not a loopback address.
    #[arg(long, value_name = "TOKEN")]
    control_token: Option<String>,
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
    /// Threads serving the API (0 is one per core).
    #[arg(long, default_value_t = 1, value_name = "N")]
    workers: usize,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result: Result<(), Box<dyn std::error::Error>> = match cli.command {
        Some(Command::Postmark(args)) => run_postmark(args).await.map_err(Into::into),
        Some(Command::Serve(args)) => run_idp(args).await.map_err(Into::into),
        Some(Command::Ctl(args)) => ctl::run(args).await.map_err(Into::into),
        None => run_idp(cli.serve).await.map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-idp: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_idp(args: ServeArgs) -> std::io::Result<()> {
    let stop = StopSignal::register()?;
    let mut builder = MockIdp::builder()
        .bind(SocketAddr::new(args.bind, args.port))
        .postmark_port(args.postmark_port)
        .worker_threads(args.workers)
        .seed(args.seed);
    if let Some(alg) = args.signing_alg {
        builder = builder.signing_alg(alg);
    }
    if let Some(path) = &args.config {
        let json = std::fs::read_to_string(path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        builder = builder.tenant(Tenant::from_json_over_fixtures(&json)?);
    }
    if let Some(url) = args.public_url {
        builder = builder.public_url(url);
    }
    if let Some(path) = &args.scenario {
        builder = builder.scenario(Scenario::from_file(path)?);
    }
    if let Some(path) = &args.events_file {
        builder = builder.events_file(path);
    }
    if let Some(token) = args.control_token {
        builder = builder.control_token(token);
    }
    let idp = builder.start().await?;
    let client = idp.client();
    println!("mock Logto is running (Ctrl-C stops it)");
    println!("  issuer         {}", idp.issuer());
    println!("  discovery      {}", idp.discovery_url());
    println!("  signing        {}", idp.signing_alg().as_str());
    println!("  app id         {}", client.id);
    println!("  app secret     {}", client.secret);
    for uri in &client.redirect_uris {
        println!("  redirect URI   {uri}");
    }
    for uri in &client.post_logout_redirect_uris {
        println!("  sign-out URI   {uri}");
    }
    if let Some(app) = idp.machine_to_machine_app() {
        println!("  M2M app id     {}", app.id);
        println!("  M2M secret     {}", app.secret.unwrap_or_default());
        println!(
            "  management     {}/api (resource {}, scope all)",
            idp.base_url(),
            mock_idp::MockIdp::MANAGEMENT_API
        );
    }
    match idp.postmark() {
        Some(postmark) => {
            println!("  fake Postmark  {}", postmark.base_url());
            println!("  inbox          {}", postmark.inbox_url());
        }
        None => println!(
            "  Postmark       {} (the tenant's baseUrl)",
            idp.postmark_url()
        ),
    }
    println!("  control plane  {}/", idp.control_url());
    if let Some(path) = &args.scenario {
        println!("  scenario       {}", path.display());
    }
    if let Some(start) = idp.clock().fixed_start() {
        let start = start
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        println!("  clock          fixed at {start} (moves only when told)");
    }
    let pending = idp.faults().len();
    if pending > 0 {
        println!("  faults         {pending} pending (mock-idp ctl faults)");
    }
    if let Some(path) = &args.events_file {
        println!("  events file    {}", path.display());
    }
    println!("  seed           {}", idp.seed());
    stop.recv().await;
    drop(idp);
    println!("stopped");
    Ok(())
}

async fn run_postmark(args: PostmarkArgs) -> std::io::Result<()> {
    // Registered before anything is printed, so a Ctrl-C right after the banner is never lost.
    let stop = StopSignal::register()?;
    let mut builder = FakePostmark::builder()
        .bind(SocketAddr::new(args.bind, args.port))
        .worker_threads(args.workers)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli =
            Cli::try_parse_from(std::iter::once("mock-idp").chain(args.iter().copied())).unwrap();
        cli.serve
    }

    #[test]
    fn signing_alg_is_optional_and_named_as_in_jose() {
        // Without the flag the library picks the tenant's first key (an RSA-only tenant works).
        assert_eq!(serve_args(&[]).signing_alg, None);
        for (name, alg) in [
            ("ES384", SigningAlg::Es384),
            ("ES256", SigningAlg::Es256),
            ("RS256", SigningAlg::Rs256),
        ] {
            assert_eq!(serve_args(&["--signing-alg", name]).signing_alg, Some(alg));
        }
        assert!(Cli::try_parse_from(["mock-idp", "--signing-alg", "HS256"]).is_err());
    }

    #[test]
    fn ctl_is_a_subcommand_and_serving_still_needs_none() {
        assert_eq!(serve_args(&["--port", "0", "--postmark-port", "0"]).port, 0);
        let ctl = Cli::try_parse_from(["mock-idp", "ctl", "reset"]).unwrap();
        assert!(matches!(ctl.command, Some(Command::Ctl(_))));
        // Serve flags and a subcommand do not mix: `--port` is never a ctl flag by accident.
        assert!(Cli::try_parse_from(["mock-idp", "--port", "0", "ctl", "reset"]).is_err());
    }
}

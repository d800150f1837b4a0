//! Runs an axum app on its own thread and current-thread runtime.
//!
//! Tests create one server per test, from `#[tokio::test]`, multi-thread runtimes or plain sync
//! code alike, so the server must not depend on the caller's runtime: it gets a thread and a
//! runtime of its own (as wiremock does). The listener is bound before the thread starts, so the
//! port is known, and already accepts connections, when `start` returns.
//!
//! Dropping the [`ServerHandle`] signals shutdown: open long-polls and streams see the signal
//! through [`Shutdown`], in-flight requests get a bounded grace period, then the runtime is
//! dropped (cancelling whatever is left) and the thread joined. When drop returns, the port is
//! free.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use tokio::sync::watch;
use tower_http::normalize_path::NormalizePath;

/// How long in-flight requests may take to finish after shutdown was signalled.
const GRACE: Duration = Duration::from_millis(500);

/// A shutdown signal handlers can wait on (long-polls, live-update streams).
#[derive(Clone, Debug)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once the server is shutting down.
    pub(crate) async fn wait(&mut self) {
        // An error means the sender is gone, which also means shutdown.
        let _ = self.0.wait_for(|down| *down).await;
    }
}

/// The running server; dropping it stops the server and frees the port.
#[derive(Debug)]
pub(crate) struct ServerHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// Binds `addr`, then serves the router built by `app` (which receives the bound address,
    /// to build its URLs from, and the shutdown signal) on a new thread, and returns the handle
    /// with what `app` returned beside the router (e.g. the router's state). Paths are matched
    /// without their trailing slashes, and absolute-form request targets
    /// (`POST http://host/path`, as sent through an HTTP proxy) route like plain paths.
    pub(crate) fn start<T>(
        name: &str,
        addr: SocketAddr,
        app: impl FnOnce(SocketAddr, Shutdown) -> (Router, T),
    ) -> io::Result<(Self, T)> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let (router, built) = app(addr, Shutdown(stopped.clone()));
        // The runtime is built on the server thread: a runtime must never be dropped inside the
        // caller's async context, which would happen here if spawning failed.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || serve(listener, router, Shutdown(stopped), ready_tx))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok((
                Self {
                    addr,
                    stop,
                    thread: Some(thread),
                },
                built,
            )),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(io::Error::other(
                    "the server thread stopped before it was ready",
                ))
            }
        }
    }

    /// The bound address (the real port when started on port 0).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
    ready: std::sync::mpsc::Sender<io::Result<()>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => {
                let _ = ready.send(Err(error));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        let service = NormalizePath::trim_trailing_slash(router);
        let app = axum::ServiceExt::<Request>::into_make_service(service);
        let mut graceful = shutdown.clone();
        let mut deadline = shutdown;
        let server =
            axum::serve(listener, app).with_graceful_shutdown(async move { graceful.wait().await });
        tokio::select! {
            result = server => {
                if let Err(error) = result {
                    tracing::error!(%error, "server stopped with an error");
                }
            }
            () = async move { deadline.wait().await; tokio::time::sleep(GRACE).await } => {}
        }
    });
    // Dropping the runtime cancels any connection task still running after the grace period.
    drop(runtime);
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

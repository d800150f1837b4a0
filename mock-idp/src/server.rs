//! Runs axum apps on a Tokio runtime of their own.
//!
//! Tests create servers from `#[tokio::test]`, multi-thread runtimes or plain sync code alike,
//! so a server must not depend on the caller's runtime: it gets a [`Runtime`] of its own (as
//! wiremock does). A `MockIdp` serves itself and the fake Postmark it starts on one runtime, so
//! its connector's requests to Postmark never wake another thread. A runtime is one thread
//! (Tokio's current-thread scheduler, the default) or `workers` threads (the multi-thread
//! scheduler, to use every core under load); it is built on a thread of its own, which owns it
//! and drops it, so it is never dropped inside the caller's async context.
//!
//! [`ServerHandle::start`] binds before anything else, so the port is known, and already
//! accepts connections, when it returns. Dropping the handle signals shutdown: open long-polls
//! and streams see the signal through [`Shutdown`], in-flight requests get a bounded grace
//! period, then the server stops and its port is free. The runtime stops when its last server
//! is dropped, cancelling whatever is left.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
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

/// A Tokio runtime on a thread of its own; servers run on it until the last is dropped.
#[derive(Debug)]
pub(crate) struct Runtime {
    handle: tokio::runtime::Handle,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Runtime {
    /// A runtime with `workers` threads: 1 is Tokio's current-thread scheduler on one thread;
    /// more is the multi-thread scheduler with that many workers; 0 is one worker per core.
    pub(crate) fn start(name: &str, workers: usize) -> io::Result<Arc<Self>> {
        let (stop, mut stopped) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let built = match workers {
                    1 => tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build(),
                    0 => tokio::runtime::Builder::new_multi_thread()
                        .enable_all()
                        .build(),
                    n => tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(n)
                        .enable_all()
                        .build(),
                };
                let runtime = match built {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(runtime.handle().clone()));
                runtime.block_on(async move {
                    let _ = stopped.wait_for(|down| *down).await;
                });
                // Dropping the runtime here cancels any task still running.
                drop(runtime);
            })?;
        match ready_rx.recv() {
            Ok(Ok(handle)) => Ok(Arc::new(Self {
                handle,
                stop,
                thread: Some(thread),
            })),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(io::Error::other(
                    "the runtime thread stopped before it was ready",
                ))
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A running server; dropping it stops the server and frees the port.
#[derive(Debug)]
pub(crate) struct ServerHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    /// Told when the server has stopped (a `Mutex` only so that the handle is `Sync`).
    stopped: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    /// Dropped after the server stopped: the last one stops the runtime.
    _runtime: Arc<Runtime>,
}

impl ServerHandle {
    /// Binds `addr`, then serves the router built by `app` (which receives the bound address,
    /// to build its URLs from, and the shutdown signal) on `runtime`, and returns the handle
    /// with what `app` returned beside the router (e.g. the router's state). Paths are matched
    /// without their trailing slashes, and absolute-form request targets
    /// (`POST http://host/path`, as sent through an HTTP proxy) route like plain paths.
    pub(crate) fn start<T>(
        runtime: &Arc<Runtime>,
        addr: SocketAddr,
        app: impl FnOnce(SocketAddr, Shutdown) -> (Router, T),
    ) -> io::Result<(Self, T)> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let (router, built) = app(addr, Shutdown(stopped.clone()));
        let listener = {
            // Registering with the reactor needs the runtime's context, not a task.
            let _entered = runtime.handle.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        runtime
            .handle
            .spawn(serve(listener, router, Shutdown(stopped), done_tx));
        Ok((
            Self {
                addr,
                stop,
                stopped: std::sync::Mutex::new(Some(done_rx)),
                _runtime: runtime.clone(),
            },
            built,
        ))
    }

    /// The bound address (the real port when started on port 0).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: Shutdown,
    done: std::sync::mpsc::Sender<()>,
) {
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
    // The listener is gone with `server`: the port is free.
    let _ = done.send(());
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let stopped = self
            .stopped
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(stopped) = stopped {
            // The grace period, and a margin for a busy machine; a runtime that is gone has
            // dropped the task (and the listener) already, which also ends the wait.
            let _ = stopped.recv_timeout(GRACE * 4);
        }
    }
}

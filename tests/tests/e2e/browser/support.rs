//! The steps journeys share.

use std::future::Future;

use e2e::journey::{self, Journey};
use mock_idp::MockIdp;

/// Runs a journey against a default stack; a failure leaves its artifacts in
/// `target/mock-idp-artifacts/{module}-{test}/`.
pub async fn journey<F, Fut>(test: F)
where
    F: FnOnce(Journey) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    journey::run(MockIdp::builder(), test).await;
}

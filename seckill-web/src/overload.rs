//! The gate routes' overload guard, one layer: a concurrency limit shared by every route it
//! wraps (`/seckill` and `/seckill/result`) that sheds — a request finding no permit is
//! answered [`AppError::Overloaded`] at once, never queued — and a per-request timeout
//! ([`AppError::TimedOut`]) that starts once the permit is held.
//!
//! It answers what `HandleError + LoadShed + GlobalConcurrencyLimit + Timeout` answered as four
//! tower layers, with one permit (`try_acquire`) and one timer per request instead of a
//! semaphore-acquire future allocated per service clone (axum clones a route's service for
//! every request) and three more futures to poll.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures::future::{BoxFuture, FutureExt};
use tokio::sync::Semaphore;
use tower::{Layer, Service};

use crate::error::AppError;

/// Wraps services in a [`Guard`] sharing one limit of `max_concurrency` requests.
#[derive(Debug, Clone)]
pub struct GuardLayer {
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl GuardLayer {
    /// At most `max_concurrency` requests at once (at least one), each for at most `timeout`.
    pub fn new(max_concurrency: usize, timeout: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrency.max(1))),
            timeout,
        }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            permits: Arc::clone(&self.permits),
            timeout: self.timeout,
        }
    }
}

/// A service behind the shared limit and the per-request timeout (see [`GuardLayer`]).
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl<S> Service<Request> for Guard<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            return futures::future::ready(Ok(AppError::Overloaded.into_response())).boxed();
        };
        let response = self.inner.call(request);
        let timeout = self.timeout;
        async move {
            let answer = match tokio::time::timeout(timeout, response).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                // The handler is dropped here; the gate's batch workers own what it started.
                Err(_elapsed) => AppError::TimedOut.into_response(),
            };
            drop(permit);
            Ok(answer)
        }
        .boxed()
    }
}

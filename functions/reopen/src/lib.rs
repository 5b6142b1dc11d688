//! The reopen function: `POST /conversations/{id}/reopen` and
//! `POST /conversations/{id}/push` (`docs/product.md#5-reopen-and-the-utility-push`).
//!
//! Its own Lambda, so its permissions are only what a reopen needs (no
//! Scheduler), while authentication, errors and views are the agent API's:
//! the agent UI sees one API.

use lambda_http::{Body, Request, Response};
use wadesk_app::{App, DeskStore, EventPublisher, TimerScheduler, WhatsAppClient};
use wadesk_domain::Clock;

/// Every route this function serves; the OpenAPI document describes each.
pub use agent_api::REOPEN_ROUTES as ROUTES;

/// Whether this function serves `path` (the local runner dispatches on it).
pub fn serves(path: &str) -> bool {
    agent_api::reopen_serves(path)
}

/// Handles one API Gateway request.
pub async fn handle<S, E, T, C, W>(app: &App<S, E, T, C, W>, request: Request) -> Response<Body>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    agent_api::handle_surface(app, request, agent_api::Surface::Reopen).await
}

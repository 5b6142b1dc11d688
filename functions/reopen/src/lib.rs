//! The reopen function: `POST /conversations/{id}/reopen` and
//! `POST /conversations/{id}/push` (`docs/product.md#5-reopen-and-the-utility-push`).
//!
//! Its own Lambda, so its permissions are only what a reopen needs (no
//! Scheduler), while authentication, errors and views are the agent API's:
//! the agent UI sees one API.

use lambda_http::{Body, Request, Response};
use wadesk_app::Ports;
use wadesk_app::{App, DeskStore, WhatsAppClient};

/// Every route this function serves; the OpenAPI document describes each.
pub use agent_api::REOPEN_ROUTES as ROUTES;

/// Whether this function serves `path` (the local runner dispatches on it).
pub fn serves(path: &str) -> bool {
    agent_api::reopen_serves(path)
}

/// Handles one API Gateway request.
pub async fn handle<P>(app: &App<P>, request: Request) -> Response<Body>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    agent_api::handle_surface(app, request, agent_api::Surface::Reopen).await
}

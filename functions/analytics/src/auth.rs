//! Who is calling: the claims API Gateway's JWT authorizer verified and put in
//! the request context (`sub` is the agent id, `role` the role), read exactly
//! as the agent API reads them.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use wadesk_domain::{Actor, AgentId, Role};

use crate::ApiError;

pub fn actor(request: &Request) -> Result<Actor, ApiError> {
    let claims = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims),
        _ => None,
    }
    .ok_or(ApiError::Unauthenticated)?;
    let id = claims
        .get("sub")
        .and_then(|sub| AgentId::parse(sub.clone()).ok())
        .ok_or(ApiError::Unauthenticated)?;
    let role = match claims.get("role").map(String::as_str) {
        None | Some("agent") => Role::Agent,
        Some("supervisor") => Role::Supervisor,
        Some("admin") => Role::Admin,
        Some("bot") => Role::Bot,
        Some(_) => return Err(ApiError::Forbidden("unknown role".to_owned())),
    };
    Ok(Actor { id, role })
}

//! Who is calling an HTTP function: the subject API Gateway's JWT authorizer
//! verified and put in the request context. Only the identity is read from
//! the token; what the subject may do comes from the directory
//! (`wadesk_domain::identify`).

use std::env;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use wadesk_domain::AgentId;

/// The verified `sub` claim, if the request carries one that is a valid
/// subject (at most 128 printable characters).
pub fn subject(request: &Request) -> Option<AgentId> {
    let claims = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims),
        _ => None,
    }?;
    AgentId::parse(claims.get("sub")?.clone()).ok()
}

/// `WADESK_BOOTSTRAP_ADMINS`: comma-separated subjects that act as admins
/// until the directory has an entry for them. Invalid entries are skipped
/// with a warning (a typo must not lock the deployment's only admin out
/// silently, nor crash every request).
pub fn bootstrap_admins_from_env() -> Vec<AgentId> {
    parse_bootstrap_admins(&env::var("WADESK_BOOTSTRAP_ADMINS").unwrap_or_default())
}

pub fn parse_bootstrap_admins(raw: &str) -> Vec<AgentId> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| match AgentId::parse(s) {
            Ok(id) => Some(id),
            Err(error) => {
                tracing::warn!(%error, "WADESK_BOOTSTRAP_ADMINS entry skipped");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_admins_are_comma_separated_subjects() {
        let admins = parse_bootstrap_admins(" auth0|abc123, ,ops@example.com,\tadmin ");
        let names: Vec<&str> = admins.iter().map(AgentId::as_str).collect();
        assert_eq!(names, ["auth0|abc123", "ops@example.com", "admin"]);
        assert!(parse_bootstrap_admins("").is_empty());
    }
}

//! Stands in for API Gateway's JWT authorizer: verifies an HS256 bearer token
//! with the local secret and puts its claims in the request context, exactly
//! where the Lambda finds them behind API Gateway.

use std::collections::HashMap;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub role: Option<String>,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
}

/// Attaches the verified claims; a missing or bad token attaches nothing, and
/// the handler answers 401 as it would without an authorizer's claims.
pub fn authorize(request: Request, secret: &[u8]) -> Request {
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return request;
    };
    let Some(verified) = verify(token, secret) else {
        tracing::info!("bearer token rejected");
        return request;
    };
    let mut claims = HashMap::from([("sub".to_owned(), verified.sub)]);
    if let Some(role) = verified.role {
        claims.insert("role".to_owned(), role);
    }
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims = claims;
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.authorizer = Some(authorizer);
    request.with_request_context(RequestContext::ApiGatewayV2(context))
}

/// The claims of an HS256 token signed with `secret`, if it is valid and not expired.
pub fn verify(token: &str, secret: &[u8]) -> Option<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["sub", "exp"]);
    decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
        .ok()
        .map(|data| data.claims)
}

/// Mints a token for trying the API locally.
pub fn mint(
    secret: &[u8],
    sub: &str,
    role: &str,
    valid_for_seconds: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let claims = Claims {
        sub: sub.to_owned(),
        role: Some(role.to_owned()),
        exp: chrono::Utc::now().timestamp() + valid_for_seconds,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
}

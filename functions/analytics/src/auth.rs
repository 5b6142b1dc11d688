//! Who is calling: the verified subject from the request context, and what
//! the directory says it is — read exactly as the agent API reads them.

use lambda_http::Request;
use wadesk_app::DeskStore;
use wadesk_domain::{identify, Actor, AgentId};

use crate::ApiError;

pub async fn actor<D: DeskStore>(
    request: &Request,
    directory: &D,
    bootstrap_admins: &[AgentId],
) -> Result<Actor, ApiError> {
    let subject = wadesk_aws::identity::subject(request).ok_or(ApiError::Unauthenticated)?;
    let entry = directory.get_agent(&subject).await?;
    identify(subject, entry.as_ref(), bootstrap_admins).map_err(|_| ApiError::NotInDirectory)
}

//! Who is calling. The token (verified by API Gateway's JWT authorizer, or the
//! local runner in its place) proves an identity only; the directory says what
//! that identity may do (`wadesk_domain::identify`), read on every request, so
//! a change there (a demoted admin) counts from the caller's next request.

use lambda_http::Request;
use wadesk_app::desk::{self as service, Acting, Prefetched};
use wadesk_app::Ports;
use wadesk_app::{App, DeskStore};
use wadesk_domain::{Actor, Agent, ConversationId, Role};

use crate::ApiError;

/// The caller as the directory describes them, with their entry (`None` for
/// a bootstrap admin the directory does not list yet).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub entry: Option<Agent>,
    /// The conversation a desk action names, read with the entry.
    pub prefetched: Option<Prefetched>,
}

impl Caller {
    /// The caller as the desk service takes them: what their request read
    /// is not read again.
    pub fn acting(&self) -> Acting<'_> {
        Acting::identified(&self.actor, self.entry.as_ref(), self.prefetched.as_ref())
    }
}

/// The caller of `request`; with `acted_on`, the conversation a desk action
/// names is read in the same round trip as their entry.
pub async fn caller<P>(
    app: &App<P>,
    request: &Request,
    acted_on: Option<ConversationId>,
) -> Result<Caller, ApiError>
where
    P: Ports<Store: DeskStore>,
{
    let subject = wadesk_aws::identity::subject(request).ok_or(ApiError::Unauthenticated)?;
    Ok(match acted_on {
        Some(id) => {
            let (actor, entry, prefetched) = service::identify_for(app, subject, id).await?;
            Caller {
                actor,
                entry,
                prefetched: Some(prefetched),
            }
        }
        None => {
            let (actor, entry) = service::identify(app, subject).await?;
            Caller {
                actor,
                entry,
                prefetched: None,
            }
        }
    })
}

/// Admin endpoints are admin-only.
pub fn require_admin(actor: &Actor) -> Result<(), ApiError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Supervision is for supervisors and admins.
pub fn require_oversight(actor: &Actor) -> Result<(), ApiError> {
    if actor.role.oversees() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

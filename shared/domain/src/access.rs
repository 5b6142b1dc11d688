//! Who the caller is and what they may see or do: decided before anything
//! about a conversation's state is revealed.
//!
//! The token proves an identity (`sub`) only. The directory says what that
//! identity is: its role and queues. A subject the directory does not know is
//! refused everywhere, except the bootstrap admins a deployment names, so a
//! fresh stack has someone to fill the directory.

use crate::{Agent, AgentId, Conversation, ConversationStatus, DeskError, Role};

/// Who is acting: an identity and the role the directory gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: AgentId,
    pub role: Role,
}

/// The caller is not in the directory (and not a bootstrap admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("you are not in the directory; ask an admin to add you")]
pub struct NotInDirectory;

/// The caller as the directory describes them. The directory entry wins over
/// the bootstrap list, so demoting a bootstrap admin in the directory works
/// at once; the bootstrap list only speaks for subjects with no entry.
pub fn identify(
    subject: AgentId,
    entry: Option<&Agent>,
    bootstrap_admins: &[AgentId],
) -> Result<Actor, NotInDirectory> {
    match entry {
        Some(agent) => Ok(Actor {
            id: subject,
            role: agent.role,
        }),
        None if bootstrap_admins.contains(&subject) => Ok(Actor {
            id: subject,
            role: Role::Admin,
        }),
        None => Err(NotInDirectory),
    }
}

/// Whether `actor` may see and act on `conversation` (`None`: no such
/// conversation). Decided from who the caller is — never from the
/// conversation's state — so a caller who may not learns nothing: not the
/// owner, not the status, not even whether the id exists (`Forbidden` for an
/// unknown id too; only callers who may see everything get `NotFound`).
///
/// - Supervisors and admins: every conversation.
/// - A bot: the conversations it runs (status `bot`).
/// - An agent: the conversations they are part of (owner, offered, invited,
///   participant, owing a wrap-up, reopened by them), and those of the queues
///   they serve (which they may take, overtake or reopen; the desk rules then
///   decide by state).
pub fn may_access(
    conversation: Option<&Conversation>,
    actor: &Actor,
    entry: Option<&Agent>,
) -> Result<(), DeskError> {
    let Some(conversation) = conversation else {
        return Err(if actor.role.oversees() {
            DeskError::NotFound
        } else {
            DeskError::Forbidden
        });
    };
    let allowed = match actor.role {
        Role::Supervisor | Role::Admin => true,
        Role::Bot => conversation.status == ConversationStatus::Bot,
        Role::Agent => {
            conversation.owner.as_ref() == Some(&actor.id)
                || conversation.reopened_by.as_ref() == Some(&actor.id)
                || conversation
                    .agent_links()
                    .iter()
                    .any(|(id, _)| *id == actor.id)
                || entry.is_some_and(|agent| agent.serves(&conversation.queue))
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(DeskError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{agent, conversation};

    fn actor_of(agent: &Agent) -> Actor {
        Actor {
            id: agent.id.clone(),
            role: agent.role,
        }
    }

    #[test]
    fn the_directory_decides_the_role_and_bootstrap_admins_only_fill_the_gap() {
        let sub = AgentId::parse("auth0|abc123").unwrap();
        let bootstrap = [sub.clone()];
        assert_eq!(
            identify(sub.clone(), None, &bootstrap).unwrap().role,
            Role::Admin
        );
        let demoted = agent("auth0|abc123", Role::Agent, "sales");
        assert_eq!(
            identify(sub.clone(), Some(&demoted), &bootstrap)
                .unwrap()
                .role,
            Role::Agent
        );
        assert_eq!(identify(sub, None, &[]), Err(NotInDirectory));
    }

    #[test]
    fn an_agent_of_another_queue_is_refused_whatever_the_state() {
        let other = agent("cid", Role::Agent, "billing");
        for status in [
            ConversationStatus::Unanswered,
            ConversationStatus::Active,
            ConversationStatus::WrapUp,
            ConversationStatus::Finished,
            ConversationStatus::Reopened,
            ConversationStatus::Bot,
        ] {
            let c = conversation(status, Some("ana"));
            assert_eq!(
                may_access(Some(&c), &actor_of(&other), Some(&other)),
                Err(DeskError::Forbidden),
                "{status:?}"
            );
        }
        // An unknown id answers the same: nothing tells what exists.
        assert_eq!(
            may_access(None, &actor_of(&other), Some(&other)),
            Err(DeskError::Forbidden)
        );
    }

    #[test]
    fn members_of_the_queue_participants_and_overseers_may() {
        let c = conversation(ConversationStatus::Active, Some("ana"));
        let ana = agent("ana", Role::Agent, "billing");
        let bob = agent("bob", Role::Agent, "sales");
        let sue = agent("sue", Role::Supervisor, "none");
        assert_eq!(may_access(Some(&c), &actor_of(&ana), Some(&ana)), Ok(()));
        assert_eq!(may_access(Some(&c), &actor_of(&bob), Some(&bob)), Ok(()));
        assert_eq!(may_access(Some(&c), &actor_of(&sue), Some(&sue)), Ok(()));
        assert_eq!(
            may_access(None, &actor_of(&sue), Some(&sue)),
            Err(DeskError::NotFound)
        );
    }

    #[test]
    fn a_bot_sees_only_bot_conversations() {
        let bot = agent("bot-1", Role::Bot, "sales");
        let mine = conversation(ConversationStatus::Bot, None);
        let queued = conversation(ConversationStatus::Unanswered, None);
        assert_eq!(may_access(Some(&mine), &actor_of(&bot), Some(&bot)), Ok(()));
        assert_eq!(
            may_access(Some(&queued), &actor_of(&bot), Some(&bot)),
            Err(DeskError::Forbidden)
        );
    }
}

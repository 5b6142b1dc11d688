//! The audit trail: who read, exported or erased which customer's data,
//! when, and through which route. Kept for its own retention period,
//! readable by admins only; agents can neither read nor change it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Actor, AgentId, ConversationId, Role, Timestamp, WaId};

/// How long an audit record is kept (about 13 months: a year of reads, and
/// time to answer a request about the last of them).
pub const AUDIT_RETENTION_DAYS: i64 = 400;

/// The longest period one audit listing may cover.
pub const MAX_AUDIT_DAYS: i64 = 31;

/// What was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A conversation's transcript.
    TranscriptRead,
    /// A customer's history, searched or listed (the words searched are not
    /// kept: they may be personal data themselves).
    HistorySearch,
    /// Everything stored about a customer, exported on request.
    CustomerExport,
    /// A customer's data erased on request.
    CustomerErasure,
}

/// One read of customer data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: Uuid,
    pub at: Timestamp,
    pub actor: AgentId,
    pub role: Role,
    pub action: AuditAction,
    /// `METHOD /path` as the caller asked it.
    pub route: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<WaId>,
}

impl AuditRecord {
    pub fn new(actor: &Actor, action: AuditAction, route: String, at: Timestamp) -> Self {
        Self {
            id: Uuid::now_v7(),
            at,
            actor: actor.id.clone(),
            role: actor.role,
            action,
            route,
            conversation: None,
            customer: None,
        }
    }

    /// Whether the record matches an admin's filters (`None`: any).
    pub fn matches(&self, actor: Option<&AgentId>, customer: Option<&WaId>) -> bool {
        actor.is_none_or(|a| *a == self.actor)
            && customer.is_none_or(|c| self.customer.as_ref() == Some(c))
    }

    /// When the store may forget it.
    pub fn expires_at(&self) -> Timestamp {
        self.at + chrono::Duration::days(AUDIT_RETENTION_DAYS)
    }
}

//! A send whose answer is lost (the Graph API timed out or the connection
//! broke after the request went out): WhatsApp may have the message, so it is
//! marked `unknown` in the transcript and never sent again automatically,
//! on every store.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use wadesk_app::desk::DeskFailure;
use wadesk_app::embedded::{LocalEventBus, LocalScheduler, LocalWhatsApp};
use wadesk_app::inbound::{receive_message, InboundOutcome};
use wadesk_app::{App, DeskStore, OutboundContent, SendError, WhatsAppClient};
use wadesk_domain::desk::Outgoing;
use wadesk_domain::{
    Actor, AgentId, ConversationId, DeliveryStatus, Direction, ManualClock, PhoneNumberId, Role,
    WaId, Wamid, OUTCOME_UNKNOWN_TITLE,
};
use wadesk_tests::{customer, hire_agent, now_seconds, open_default_queue, text_message};

/// WhatsApp takes every message, but the answers of the next `lose` sends
/// never come back.
#[derive(Clone)]
struct LostAnswers {
    local: LocalWhatsApp,
    lose: Arc<AtomicUsize>,
}

impl WhatsAppClient for LostAnswers {
    async fn send(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
    ) -> Result<Wamid, SendError> {
        let wamid = self.local.send(from, to, content).await?;
        let lost = self
            .lose
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if lost {
            return Err(SendError::OutcomeUnknown {
                source: format!("no answer within 10s (WhatsApp took {wamid})").into(),
            });
        }
        Ok(wamid)
    }
}

type LossyApp<S> = App<(S, LocalEventBus, LocalScheduler, ManualClock, LostAnswers)>;

fn ana() -> Actor {
    Actor {
        id: AgentId::parse("ana").unwrap(),
        role: Role::Agent,
    }
}

async fn conversation_taken_by_ana<S: DeskStore>(store: S) -> (LossyApp<S>, ConversationId) {
    let now = now_seconds();
    let clock = ManualClock::frozen_at(now);
    let app = App::new(
        store,
        LocalEventBus::new(),
        LocalScheduler::new(),
        clock.clone(),
        LostAnswers {
            local: LocalWhatsApp::new(clock),
            lose: Arc::default(),
        },
    );
    open_default_queue(&app.store).await;
    hire_agent(&app, &ana().id, "Ana", 3).await;
    let key = customer("34633000111");
    let InboundOutcome::Stored {
        conversation_id, ..
    } = receive_message(&app, text_message(&key, "wamid.lost.1", now, "hi"))
        .await
        .unwrap()
    else {
        panic!("stored");
    };
    wadesk_app::desk::take(&app, &ana(), conversation_id, false)
        .await
        .unwrap();
    (app, conversation_id)
}

fn sends_of(app: &LossyApp<impl DeskStore>, text: &str) -> usize {
    app.whatsapp
        .local
        .sent()
        .iter()
        .filter(|e| e.text.as_deref() == Some(text))
        .count()
}

async fn lost_answers_are_marked_unknown_and_never_resent<S: DeskStore>(store: S) {
    let (app, id) = conversation_taken_by_ana(store).await;

    // An agent's message: the answer is lost.
    app.whatsapp.lose.store(1, Ordering::SeqCst);
    let sent = wadesk_app::desk::send(&app, &ana(), id, Outgoing::Text("Hello!".into())).await;
    assert!(matches!(sent, Err(DeskFailure::App(_))), "{sent:?}");
    let transcript = app.store.list_messages(id).await.unwrap();
    let hello = transcript
        .iter()
        .find(|m| m.direction == Direction::Outbound && m.content.text() == Some("Hello!"))
        .unwrap();
    assert_eq!(hello.status, Some(DeliveryStatus::Unknown));
    assert_eq!(
        hello.error.as_ref().map(|e| e.title.as_str()),
        Some(OUTCOME_UNKNOWN_TITLE)
    );
    assert_eq!(sends_of(&app, "Hello!"), 1, "it went out once");

    // A reopen's automatic message (the kind a retry would send again when
    // WhatsApp could not be reached): lost answer, marked unknown, not resent.
    wadesk_app::desk::end(&app, &ana(), id).await.unwrap();
    wadesk_app::desk::wrap_up(&app, &ana(), id, "Resolved")
        .await
        .unwrap();
    app.whatsapp.lose.store(1, Ordering::SeqCst);
    let reopened = wadesk_app::desk::reopen(&app, &ana(), id).await;
    assert!(reopened.is_err(), "the agent is told: {reopened:?}");
    let reopen_text = app
        .whatsapp
        .local
        .sent()
        .last()
        .and_then(|e| e.text.clone())
        .unwrap();
    let again = wadesk_app::desk::reopen(&app, &ana(), id).await;
    assert!(again.is_err(), "{again:?}");
    assert_eq!(sends_of(&app, &reopen_text), 1, "never sent twice");
    let transcript = app.store.list_messages(id).await.unwrap();
    let statuses: Vec<_> = transcript
        .iter()
        .filter(|m| m.content.text() == Some(reopen_text.as_str()))
        .map(|m| m.status)
        .collect();
    assert_eq!(statuses, vec![Some(DeliveryStatus::Unknown)]);
}

#[tokio::test]
async fn lost_answers_are_marked_unknown_and_never_resent_embedded() {
    lost_answers_are_marked_unknown_and_never_resent(wadesk_tests::embedded_store()).await;
}

#[tokio::test]
async fn lost_answers_are_marked_unknown_and_never_resent_dynamodb() {
    lost_answers_are_marked_unknown_and_never_resent(wadesk_tests::dynamo_store(None).await).await;
}

//! The whole wadesk stack on one machine.
//!
//! Every route is served by the Lambdas' own handler functions; only the
//! adapters differ: an embedded store (or DynamoDB at `AWS_ENDPOINT_URL`), a
//! local scheduler that fires due timers, a local event bus and a local
//! WhatsApp that records what is sent. The clock can be moved forward, so a 24-hour expiry takes seconds.

pub mod auth;
mod console;
mod http;
mod live;
mod local_analytics;
mod local_routes;
pub mod media;
mod outbox_relay;
mod retention;
pub mod settings;
pub mod stream;
mod whatsapp;

pub use http::serve;
pub use local_analytics::{LocalAnalytics, WithAnalytics};
pub use outbox_relay::{relay_stream, OutboxRelay, WithOutbox};
pub use retention::{Purge, WithRetention};
pub use settings::Settings;
pub use whatsapp::RunnerWhatsApp;

use std::sync::Arc;

use wadesk_app::embedded::{
    LocalEventBus, LocalMedia, LocalPoisonQueue, LocalScheduler, LocalWhatsApp,
};
use wadesk_app::{App, DeskStore};
use wadesk_domain::{Channel, Clock, ManualClock, PhoneNumberId, Queue, QueueId};
use webhook::WebhookSettings;

/// The app as the local runner wires it, for any store.
pub type LocalApp<S> = App<(
    S,
    LocalEventBus,
    LocalScheduler,
    ManualClock,
    RunnerWhatsApp,
)>;

/// Everything one running stack holds.
pub struct Runner<S: wadesk_app::ConversationStore> {
    pub app: LocalApp<S>,
    pub local_whatsapp: LocalWhatsApp,
    pub webhook: WebhookSettings,
    /// What the webhook keeps instead of refusing (`GET /_local/poison`).
    pub poison: LocalPoisonQueue,
    pub settings: Settings,
    /// Analytics counters, fed by the local bus like the EventBridge rule feeds them.
    pub analytics: LocalAnalytics,
    /// Moves the events desk commits leave in the store's outbox to the bus.
    pub relay: OutboxRelay,
    /// Every delivered event, for the console's live sockets (`/live`).
    pub live: tokio::sync::broadcast::Sender<wadesk_domain::EventEnvelope>,
    /// Forgets expired conversations when the clock moves (the table's TTL on AWS).
    pub purge: Purge,
    /// Agents' uploads and customers' media, in memory (S3 on AWS).
    pub media: agent_api::Media<LocalMedia>,
    /// Customers' files as the Graph API holds them (`/_local/inbound` with
    /// `image`), fetched by the media fetcher.
    pub graph_media: media::LocalGraphMedia,
}

/// Wrap-up reasons a fresh local stack starts with (an admin can replace them).
const DEMO_WRAP_UP_REASONS: [&str; 3] = ["Resolved", "Follow-up needed", "No response"];

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] wadesk_app::StoreError),
    #[error("the Graph API client could not be built")]
    Graph(#[from] wadesk_graph::BuildError),
}

impl<S: DeskStore> Runner<S> {
    /// Wires the stack around `store`, with a demo channel, queue and wrap-up reasons.
    pub async fn start(store: S, settings: Settings) -> Result<Arc<Self>, StartError>
    where
        S: WithAnalytics + WithOutbox + WithRetention,
    {
        let analytics = store.analytics_store();
        let purge = store.retention_purge();
        let relay = store.outbox_relay();
        let clock = ManualClock::following_wall_time();
        let webhook =
            WebhookSettings::new(settings.app_secret.clone(), settings.verify_token.clone());
        let local_whatsapp = LocalWhatsApp::new(clock.clone());
        let media = agent_api::Media::new(LocalMedia::new(clock.clone()))
            .with_retention_days(settings.media_retention_days);
        let graph = match &settings.graph_api_token {
            Some(token) => Some(wadesk_graph::GraphApiClient::new(
                settings.graph_api_base_url.clone(),
                token.clone(),
            )?),
            None => None,
        };
        let whatsapp = RunnerWhatsApp {
            local: local_whatsapp.clone(),
            graph,
        };
        let app = App::new(
            store,
            LocalEventBus::new(),
            LocalScheduler::new(),
            clock,
            whatsapp,
        )
        .with_offer_timeout(chrono::Duration::seconds(settings.offer_timeout_seconds))
        .with_bootstrap_admins(settings.bootstrap_admins.clone());
        let queue = QueueId::default_queue();
        if app.store.get_queue(&queue).await?.is_none() {
            let default = Queue {
                id: queue,
                name: "Default".to_owned(),
            };
            app.store.put_queue(&default).await?;
        }
        if app.store.get_wrap_up_reasons().await?.is_empty() {
            let reasons: Vec<String> = DEMO_WRAP_UP_REASONS
                .iter()
                .map(|r| (*r).to_owned())
                .collect();
            app.store.put_wrap_up_reasons(&reasons).await?;
        }
        if let Ok(id) = PhoneNumberId::parse(settings.phone_number_id.clone()) {
            if app.store.get_channel(&id).await?.is_none() {
                let channel = Channel::unconfigured(id, settings.display_phone_number.clone());
                app.store.put_channel(&channel).await?;
            }
        }
        Ok(Arc::new(Self {
            app,
            local_whatsapp,
            webhook,
            poison: LocalPoisonQueue::new(),
            settings,
            analytics,
            relay,
            live: live::channel(),
            purge,
            media,
            graph_media: media::LocalGraphMedia::default(),
        }))
    }

    /// Relays the store's outbox to the bus, then hands every published
    /// event to the consumers (as EventBridge rules would), including the
    /// events the consumers themselves publish or commit.
    pub async fn deliver_events(&self) -> usize {
        let mut delivered = 0;
        loop {
            self.relay.relay(&self.app.events).await;
            let before = delivered;
            while let Some(event) = self.app.events.next_undelivered() {
                delivered += 1;
                self.deliver(&event).await;
            }
            if delivered == before {
                return delivered;
            }
        }
    }

    async fn deliver(&self, event: &wadesk_domain::EventEnvelope) {
        // To the console's live sockets (none listening is fine).
        let _ = self.live.send(event.clone());
        // As the EventBridge rules route them: #STOP's consequences to opt-out.
        if event.type_name() == "CustomerOptedOut" {
            if let Err(error) = opt_out::handle(&self.app, event).await {
                tracing::error!(%error, "opt-out failed");
            }
        }
        // Erasure steps and retention to their worker, as the erasure queue
        // delivers them on AWS (`functions/erasure`).
        if let Err(error) =
            wadesk_app::protection::continue_erasure(&self.app, &self.media.store, event).await
        {
            tracing::error!(%error, "an erasure step failed");
        }
        if let Err(error) = wadesk_app::protection::apply_retention(&self.app, event).await {
            tracing::error!(%error, "applying a retention failed");
        }
        // A customer's file to the media fetcher (its rule matches
        // MessageReceived with a media id; the handler skips the rest).
        if event.type_name() == "MessageReceived" {
            if let Err(error) =
                media_fetcher::handle(&self.graph_media, &self.media.store, event).await
            {
                tracing::error!(%error, "media fetch failed");
            }
        }
        // Every event to analytics (its rule matches the counted types; the
        // consumer skips the rest). A failure is logged: EventBridge would retry.
        if let Err(error) = wadesk_app::analytics::consume(&self.analytics, event).await {
            tracing::error!(%error, "analytics failed to count an event");
        }
        tracing::debug!(event = event.type_name(), "event delivered");
    }

    /// Fires every timer due by the runner's clock, including timers that the
    /// fires themselves arm for times already past. Returns how many fired.
    pub async fn fire_due_timers(&self) -> usize {
        let mut fired = 0;
        loop {
            let due = self.app.timers.take_due(self.app.clock.now());
            if due.is_empty() {
                return fired;
            }
            for timer in due {
                fired += 1;
                if let Err(error) = timers::handle(&self.app, timer.clone()).await {
                    // As on AWS: a transient failure keeps the timer to try
                    // again later; one no retry can fix is logged and dropped.
                    if wadesk_app::error::settle("a timer's fire", error).is_some() {
                        self.app.timers.rearm(timer);
                        return fired;
                    }
                }
            }
        }
    }
}

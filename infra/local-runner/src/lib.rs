//! The whole wadesk stack on one machine.
//!
//! Every route is served by the Lambdas' own handler functions; only the
//! adapters differ: an embedded store (or DynamoDB at `AWS_ENDPOINT_URL`), a
//! local scheduler that fires due timers, a local event bus and a WhatsApp
//! outbox. The clock can be moved forward, so a 24-hour expiry takes seconds.

mod http;
mod local_routes;
pub mod settings;

pub use http::serve;
pub use settings::Settings;

use std::sync::Arc;

use wadesk_app::embedded::{LocalEventBus, LocalOutbox, LocalScheduler};
use wadesk_app::{App, ConversationStore};
use wadesk_domain::{Channel, Clock, ManualClock, PhoneNumberId};
use webhook::WebhookSettings;

/// The app as the local runner wires it, for any store.
pub type LocalApp<S> = App<S, LocalEventBus, LocalScheduler, ManualClock>;

/// Everything one running stack holds.
pub struct Runner<S> {
    pub app: LocalApp<S>,
    pub outbox: LocalOutbox,
    pub webhook: WebhookSettings,
    pub settings: Settings,
}

impl<S: ConversationStore> Runner<S> {
    /// Wires the stack around `store` and registers the demo channel.
    pub async fn start(store: S, settings: Settings) -> Result<Arc<Self>, wadesk_app::StoreError> {
        let clock = ManualClock::following_wall_time();
        let webhook =
            WebhookSettings::new(settings.app_secret.clone(), settings.verify_token.clone());
        let app = App::new(store, LocalEventBus::new(), LocalScheduler::new(), clock);
        if let Ok(id) = PhoneNumberId::parse(settings.phone_number_id.clone()) {
            if app.store.get_channel(&id).await?.is_none() {
                let channel = Channel::unconfigured(id, settings.display_phone_number.clone());
                app.store.put_channel(&channel).await?;
            }
        }
        Ok(Arc::new(Self {
            app,
            outbox: LocalOutbox::new(),
            webhook,
            settings,
        }))
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
            for fire in due {
                fired += 1;
                if let Err(error) = window_expiry::handle(&self.app, fire.clone()).await {
                    // As Scheduler would: keep the timer and try again later.
                    tracing::error!(%error, "window fire failed; will retry");
                    use wadesk_app::TimerScheduler;
                    let _ = self.app.timers.arm_window(&fire).await;
                    return fired;
                }
            }
        }
    }
}

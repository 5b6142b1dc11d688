use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wadesk_domain::{CustomerKey, OfferTimeout, TimerInput, Timestamp, WindowFire};

use super::lock;
use crate::ports::{offer_schedule_name, window_schedule_name};
use crate::{ScheduleError, TimerScheduler};

/// The local scheduler: keeps armed timers by their deterministic name until
/// the runner's clock passes them.
#[derive(Debug, Clone, Default)]
pub struct LocalScheduler {
    timers: Arc<Mutex<BTreeMap<String, TimerInput>>>,
}

impl LocalScheduler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes and returns every timer due at `now`, earliest first.
    pub fn take_due(&self, now: Timestamp) -> Vec<TimerInput> {
        let mut timers = lock(&self.timers);
        let due: Vec<String> = timers
            .iter()
            .filter(|(_, timer)| timer.due_at() <= now)
            .map(|(name, _)| name.clone())
            .collect();
        let mut fired: Vec<TimerInput> =
            due.iter().filter_map(|name| timers.remove(name)).collect();
        fired.sort_by_key(TimerInput::due_at);
        fired
    }

    /// Timers not yet fired.
    pub fn armed(&self) -> Vec<TimerInput> {
        lock(&self.timers).values().cloned().collect()
    }

    /// Window timers not yet fired.
    pub fn armed_windows(&self) -> Vec<WindowFire> {
        self.armed()
            .into_iter()
            .filter_map(|t| match t {
                TimerInput::Window(fire) => Some(fire),
                TimerInput::Offer(_) => None,
            })
            .collect()
    }

    /// Puts back a timer whose handling failed, as Scheduler retries.
    pub fn rearm(&self, timer: TimerInput) {
        let name = match &timer {
            TimerInput::Window(fire) => window_schedule_name(&fire.customer, fire.armed_for),
            TimerInput::Offer(offer) => offer_schedule_name(offer),
        };
        self.arm(name, timer);
    }

    fn arm(&self, name: String, timer: TimerInput) {
        lock(&self.timers).entry(name).or_insert(timer);
    }
}

impl TimerScheduler for LocalScheduler {
    async fn arm_window(&self, fire: &WindowFire) -> Result<(), ScheduleError> {
        self.arm(
            window_schedule_name(&fire.customer, fire.armed_for),
            TimerInput::Window(fire.clone()),
        );
        Ok(())
    }

    async fn arm_offer(&self, offer: &OfferTimeout) -> Result<(), ScheduleError> {
        self.arm(offer_schedule_name(offer), TimerInput::Offer(offer.clone()));
        Ok(())
    }

    async fn cancel_window(
        &self,
        customer: &CustomerKey,
        armed_for: Timestamp,
    ) -> Result<bool, ScheduleError> {
        Ok(lock(&self.timers)
            .remove(&window_schedule_name(customer, armed_for))
            .is_some())
    }
}

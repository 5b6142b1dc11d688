use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wadesk_domain::{Timestamp, WindowFire};

use super::lock;
use crate::ports::window_schedule_name;
use crate::{ScheduleError, TimerScheduler};

/// The local scheduler: keeps armed timers by their deterministic name until
/// the runner's clock passes them.
#[derive(Debug, Clone, Default)]
pub struct LocalScheduler {
    timers: Arc<Mutex<BTreeMap<String, WindowFire>>>,
}

impl LocalScheduler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes and returns every timer due at `now`, earliest first.
    pub fn take_due(&self, now: Timestamp) -> Vec<WindowFire> {
        let mut timers = lock(&self.timers);
        let due: Vec<String> = timers
            .iter()
            .filter(|(_, fire)| fire.armed_for <= now)
            .map(|(name, _)| name.clone())
            .collect();
        let mut fires: Vec<WindowFire> =
            due.iter().filter_map(|name| timers.remove(name)).collect();
        fires.sort_by_key(|fire| fire.armed_for);
        fires
    }

    /// Timers not yet fired.
    pub fn armed(&self) -> Vec<WindowFire> {
        lock(&self.timers).values().cloned().collect()
    }
}

impl TimerScheduler for LocalScheduler {
    async fn arm_window(&self, fire: &WindowFire) -> Result<(), ScheduleError> {
        let name = window_schedule_name(&fire.customer, fire.armed_for);
        lock(&self.timers)
            .entry(name)
            .or_insert_with(|| fire.clone());
        Ok(())
    }
}

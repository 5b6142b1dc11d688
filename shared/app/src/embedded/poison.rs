use std::sync::{Arc, Mutex};

use super::lock;
use crate::{KeepError, Poison, PoisonKeeper};

/// The local runner's poison queue: keeps every poison body in memory, oldest
/// first (`GET /_local/poison` shows the records the SQS queue would hold).
#[derive(Debug, Clone, Default)]
pub struct LocalPoisonQueue {
    kept: Arc<Mutex<Vec<Poison>>>,
}

impl LocalPoisonQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything kept so far, oldest first.
    pub fn kept(&self) -> Vec<Poison> {
        lock(&self.kept).clone()
    }
}

impl PoisonKeeper for LocalPoisonQueue {
    async fn keep(&self, poison: &Poison) -> Result<(), KeepError> {
        lock(&self.kept).push(poison.clone());
        Ok(())
    }
}

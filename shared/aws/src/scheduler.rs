//! Window-expiry timers as one-time EventBridge Scheduler schedules.

use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, Target,
};
use aws_sdk_scheduler::Client;
use chrono::{DurationRound, TimeDelta};
use wadesk_app::ports::{offer_schedule_name, window_schedule_name};
use wadesk_app::{ScheduleError, TimerScheduler};
use wadesk_domain::{OfferTimeout, TimerInput, Timestamp, WindowFire};

#[derive(Debug, Clone)]
pub struct EventBridgeScheduler {
    client: Client,
    group: String,
    target_arn: String,
    role_arn: String,
    /// Where Scheduler parks a fire it could not deliver after its retries
    /// (`WADESK_SCHEDULE_DLQ_ARN`): nothing of a timer is lost silently.
    dead_letter_arn: Option<String>,
}

impl EventBridgeScheduler {
    /// Every schedule created from now on parks undeliverable fires in `arn`.
    pub fn with_dead_letter_queue(mut self, arn: Option<String>) -> Self {
        self.dead_letter_arn = arn;
        self
    }

    pub fn new(
        client: Client,
        group: impl Into<String>,
        target_arn: impl Into<String>,
        role_arn: impl Into<String>,
    ) -> Self {
        Self {
            client,
            group: group.into(),
            target_arn: target_arn.into(),
            role_arn: role_arn.into(),
            dead_letter_arn: None,
        }
    }
}

/// `at(...)` has whole seconds; round up so a fire never comes before its expiry.
pub fn at_expression(at: Timestamp) -> String {
    let second = TimeDelta::seconds(1);
    let rounded = if at.duration_trunc(second).is_ok_and(|t| t == at) {
        at
    } else {
        at.duration_trunc(second).map_or(at, |t| t + second)
    };
    format!("at({})", rounded.format("%Y-%m-%dT%H:%M:%S"))
}

impl EventBridgeScheduler {
    /// Creates one one-time schedule that calls the timer function with `input`.
    async fn create(
        &self,
        name: String,
        at: Timestamp,
        input: &TimerInput,
    ) -> Result<(), ScheduleError> {
        let input = serde_json::to_string(input).map_err(ScheduleError::new)?;
        let target = Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(185)
                    .maximum_event_age_in_seconds(86_400)
                    .build(),
            )
            .set_dead_letter_config(
                self.dead_letter_arn
                    .as_ref()
                    .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            .build()
            .map_err(ScheduleError::new)?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(ScheduleError::new)?;
        let created = self
            .client
            .create_schedule()
            .name(name)
            .group_name(&self.group)
            .schedule_expression(at_expression(at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // The name is deterministic: a conflict means this very timer is armed.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(ScheduleError::new(e)),
        }
    }
}

impl TimerScheduler for EventBridgeScheduler {
    #[tracing::instrument(skip_all, fields(armed_for = %fire.armed_for), err)]
    async fn arm_window(&self, fire: &WindowFire) -> Result<(), ScheduleError> {
        let name = window_schedule_name(&fire.customer, fire.armed_for);
        self.create(name, fire.armed_for, &TimerInput::Window(fire.clone()))
            .await
    }

    #[tracing::instrument(skip_all, fields(conversation_id = %offer.conversation_id), err)]
    async fn arm_offer(&self, offer: &OfferTimeout) -> Result<(), ScheduleError> {
        self.create(
            offer_schedule_name(offer),
            offer.due_at,
            &TimerInput::Offer(offer.clone()),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(armed_for = %armed_for), err)]
    async fn cancel_window(
        &self,
        customer: &wadesk_domain::CustomerKey,
        armed_for: Timestamp,
    ) -> Result<bool, ScheduleError> {
        let deleted = self
            .client
            .delete_schedule()
            .group_name(&self.group)
            .name(window_schedule_name(customer, armed_for))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(true),
            // Fired (and deleted after completion) or never armed: nothing pending.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(ScheduleError::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expressions_round_up_to_the_second() {
        let exact = chrono::DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default();
        assert_eq!(at_expression(exact), "at(2026-11-24T12:00:00)");
        let fraction = exact + TimeDelta::milliseconds(1);
        assert_eq!(at_expression(fraction), "at(2026-11-24T12:00:01)");
    }
}

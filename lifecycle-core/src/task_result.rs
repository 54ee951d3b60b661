//! [`TaskResult`]: what a task's future may return.

use std::fmt::Display;

use crate::shutdown_report::ShutdownReport;
use crate::stop_report::StopReport;

/// The output of a task future (or a rollback step): `()` always succeeds; `Result<T, E>`
/// fails with `E`'s message; a [`StopReport`] or [`ShutdownReport`] succeeds when clean and
/// fails with the report otherwise.
pub trait TaskResult: Send + 'static {
    /// `Ok(())` or the error's message.
    fn into_task_result(self) -> Result<(), String>;
}

impl TaskResult for () {
    #[inline]
    fn into_task_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<T: Send + 'static, E: Display + Send + 'static> TaskResult for Result<T, E> {
    #[inline]
    fn into_task_result(self) -> Result<(), String> {
        self.map(drop).map_err(|e| e.to_string())
    }
}

impl TaskResult for StopReport {
    fn into_task_result(self) -> Result<(), String> {
        if self.is_clean() {
            Ok(())
        } else {
            Err(self.to_string())
        }
    }
}

impl TaskResult for ShutdownReport {
    fn into_task_result(self) -> Result<(), String> {
        if self.is_clean() {
            Ok(())
        } else {
            Err(self.to_string())
        }
    }
}

/// The message of a caught panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::priority::ShutdownPriority;
    use crate::shutdown_report::{PhaseReport, ResourceReport};
    use crate::stop_report::{StopDetails, StopOutcome};

    fn stop_report(errors: &[&str]) -> StopReport {
        let details = errors
            .iter()
            .fold(StopDetails::new(), |details, error| details.error(error));
        StopReport::new("feed", Duration::ZERO, None, None, details, false)
    }

    fn shutdown_report(resource: StopReport) -> ShutdownReport {
        ShutdownReport {
            name: "system".into(),
            budget: Duration::from_secs(1),
            duration: Duration::ZERO,
            phases: vec![PhaseReport {
                priority: ShutdownPriority::Medium,
                duration: Duration::ZERO,
                resources: vec![ResourceReport {
                    name: resource.component.clone(),
                    priority: ShutdownPriority::Medium,
                    duration: Duration::ZERO,
                    outcome: resource.outcome,
                    report: Some(resource),
                    stopped_before_users: Vec::new(),
                }],
            }],
        }
    }

    #[test]
    fn a_clean_report_succeeds_and_an_unclean_one_fails_with_the_report() {
        assert_eq!(stop_report(&[]).into_task_result(), Ok(()));
        let failed = stop_report(&["socket refused to close"]);
        assert_eq!(failed.outcome, StopOutcome::Failed);
        let message = failed.clone().into_task_result().unwrap_err();
        assert_eq!(message, failed.to_string());
        assert!(message.contains("socket refused to close"), "{message}");

        assert_eq!(shutdown_report(stop_report(&[])).into_task_result(), Ok(()));
        let unclean = shutdown_report(failed);
        let message = unclean.clone().into_task_result().unwrap_err();
        assert_eq!(message, unclean.to_string());
        assert!(message.contains("feed"), "{message}");
    }
}

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

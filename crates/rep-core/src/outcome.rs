use std::path::PathBuf;

use crate::exit::ExitClass;

/// How a step ended: what the binary prints and which exit code it returns.
///
/// Every step function in the workspace returns one of these rather than an error, because a
/// step must still write its report (`success=false`) and contain the run when it fails; the
/// binary only prints `summary` and exits with `class`.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// The exit class.
    pub class: ExitClass,
    /// One line: the verdict on success, what is wrong and what to do on failure. Never holds
    /// a secret.
    pub summary: String,
    /// The report written, when one was.
    pub report: Option<PathBuf>,
}

impl StepOutcome {
    /// A step that ended with `class`.
    pub fn new(
        class: ExitClass,
        summary: impl Into<String>,
        report: Option<PathBuf>,
    ) -> StepOutcome {
        StepOutcome {
            class,
            summary: summary.into(),
            report,
        }
    }
}

/// A step that could not reach its verdict: the exit class and the one line that says what is
/// wrong and what to do. Each crate converts its own errors into this, so that every step ends
/// the same way (report written, line printed, code returned).
#[derive(Debug, Clone)]
pub struct StepFailure {
    /// The exit class.
    pub class: ExitClass,
    /// One line, no secret.
    pub message: String,
}

impl StepFailure {
    /// A failure of `class`.
    pub fn new(class: ExitClass, message: impl Into<String>) -> StepFailure {
        StepFailure {
            class,
            message: message.into(),
        }
    }
}

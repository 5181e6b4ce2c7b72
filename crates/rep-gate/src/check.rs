use serde::Serialize;

/// The outcome of one check, as SPEC.md names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// The check holds.
    Pass,
    /// The check failed: the verdict is negative.
    Fail,
    /// Worth a look, not blocking.
    Warn,
}

/// One listed check: `name`, `status`, `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable check name.
    pub name: String,
    /// Outcome.
    pub status: CheckStatus,
    /// One line: what was seen.
    pub detail: String,
}

impl Check {
    /// A passing check.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, CheckStatus::Pass, detail)
    }

    /// A failing check.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, CheckStatus::Fail, detail)
    }

    /// A warning.
    pub fn warn(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, CheckStatus::Warn, detail)
    }

    /// A check that holds when `ok`.
    pub fn expect(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> Check {
        let status = if ok {
            CheckStatus::Pass
        } else {
            CheckStatus::Fail
        };
        Check::new(name, status, detail)
    }

    fn new(name: impl Into<String>, status: CheckStatus, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status,
            detail: detail.into(),
        }
    }

    /// True for `fail`.
    pub fn failed(&self) -> bool {
        self.status == CheckStatus::Fail
    }
}

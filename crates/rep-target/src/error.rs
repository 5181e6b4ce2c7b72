use rep_core::{ExitClass, SecretSet};

/// SQLSTATE raised by the apply guard when the advisory lock is held by another apply.
pub(crate) const SQLSTATE_APPLY_BUSY: &str = "RP001";
/// SQLSTATE raised by the apply guard when the run was contained or rolled back.
pub(crate) const SQLSTATE_RUN_CLOSED: &str = "RP002";
/// SQLSTATE raised by the apply guard when the run is recorded with another snapshot.
pub(crate) const SQLSTATE_RUN_OTHER_SNAPSHOT: &str = "RP003";

/// A failure talking to the target. Every message is one line that never holds the URL's
/// password: driver messages pass through [`SecretSet::redact`] before they are stored here.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// No connection could be opened after the retries.
    #[error("target unreachable at {target}: {cause}; check REPLICA_TARGET_DB_URL and that the server accepts TLS")]
    Unreachable {
        /// The redacted URL.
        target: String,
        /// The driver's last error, redacted.
        cause: String,
    },
    /// The URL was refused by the driver before any connection was attempted.
    #[error("REPLICA_TARGET_DB_URL ({target}) is not usable: {cause}")]
    BadUrl {
        /// The redacted URL.
        target: String,
        /// Why, redacted.
        cause: String,
    },
    /// A statement failed.
    #[error("target {operation} failed{}{}: {cause}{}",
        entity_kind.as_deref().map(|k| format!(" for entity kind {k}")).unwrap_or_default(),
        run_id.as_deref().map(|r| format!(" (run {r})")).unwrap_or_default(),
        code.as_deref().map(|c| format!(" [SQLSTATE {c}]")).unwrap_or_default())]
    Query {
        /// What was being done (`reading the window`, `applying the snapshot`…).
        operation: &'static str,
        /// The entity kind concerned, if any.
        entity_kind: Option<String>,
        /// The run concerned, if any.
        run_id: Option<String>,
        /// The SQLSTATE, when the server answered with one.
        code: Option<String>,
        /// The driver's message, redacted.
        cause: String,
    },
    /// Another `rep-import --apply` holds the target's apply lock.
    #[error("another rep-import --apply is writing this target; wait for it to finish")]
    ApplyBusy,
    /// The run was contained or rolled back: applying it again would undo the containment.
    #[error("run {run_id} cannot be applied: {detail}")]
    RunClosed {
        /// The run.
        run_id: String,
        /// The server's explanation.
        detail: String,
    },
    /// `replication_runs_v1` records this run with a different snapshot.
    #[error("integrity error: run {run_id}: {detail}")]
    RunOtherSnapshot {
        /// The run.
        run_id: String,
        /// The server's explanation.
        detail: String,
    },
    /// Rows changed between the plan and the write inside the apply transaction.
    #[error("target changed while applying run {run_id} (entity kind {entity_kind}: planned {planned_new} new and {planned_changed} changed, wrote {inserted} inserts and {updated} updates); the transaction was rolled back: run the dry-run again")]
    PlanDrift {
        /// The run.
        run_id: String,
        /// The kind whose counts differ.
        entity_kind: String,
        /// Rows planned as new.
        planned_new: u64,
        /// Rows planned as changed.
        planned_changed: u64,
        /// Rows inserted.
        inserted: u64,
        /// Rows updated.
        updated: u64,
    },
    /// The run cannot be undone as asked.
    #[error("run {run_id} cannot be undone: {detail}")]
    UndoRefused {
        /// The run.
        run_id: String,
        /// Why, and what to do.
        detail: String,
    },
}

impl TargetError {
    /// The exit class a binary should use for this error.
    pub fn exit_class(&self) -> ExitClass {
        match self {
            TargetError::Unreachable { .. } | TargetError::Query { .. } => ExitClass::Runtime,
            TargetError::PlanDrift { .. } => ExitClass::Runtime,
            TargetError::BadUrl { .. } => ExitClass::Usage,
            TargetError::ApplyBusy
            | TargetError::RunClosed { .. }
            | TargetError::UndoRefused { .. } => ExitClass::Negative,
            TargetError::RunOtherSnapshot { .. } => ExitClass::Integrity,
        }
    }
}

/// Builds [`TargetError::Query`] values with their context; the driver error is redacted here,
/// the only place sqlx errors are turned into text.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) secrets: &'a SecretSet,
    pub(crate) operation: &'static str,
    pub(crate) entity_kind: Option<&'a str>,
    pub(crate) run_id: Option<&'a str>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(secrets: &'a SecretSet, operation: &'static str) -> Ctx<'a> {
        Ctx {
            secrets,
            operation,
            entity_kind: None,
            run_id: None,
        }
    }

    pub(crate) fn kind(mut self, entity_kind: &'a str) -> Ctx<'a> {
        self.entity_kind = Some(entity_kind);
        self
    }

    pub(crate) fn run(mut self, run_id: &'a str) -> Ctx<'a> {
        self.run_id = Some(run_id);
        self
    }

    /// Maps a driver error; the guard's own SQLSTATEs become their dedicated variants.
    pub(crate) fn err(self, e: sqlx::Error) -> TargetError {
        let (code, message) = match &e {
            sqlx::Error::Database(db) => (
                db.code().map(|c| c.into_owned()),
                one_line(&self.secrets.redact(db.message())),
            ),
            other => (None, one_line(&self.secrets.redact(&other.to_string()))),
        };
        let run_id = self.run_id.unwrap_or_default().to_string();
        match code.as_deref() {
            Some(SQLSTATE_APPLY_BUSY) => TargetError::ApplyBusy,
            Some(SQLSTATE_RUN_CLOSED) => TargetError::RunClosed {
                run_id,
                detail: message,
            },
            Some(SQLSTATE_RUN_OTHER_SNAPSHOT) => TargetError::RunOtherSnapshot {
                run_id,
                detail: message,
            },
            _ => TargetError::Query {
                operation: self.operation,
                entity_kind: self.entity_kind.map(str::to_string),
                run_id: self.run_id.map(str::to_string),
                code,
                cause: message,
            },
        }
    }
}

/// Driver messages may span lines (a server DETAIL); the contract is one line per failure.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

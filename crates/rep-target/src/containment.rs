use crate::connect::TargetDb;
use crate::error::{Ctx, TargetError};

/// The runbook's containment statement (see the SQL file), parameterised: `$1` run_id,
/// `$2` reason.
pub(crate) const CONTAIN_RUN: &str = "UPDATE public.replication_runs_v1 SET status = 'failed', ended_at = now(), metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('containment_reason', $2::text) WHERE run_id = $1";

/// What `replication_runs_v1` records about a run, as far as an apply cares.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub(crate) struct RunState {
    pub(crate) status: String,
    pub(crate) containment_reason: Option<String>,
    pub(crate) snapshot_sha256: Option<String>,
}

impl RunState {
    /// Why an apply of this run with `snapshot_sha256` would be refused by the guard (the
    /// same conditions as `sql::guard`), if it would.
    pub(crate) fn apply_refusal(&self, snapshot_sha256: &str) -> Option<String> {
        if self.status == "rolled_back" || self.containment_reason.is_some() {
            Some(format!(
                "it is {} in public.replication_runs_v1 (containment_reason {})",
                self.status,
                self.containment_reason.as_deref().unwrap_or("none")
            ))
        } else {
            match &self.snapshot_sha256 {
                Some(recorded) if recorded != snapshot_sha256 => Some(format!(
                    "public.replication_runs_v1 records it with snapshot sha256 {recorded}"
                )),
                _ => None,
            }
        }
    }
}

impl TargetDb {
    /// The recorded state of `run_id`, if it has a row.
    pub(crate) async fn run_state(&self, run_id: &str) -> Result<Option<RunState>, TargetError> {
        sqlx::query_as(
            "SELECT status, metadata ->> 'containment_reason' AS containment_reason, snapshot_sha256
               FROM public.replication_runs_v1 WHERE run_id = $1",
        )
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| Ctx::new(&self.secrets, "read of the run").run(run_id).err(e))
    }

    /// Marks `run_id` failed with `metadata.containment_reason = reason` (the runbook's SQL).
    ///
    /// Returns `true` when the run already had a row and it was updated. A run without a row
    /// (contained before it was ever applied) gets one with status `failed`, so the
    /// containment is always on record; `false` is returned then.
    pub async fn contain_run(&self, run_id: &str, reason: &str) -> Result<bool, TargetError> {
        let ctx = Ctx::new(&self.secrets, "containment").run(run_id);
        let mut tx = self.pool.begin().await.map_err(|e| ctx.err(e))?;
        let updated = sqlx::query(CONTAIN_RUN)
            .bind(run_id)
            .bind(reason)
            .execute(&mut *tx)
            .await
            .map_err(|e| ctx.err(e))?
            .rows_affected();
        if updated == 0 {
            // ON CONFLICT covers an apply registering the same run between the two statements.
            sqlx::query(
                "INSERT INTO public.replication_runs_v1 AS r (run_id, status, ended_at, metadata)
                 VALUES ($1, 'failed', now(), jsonb_build_object('containment_reason', $2::text))
                 ON CONFLICT (run_id) DO UPDATE SET status = 'failed', ended_at = now(),
                     metadata = coalesce(r.metadata, '{}'::jsonb) || EXCLUDED.metadata",
            )
            .bind(run_id)
            .bind(reason)
            .execute(&mut *tx)
            .await
            .map_err(|e| ctx.err(e))?;
        }
        tx.commit().await.map_err(|e| ctx.err(e))?;
        Ok(updated > 0)
    }

    /// Records that an apply of `run_id` failed and was rolled back (a short transaction of
    /// its own, after the rollback). A run that an earlier apply left `applied` keeps that
    /// status, since its rows are still exactly what that apply wrote; the error is kept in
    /// `metadata.last_error` then.
    pub(crate) async fn record_apply_failure(
        &self,
        run_id: &str,
        error: &str,
        window: (&str, &str),
        hashes: (&str, &str),
    ) -> Result<(), TargetError> {
        let ctx = Ctx::new(&self.secrets, "recording the failed apply").run(run_id);
        sqlx::query(
            "INSERT INTO public.replication_runs_v1 AS r
                 (run_id, status, ended_at, metadata, window_start, window_end, snapshot_sha256, manifest_sha256)
             VALUES ($1, 'failed', now(), jsonb_build_object('error', $2::text),
                     $3::timestamptz, $4::timestamptz, $5, $6)
             ON CONFLICT (run_id) DO UPDATE SET
                 status = CASE WHEN r.status = 'applied' THEN r.status ELSE 'failed' END,
                 ended_at = CASE WHEN r.status = 'applied' THEN r.ended_at ELSE now() END,
                 metadata = r.metadata || CASE WHEN r.status = 'applied'
                     THEN jsonb_build_object('last_error', $2::text)
                     ELSE jsonb_build_object('error', $2::text) END",
        )
        .bind(run_id)
        .bind(error)
        .bind(window.0)
        .bind(window.1)
        .bind(hashes.0)
        .bind(hashes.1)
        .execute(&self.pool)
        .await
        .map_err(|e| ctx.err(e))?;
        Ok(())
    }
}

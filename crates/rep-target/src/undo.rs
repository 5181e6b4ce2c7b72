use serde::Serialize;

use crate::connect::TargetDb;
use crate::error::{Ctx, TargetError};
use crate::sql::APPLY_LOCK_KEY;

/// What [`TargetDb::undo_run`] restored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UndoSummary {
    /// Rows the run had inserted, now deleted.
    pub deleted: u64,
    /// Rows the run had updated, now back to their before-image.
    pub restored: u64,
}

/// Ids listed in a refusal; the rest are counted.
const SAMPLE: i64 = 10;

impl TargetDb {
    /// Undoes an applied run exactly: every row it inserted is deleted and every row it
    /// updated gets back its before-image (payload, canonical bytes, hash, watermark, last
    /// run and replication time), in one transaction under the apply lock. The run is then
    /// `rolled_back` with `metadata.undo` and `metadata.undo_reason`.
    ///
    /// Refused, changing nothing, when the run is unknown or already rolled back, or when a
    /// later run changed any of its rows since (undo that run first): restoring those would
    /// silently drop the later change.
    pub async fn undo_run(&self, run_id: &str, reason: &str) -> Result<UndoSummary, TargetError> {
        let ctx = Ctx::new(&self.secrets, "undo").run(run_id);
        let refuse = |detail: String| TargetError::UndoRefused {
            run_id: run_id.to_string(),
            detail,
        };
        let mut tx = self.pool.begin().await.map_err(|e| ctx.err(e))?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(APPLY_LOCK_KEY)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| ctx.err(e))?;
        if !locked {
            return Err(TargetError::ApplyBusy);
        }
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM public.replication_runs_v1 WHERE run_id = $1 FOR UPDATE",
        )
        .bind(run_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| ctx.err(e))?;
        match status.as_deref() {
            None => {
                return Err(refuse(
                    "it is not recorded in public.replication_runs_v1; check the run_id".into(),
                ))
            }
            Some("rolled_back") => return Err(refuse("it is already rolled back".into())),
            Some(_) => {}
        }

        let (changed, sample): (i64, Vec<String>) = sqlx::query_as(
            "WITH last_write AS (
                 SELECT DISTINCT ON (entity_kind, entity_id) entity_kind, entity_id, new_row_hash
                   FROM public.replication_row_history_v1
                  WHERE run_id = $1
                  ORDER BY entity_kind, entity_id, history_id DESC
             ), moved AS (
                 SELECT w.entity_kind || '/' || w.entity_id AS label
                   FROM last_write w
                   LEFT JOIN public.replicated_entities_v1 e
                     ON e.entity_kind = w.entity_kind AND e.entity_id = w.entity_id
                  WHERE e.entity_id IS NULL OR e.last_run_id <> $1 OR e.row_hash <> w.new_row_hash
                  ORDER BY 1
             )
             SELECT (SELECT count(*) FROM moved),
                    coalesce((SELECT array_agg(label) FROM (SELECT label FROM moved LIMIT $2) s), '{}')",
        )
        .bind(run_id)
        .bind(SAMPLE)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| ctx.err(e))?;
        if changed > 0 {
            return Err(refuse(format!(
                "{changed} of its rows changed since it was applied (e.g. {}); undo the later runs first",
                sample.join(", ")
            )));
        }

        // The first before-image of a row is its state before the run, even if the run was
        // applied more than once.
        let (deleted, restored): (i64, i64) = sqlx::query_as(
            "WITH first_image AS (
                 SELECT DISTINCT ON (entity_kind, entity_id) *
                   FROM public.replication_row_history_v1
                  WHERE run_id = $1
                  ORDER BY entity_kind, entity_id, history_id
             ), deleted AS (
                 DELETE FROM public.replicated_entities_v1 e
                  USING first_image h
                  WHERE h.action = 'insert'
                    AND e.entity_kind = h.entity_kind AND e.entity_id = h.entity_id
                 RETURNING 1
             ), restored AS (
                 UPDATE public.replicated_entities_v1 e
                    SET payload = h.previous_payload,
                        payload_canonical = h.previous_payload_canonical,
                        row_hash = h.previous_row_hash,
                        source_watermark = h.previous_source_watermark,
                        last_run_id = h.previous_last_run_id,
                        replicated_at = h.previous_replicated_at
                   FROM first_image h
                  WHERE h.action = 'update'
                    AND e.entity_kind = h.entity_kind AND e.entity_id = h.entity_id
                 RETURNING 1
             )
             SELECT (SELECT count(*) FROM deleted), (SELECT count(*) FROM restored)",
        )
        .bind(run_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| ctx.err(e))?;

        sqlx::query(
            "UPDATE public.replication_runs_v1
                SET status = 'rolled_back', ended_at = now(),
                    metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object(
                        'undo', jsonb_build_object('deleted', $2::bigint, 'restored', $3::bigint,
                                                   'at', now()),
                        'undo_reason', $4::text)
              WHERE run_id = $1",
        )
        .bind(run_id)
        .bind(deleted)
        .bind(restored)
        .bind(reason)
        .execute(&mut *tx)
        .await
        .map_err(|e| ctx.err(e))?;
        tx.commit().await.map_err(|e| ctx.err(e))?;
        Ok(UndoSummary {
            deleted: deleted as u64,
            restored: restored as u64,
        })
    }
}

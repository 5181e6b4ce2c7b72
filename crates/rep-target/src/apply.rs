use std::collections::BTreeMap;

use rep_core::SnapshotRow;
use serde::{Deserialize, Serialize};

use crate::connect::TargetDb;
use crate::error::{Ctx, TargetError};
use crate::plan::{plan, Plan, BATCH};
use crate::sql;

/// What an apply did to the rows of one entity kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindApplied {
    /// Rows inserted.
    pub inserted: u64,
    /// Rows updated.
    pub updated: u64,
    /// Rows already identical in the target (not rewritten).
    pub unchanged: u64,
    /// Rows skipped because the target holds a newer version.
    pub skipped_older: u64,
}

/// The run values the apply statements read through `rep_import.*` settings.
#[derive(Debug, Clone)]
pub(crate) struct RunValues {
    pub(crate) run_id: String,
    pub(crate) window_start: String,
    pub(crate) window_end: String,
    pub(crate) snapshot_sha256: String,
    pub(crate) manifest_sha256: String,
}

impl RunValues {
    /// The settings in [`sql::SETTINGS`] order; `metadata` last.
    pub(crate) fn settings(&self, metadata: &str) -> Vec<(&'static str, String)> {
        let values = [
            self.run_id.as_str(),
            &self.window_start,
            &self.window_end,
            &self.snapshot_sha256,
            &self.manifest_sha256,
            metadata,
        ];
        sql::SETTINGS
            .into_iter()
            .zip(values.into_iter().map(str::to_string))
            .collect()
    }
}

/// Sets a transaction-local `rep_import.*` setting, as a bound parameter.
async fn set_local(
    conn: &mut sqlx::PgConnection,
    ctx: Ctx<'_>,
    name: &str,
    value: &str,
) -> Result<(), TargetError> {
    sqlx::query("SELECT set_config($1, $2, true)")
        .bind(name)
        .bind(value)
        .execute(conn)
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(())
}

/// The result of a committed apply.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    /// The plan made inside the transaction, after the lock.
    pub(crate) plan: Plan,
    /// What was written, per kind.
    pub(crate) applied: BTreeMap<String, KindApplied>,
}

/// Applies `rows` in one transaction: lock and guard, plan, register the run, upsert every
/// kind in batches with before-images, mark the run applied, commit. Any error drops the
/// transaction, which rolls everything back.
pub(crate) async fn apply(
    db: &TargetDb,
    values: &RunValues,
    kinds: &[String],
    rows: &[SnapshotRow],
    metadata: impl Fn(&Plan) -> String,
) -> Result<Applied, TargetError> {
    let run_id = values.run_id.as_str();
    let ctx = Ctx::new(&db.secrets, "apply").run(run_id);
    let mut tx = db.pool.begin().await.map_err(|e| ctx.err(e))?;

    // The metadata setting gets its final value once the plan is known.
    for (name, value) in values.settings("{}") {
        set_local(&mut tx, ctx, name, &value).await?;
    }
    sqlx::raw_sql(&sql::guard())
        .execute(&mut *tx)
        .await
        .map_err(|e| ctx.err(e))?;

    let plan = plan(&mut tx, &db.secrets, kinds, rows).await?;
    set_local(&mut tx, ctx, "rep_import.metadata", &metadata(&plan)).await?;
    sqlx::query(sql::REGISTER_RUN)
        .execute(&mut *tx)
        .await
        .map_err(|e| ctx.err(e))?;

    let upsert = sql::upsert(sql::INPUT_FROM_ARRAYS);
    let mut applied: BTreeMap<String, KindApplied> = plan
        .keys()
        .map(|k| (k.clone(), KindApplied::default()))
        .collect();
    // Snapshot rows are grouped by kind, so each group is one kind's rows.
    for group in rows.chunk_by(|a, b| a.entity_kind == b.entity_kind) {
        let kind = group[0].entity_kind.as_str();
        let kind_ctx = ctx.kind(kind);
        let entry = applied.entry(kind.to_string()).or_default();
        for chunk in group.chunks(BATCH) {
            let column = |f: fn(&SnapshotRow) -> &str| chunk.iter().map(f).collect::<Vec<_>>();
            let (inserted, updated): (i64, i64) = sqlx::query_as(&upsert)
                .bind(column(|r| &r.entity_kind))
                .bind(column(|r| &r.entity_id))
                .bind(column(|r| &r.payload))
                .bind(column(|r| &r.row_hash))
                .bind(column(|r| &r.watermark))
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| kind_ctx.err(e))?;
            entry.inserted += inserted as u64;
            entry.updated += updated as u64;
        }
    }

    for (kind, done) in applied.iter_mut() {
        let planned = plan.get(kind).copied().unwrap_or_default();
        // The lock keeps other applies out, but not other writers: if the rows moved under
        // us, the plan the report would show is not what happened.
        if done.inserted != planned.new || done.updated != planned.changed {
            return Err(TargetError::PlanDrift {
                run_id: run_id.to_string(),
                entity_kind: kind.clone(),
                planned_new: planned.new,
                planned_changed: planned.changed,
                inserted: done.inserted,
                updated: done.updated,
            });
        }
        done.unchanged = planned.unchanged;
        done.skipped_older = planned.older_than_target;
    }

    sqlx::query(sql::FINALIZE_RUN)
        .execute(&mut *tx)
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    Ok(Applied { plan, applied })
}

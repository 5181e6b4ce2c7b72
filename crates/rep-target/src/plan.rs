use std::collections::{BTreeMap, HashMap};

use rep_core::{SecretSet, SnapshotRow};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::connect::TargetDb;
use crate::error::{Ctx, TargetError};

/// Ids per `= ANY($2)` lookup: large enough to keep round trips few, small enough to keep
/// each statement's parameter well under the protocol's message limits.
pub(crate) const BATCH: usize = 2000;

/// How the rows of one entity kind compare with the target before an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindPlan {
    /// Absent from the target: would be inserted.
    pub new: u64,
    /// Different `row_hash` and a watermark at or after the target's: would be updated.
    pub changed: u64,
    /// Same `row_hash`: left as it is.
    pub unchanged: u64,
    /// Different `row_hash` but an older watermark than the target's: skipped, so that a
    /// replica never goes back in time.
    pub older_than_target: u64,
}

impl KindPlan {
    /// Adds another plan's counts.
    pub fn add(&mut self, other: &KindPlan) {
        self.new += other.new;
        self.changed += other.changed;
        self.unchanged += other.unchanged;
        self.older_than_target += other.older_than_target;
    }
}

/// The per-kind plan of a snapshot, every kind of the manifest present (zero rows included).
pub(crate) type Plan = BTreeMap<String, KindPlan>;

/// Compares `rows` with the target through `conn` (a read-only transaction for a dry-run,
/// the apply transaction after its lock for `--apply`).
pub(crate) async fn plan(
    conn: &mut PgConnection,
    secrets: &SecretSet,
    kinds: &[String],
    rows: &[SnapshotRow],
) -> Result<Plan, TargetError> {
    let mut plan: Plan = kinds
        .iter()
        .map(|k| (k.clone(), KindPlan::default()))
        .collect();
    let mut by_kind: BTreeMap<&str, Vec<&SnapshotRow>> = BTreeMap::new();
    for row in rows {
        by_kind.entry(&row.entity_kind).or_default().push(row);
    }
    for (kind, rows) in by_kind {
        let ctx = Ctx::new(secrets, "planning the import").kind(kind);
        let entry = plan.entry(kind.to_string()).or_default();
        for chunk in rows.chunks(BATCH) {
            let ids: Vec<&str> = chunk.iter().map(|r| r.entity_id.as_str()).collect();
            let found: Vec<(String, String, String)> = sqlx::query_as(
                r#"SELECT entity_id, row_hash,
                          to_char(source_watermark AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                     FROM public.replicated_entities_v1
                    WHERE entity_kind = $1 AND entity_id = ANY($2::text[])"#,
            )
            .bind(kind)
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| ctx.err(e))?;
            let target: HashMap<String, (String, String)> = found
                .into_iter()
                .map(|(id, hash, watermark)| (id, (hash, watermark)))
                .collect();
            for row in chunk {
                classify(
                    entry,
                    row,
                    target
                        .get(&row.entity_id)
                        .map(|(h, w)| (h.as_str(), w.as_str())),
                );
            }
        }
    }
    Ok(plan)
}

impl TargetDb {
    /// Plans `rows` in a read-only transaction: a dry-run cannot write even by mistake.
    pub(crate) async fn plan_read_only(
        &self,
        kinds: &[String],
        rows: &[SnapshotRow],
    ) -> Result<Plan, TargetError> {
        let ctx = Ctx::new(&self.secrets, "dry-run planning");
        let mut tx = self.pool.begin().await.map_err(|e| ctx.err(e))?;
        sqlx::query("SET TRANSACTION READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(|e| ctx.err(e))?;
        let plan = plan(&mut tx, &self.secrets, kinds, rows).await?;
        tx.rollback().await.map_err(|e| ctx.err(e))?;
        Ok(plan)
    }
}

/// The same rule as the upsert's `WHERE`: both watermarks are UTC text with six fractional
/// digits, so text order is time order.
fn classify(plan: &mut KindPlan, row: &SnapshotRow, target: Option<(&str, &str)>) {
    match target {
        None => plan.new += 1,
        Some((hash, _)) if hash == row.row_hash => plan.unchanged += 1,
        Some((_, watermark)) if row.watermark.as_str() < watermark => plan.older_than_target += 1,
        Some(_) => plan.changed += 1,
    }
}

/// Totals over kinds.
pub(crate) fn totals(plan: &Plan) -> KindPlan {
    let mut total = KindPlan::default();
    for p in plan.values() {
        total.add(p);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_never_regresses() {
        let row = SnapshotRow {
            entity_kind: "k".into(),
            entity_id: "1".into(),
            watermark: "2026-03-02T00:00:00.000000Z".into(),
            row_hash: "b".into(),
            payload: "{}".into(),
        };
        let mut p = KindPlan::default();
        classify(&mut p, &row, None);
        classify(&mut p, &row, Some(("b", "2026-03-09T00:00:00.000000Z")));
        classify(&mut p, &row, Some(("a", "2026-03-02T00:00:00.000000Z")));
        classify(&mut p, &row, Some(("a", "2026-03-01T23:59:59.999999Z")));
        classify(&mut p, &row, Some(("a", "2026-03-02T00:00:00.000001Z")));
        assert_eq!(
            p,
            KindPlan {
                new: 1,
                changed: 2,
                unchanged: 1,
                older_than_target: 1
            }
        );
    }
}

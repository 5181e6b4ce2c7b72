use time::OffsetDateTime;

use crate::connect::TargetDb;
use crate::error::{Ctx, TargetError};
use crate::plan::BATCH;

/// One row of `public.replicated_entities_v1` as reconcile compares it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TargetRow {
    /// The entity kind.
    pub entity_kind: String,
    /// The entity id.
    pub entity_id: String,
    /// The stored `row_hash`.
    pub row_hash: String,
    /// The watermark as every artefact writes it: UTC, six fractional digits, `Z`.
    pub source_watermark: String,
    /// The stored canonical JSON bytes.
    pub payload_canonical: String,
    /// The last run that wrote the row.
    pub last_run_id: String,
    /// `payload = payload_canonical::jsonb`, computed by PostgreSQL: the jsonb column holds
    /// the same value as the canonical text.
    pub jsonb_consistent: bool,
    /// `sha256(payload_canonical) = row_hash`, computed by PostgreSQL over the stored bytes.
    pub hash_consistent: bool,
}

/// The columns of [`TargetRow`]; the consistency flags are computed by the server so that
/// they judge the bytes it stores, not a copy decoded by the client.
const ROW_COLUMNS: &str = r#"entity_kind, entity_id, row_hash,
       to_char(source_watermark AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS source_watermark,
       payload_canonical, last_run_id,
       coalesce(payload = payload_canonical::jsonb, false) AS jsonb_consistent,
       coalesce(encode(sha256(convert_to(payload_canonical, 'UTF8')), 'hex') = row_hash, false) AS hash_consistent"#;

impl TargetDb {
    /// Rows of `entity_kind` whose `source_watermark` lies in `[start, end)`, ordered like the
    /// snapshot (watermark, then id).
    pub async fn window_rows(
        &self,
        entity_kind: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<Vec<TargetRow>, TargetError> {
        sqlx::query_as(&format!(
            "SELECT {ROW_COLUMNS}
               FROM public.replicated_entities_v1
              WHERE entity_kind = $1 AND source_watermark >= $2 AND source_watermark < $3
              ORDER BY source_watermark, entity_id"
        ))
        .bind(entity_kind)
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| {
            Ctx::new(&self.secrets, "read of the window")
                .kind(entity_kind)
                .err(e)
        })
    }

    /// Rows of `entity_kind` with the given ids, whatever their watermark.
    pub async fn rows_by_ids(
        &self,
        entity_kind: &str,
        ids: &[String],
    ) -> Result<Vec<TargetRow>, TargetError> {
        let mut rows = Vec::new();
        for chunk in ids.chunks(BATCH) {
            let found: Vec<TargetRow> = sqlx::query_as(&format!(
                "SELECT {ROW_COLUMNS}
                   FROM public.replicated_entities_v1
                  WHERE entity_kind = $1 AND entity_id = ANY($2::text[])
                  ORDER BY entity_id"
            ))
            .bind(entity_kind)
            .bind(chunk)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| {
                Ctx::new(&self.secrets, "read of rows by id")
                    .kind(entity_kind)
                    .err(e)
            })?;
            rows.extend(found);
        }
        Ok(rows)
    }

    /// `(entity_id, entity_kind)` for every stored row whose id is among `ids`, in any kind:
    /// how reconcile finds "same id, different kind".
    pub async fn kinds_of_ids(&self, ids: &[String]) -> Result<Vec<(String, String)>, TargetError> {
        let mut pairs = Vec::new();
        for chunk in ids.chunks(BATCH) {
            let found: Vec<(String, String)> = sqlx::query_as(
                "SELECT entity_id, entity_kind
                   FROM public.replicated_entities_v1
                  WHERE entity_id = ANY($1::text[])
                  ORDER BY entity_id, entity_kind",
            )
            .bind(chunk)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| Ctx::new(&self.secrets, "read of kinds by id").err(e))?;
            pairs.extend(found);
        }
        Ok(pairs)
    }
}

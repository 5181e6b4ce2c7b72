use std::collections::{BTreeMap, BTreeSet};

use crate::connect::TargetDb;
use crate::error::{Ctx, TargetError};

/// The migration that creates the target schema, relative to the repository root.
pub const SCHEMA_FILE: &str = "infra/postgres/hostinger/20260228070000_replication_target_v1.sql";

/// Every column the code reads or writes, per table; must match [`SCHEMA_FILE`].
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "replication_runs_v1",
        &[
            "run_id",
            "status",
            "started_at",
            "ended_at",
            "metadata",
            "window_start",
            "window_end",
            "snapshot_sha256",
            "manifest_sha256",
        ],
    ),
    (
        "replicated_entities_v1",
        &[
            "entity_kind",
            "entity_id",
            "payload",
            "payload_canonical",
            "row_hash",
            "source_watermark",
            "first_run_id",
            "last_run_id",
            "replicated_at",
        ],
    ),
    (
        "replication_row_history_v1",
        &[
            "history_id",
            "run_id",
            "entity_kind",
            "entity_id",
            "action",
            "previous_payload",
            "previous_payload_canonical",
            "previous_row_hash",
            "previous_source_watermark",
            "previous_last_run_id",
            "previous_replicated_at",
            "new_row_hash",
            "recorded_txid",
            "recorded_at",
        ],
    ),
];

/// Privileges the connecting role needs per table: import writes runs, entities and history;
/// undo also deletes entities it had inserted.
const PRIVILEGES: &[(&str, &[&str])] = &[
    ("replication_runs_v1", &["SELECT", "INSERT", "UPDATE"]),
    (
        "replicated_entities_v1",
        &["SELECT", "INSERT", "UPDATE", "DELETE"],
    ),
    ("replication_row_history_v1", &["SELECT", "INSERT"]),
];

impl TargetDb {
    /// What of the v1 target schema is absent: whole tables (`public.replicated_entities_v1`),
    /// single columns (`public.replication_runs_v1.window_start`), or privileges the connecting
    /// role lacks on a table. Empty when the schema is applied and usable.
    pub async fn schema_missing(&self) -> Result<Vec<String>, TargetError> {
        let tables: Vec<String> = EXPECTED.iter().map(|(t, _)| t.to_string()).collect();
        // pg_catalog rather than information_schema: the latter hides columns the role has
        // no privilege on, which would be reported as "missing" instead of "not granted".
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.relname::text, a.attname::text
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                AND c.relname = ANY($1::text[])
                AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .bind(&tables)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| Ctx::new(&self.secrets, "schema check").err(e))?;
        let mut present: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (table, column) in rows {
            present.entry(table).or_default().insert(column);
        }
        let mut missing = Vec::new();
        for (table, columns) in EXPECTED {
            match present.get(*table) {
                None => missing.push(format!("public.{table}")),
                Some(have) => missing.extend(
                    columns
                        .iter()
                        .filter(|c| !have.contains(**c))
                        .map(|c| format!("public.{table}.{c}")),
                ),
            }
        }
        for (table, privileges) in PRIVILEGES {
            if !present.contains_key(*table) {
                continue;
            }
            // One privilege per call: with a list, has_table_privilege is true if ANY is held.
            let lacking: Vec<String> = sqlx::query_scalar(
                "SELECT p FROM unnest($2::text[]) AS p WHERE NOT has_table_privilege($1, p)",
            )
            .bind(format!("public.{table}"))
            .bind(privileges)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| Ctx::new(&self.secrets, "schema check").err(e))?;
            if !lacking.is_empty() {
                missing.push(format!(
                    "{} privilege on public.{table}",
                    lacking.join(", ")
                ));
            }
        }
        Ok(missing)
    }
}

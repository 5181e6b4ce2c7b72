//! The statements an apply runs, shared word for word by `--apply` and the audit SQL.
//!
//! Values reach them through transaction-local settings (`rep_import.*`, read with
//! `current_setting`) and through the `input` relation, so the two paths differ only in how
//! values arrive: bound parameters for `--apply`, quoted literals in the audit script.

/// The advisory lock every apply and undo takes for its transaction ("repimprt" in ASCII):
/// two writers of one target would interleave their before-images.
pub const APPLY_LOCK_KEY: i64 = 0x7265_7069_6d70_7274;

/// The transaction-local settings the statements read, in the order they are set.
pub(crate) const SETTINGS: [&str; 6] = [
    "rep_import.run_id",
    "rep_import.window_start",
    "rep_import.window_end",
    "rep_import.snapshot_sha256",
    "rep_import.manifest_sha256",
    "rep_import.metadata",
];

/// Columns of the `input` relation every upsert reads (all text).
pub(crate) const INPUT_COLUMNS: &str =
    "entity_kind, entity_id, payload_canonical, row_hash, source_watermark";

/// Takes the apply lock and refuses runs that must not be applied. The custom SQLSTATEs are
/// mapped back to refusals by `error.rs`.
pub(crate) fn guard() -> String {
    format!(
        r#"DO $rep_guard$
DECLARE
    existing public.replication_runs_v1%ROWTYPE;
BEGIN
    IF NOT pg_try_advisory_xact_lock({APPLY_LOCK_KEY}) THEN
        RAISE EXCEPTION 'another rep-import --apply is writing this target; wait for it to finish'
            USING ERRCODE = 'RP001';
    END IF;
    SELECT * INTO existing FROM public.replication_runs_v1
     WHERE run_id = current_setting('rep_import.run_id') FOR UPDATE;
    IF FOUND THEN
        IF existing.status = 'rolled_back' OR existing.metadata ? 'containment_reason' THEN
            RAISE EXCEPTION 'it is % in public.replication_runs_v1 (containment_reason %); export a new snapshot and start a new cycle',
                existing.status, coalesce(existing.metadata ->> 'containment_reason', 'none')
                USING ERRCODE = 'RP002';
        END IF;
        IF existing.snapshot_sha256 <> current_setting('rep_import.snapshot_sha256') THEN
            RAISE EXCEPTION 'public.replication_runs_v1 records snapshot sha256 % but this snapshot is %; the evidence changed: re-run the export',
                existing.snapshot_sha256, current_setting('rep_import.snapshot_sha256')
                USING ERRCODE = 'RP003';
        END IF;
    END IF;
END
$rep_guard$"#
    )
}

/// Records the run as `running`; a run applied before keeps its `started_at`.
pub(crate) const REGISTER_RUN: &str = r#"INSERT INTO public.replication_runs_v1 AS r
    (run_id, status, started_at, ended_at, metadata, window_start, window_end, snapshot_sha256, manifest_sha256)
VALUES (current_setting('rep_import.run_id'), 'running', now(), NULL,
        current_setting('rep_import.metadata')::jsonb,
        current_setting('rep_import.window_start')::timestamptz,
        current_setting('rep_import.window_end')::timestamptz,
        current_setting('rep_import.snapshot_sha256'),
        current_setting('rep_import.manifest_sha256'))
ON CONFLICT (run_id) DO UPDATE SET
    status = 'running',
    ended_at = NULL,
    metadata = (r.metadata - 'error') || EXCLUDED.metadata,
    window_start = EXCLUDED.window_start,
    window_end = EXCLUDED.window_end,
    snapshot_sha256 = EXCLUDED.snapshot_sha256,
    manifest_sha256 = EXCLUDED.manifest_sha256"#;

/// Inserts new rows and updates changed ones, never regressing a row to an older watermark
/// and never rewriting an unchanged one, and records a before-image of every row it writes.
/// `input` is a query producing [`INPUT_COLUMNS`]. Returns one row: (inserted, updated).
///
/// All CTEs see the table as it was before the statement, so `previous` holds the
/// before-images of exactly the rows `upserted` changes.
pub(crate) fn upsert(input: &str) -> String {
    format!(
        r#"WITH input ({INPUT_COLUMNS}) AS (
{input}
),
previous AS (
    SELECT e.entity_kind, e.entity_id, e.payload, e.payload_canonical, e.row_hash,
           e.source_watermark, e.last_run_id, e.replicated_at
      FROM public.replicated_entities_v1 e
      JOIN input i ON i.entity_kind = e.entity_kind AND i.entity_id = e.entity_id
),
upserted AS (
    INSERT INTO public.replicated_entities_v1
        (entity_kind, entity_id, payload, payload_canonical, row_hash, source_watermark, first_run_id, last_run_id)
    SELECT i.entity_kind, i.entity_id, i.payload_canonical::jsonb, i.payload_canonical, i.row_hash,
           i.source_watermark::timestamptz,
           current_setting('rep_import.run_id'), current_setting('rep_import.run_id')
      FROM input i
    ON CONFLICT (entity_kind, entity_id) DO UPDATE SET
        payload = EXCLUDED.payload,
        payload_canonical = EXCLUDED.payload_canonical,
        row_hash = EXCLUDED.row_hash,
        source_watermark = EXCLUDED.source_watermark,
        last_run_id = EXCLUDED.last_run_id,
        replicated_at = now()
    WHERE replicated_entities_v1.row_hash <> EXCLUDED.row_hash
      AND replicated_entities_v1.source_watermark <= EXCLUDED.source_watermark
    RETURNING replicated_entities_v1.entity_kind, replicated_entities_v1.entity_id,
              replicated_entities_v1.row_hash, (replicated_entities_v1.xmax = 0) AS inserted
),
history AS (
    INSERT INTO public.replication_row_history_v1
        (run_id, entity_kind, entity_id, action, previous_payload, previous_payload_canonical,
         previous_row_hash, previous_source_watermark, previous_last_run_id, previous_replicated_at,
         new_row_hash)
    SELECT current_setting('rep_import.run_id'), u.entity_kind, u.entity_id,
           CASE WHEN u.inserted THEN 'insert' ELSE 'update' END,
           p.payload, p.payload_canonical, p.row_hash, p.source_watermark, p.last_run_id,
           p.replicated_at, u.row_hash
      FROM upserted u
      LEFT JOIN previous p ON p.entity_kind = u.entity_kind AND p.entity_id = u.entity_id
    RETURNING action
)
SELECT count(*) FILTER (WHERE action = 'insert') AS inserted,
       count(*) FILTER (WHERE action = 'update') AS updated
  FROM history"#
    )
}

/// The `input` of [`upsert`] for `--apply`: five bound text arrays.
pub(crate) const INPUT_FROM_ARRAYS: &str =
    "    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])";

/// Marks the run applied and records what this transaction wrote, counted from its own
/// history rows so that both paths record the same figures.
pub(crate) const FINALIZE_RUN: &str = r#"UPDATE public.replication_runs_v1 AS r
   SET status = 'applied',
       ended_at = now(),
       metadata = r.metadata || jsonb_build_object('applied', coalesce((
           SELECT jsonb_object_agg(h.entity_kind,
                      jsonb_build_object('inserted', h.inserted, 'updated', h.updated))
             FROM (SELECT entity_kind,
                          count(*) FILTER (WHERE action = 'insert') AS inserted,
                          count(*) FILTER (WHERE action = 'update') AS updated
                     FROM public.replication_row_history_v1
                    WHERE run_id = r.run_id AND recorded_txid = pg_current_xact_id()
                    GROUP BY entity_kind) h), '{}'::jsonb))
 WHERE r.run_id = current_setting('rep_import.run_id')"#;

/// A string as an SQL literal for a script run with `standard_conforming_strings = on`.
///
/// Printable text is single-quoted with quotes doubled (backslashes are ordinary characters
/// then). Text with control characters is spelled as UTF-8 hex instead, because a raw CR or LF
/// inside a literal could be rewritten by an editor or by psql's line reading.
pub(crate) fn literal(value: &str) -> String {
    if value.chars().any(char::is_control) {
        let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
        format!("convert_from(decode('{hex}', 'hex'), 'UTF8')")
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_survive_quotes_backslashes_and_line_breaks() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal(r"a\b"), r"'a\b'");
        assert_eq!(literal("😀"), "'😀'");
        assert_eq!(
            literal("a\r\n"),
            "convert_from(decode('610d0a', 'hex'), 'UTF8')"
        );
    }

    #[test]
    fn lock_key_is_the_documented_one() {
        assert_eq!(APPLY_LOCK_KEY, 8243118291081523828);
    }
}

-- Replication target schema v1 (rep: Supabase -> self-hosted PostgreSQL).
--
-- Apply as the role the replication connects with (REPLICA_TARGET_DB_URL), so that it owns the
-- tables, or as an administrator followed by the GRANTs at the end of this file:
--
--   psql -v ON_ERROR_STOP=1 -f infra/postgres/hostinger/20260228070000_replication_target_v1.sql
--
-- Idempotent: every object is created only when absent, so applying it again is a no-op.
-- Requires PostgreSQL 13 or later (xid8, pg_current_xact_id()).
--
-- Containment (runbook): a run that must not be relied on is marked failed with its reason.
-- rep-import, rep-reconcile and rep-preflight run exactly this statement (parameterised):
--
--   UPDATE public.replication_runs_v1 SET status = 'failed', ended_at = now(), metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('containment_reason', $reason) WHERE run_id = $run_id;
--
-- Undo of an applied run (rows restored exactly as they were before it) uses
-- replication_row_history_v1; see rep_target::TargetDb::undo_run.

BEGIN;

-- One row per import run (run_id assigned by the export and carried by manifest.json).
CREATE TABLE IF NOT EXISTS public.replication_runs_v1 (
    run_id          text PRIMARY KEY,
    status          text NOT NULL
                    CONSTRAINT replication_runs_v1_status_check
                    CHECK (status IN ('running', 'applied', 'failed', 'rolled_back')),
    started_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    window_start    timestamptz,
    window_end      timestamptz,
    snapshot_sha256 text,
    manifest_sha256 text
);

-- A runs table created by an earlier, hand-made runbook may lack the evidence columns.
ALTER TABLE public.replication_runs_v1 ADD COLUMN IF NOT EXISTS window_start timestamptz;
ALTER TABLE public.replication_runs_v1 ADD COLUMN IF NOT EXISTS window_end timestamptz;
ALTER TABLE public.replication_runs_v1 ADD COLUMN IF NOT EXISTS snapshot_sha256 text;
ALTER TABLE public.replication_runs_v1 ADD COLUMN IF NOT EXISTS manifest_sha256 text;

COMMENT ON TABLE public.replication_runs_v1 IS
    'rep replication runs: one row per run_id; status running|applied|failed|rolled_back; metadata.containment_reason set by containment';

-- The replica: the newest known version of every replicated row.
CREATE TABLE IF NOT EXISTS public.replicated_entities_v1 (
    entity_kind       text NOT NULL,
    entity_id         text NOT NULL,
    payload           jsonb NOT NULL,
    -- The exact canonical JSON bytes of the snapshot. jsonb normalises numbers and strings
    -- (1e+100 is stored as 1 followed by 100 zeros), so only this column can prove that no
    -- byte changed; payload is kept for querying.
    payload_canonical text NOT NULL,
    row_hash          text NOT NULL,
    source_watermark  timestamptz NOT NULL,
    first_run_id      text NOT NULL,
    last_run_id       text NOT NULL,
    replicated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_kind, entity_id)
);

-- Reconcile reads one watermark window per kind.
CREATE INDEX IF NOT EXISTS replicated_entities_v1_kind_watermark_idx
    ON public.replicated_entities_v1 (entity_kind, source_watermark);
-- Reconcile looks ids up across kinds ("same id, different kind").
CREATE INDEX IF NOT EXISTS replicated_entities_v1_entity_id_idx
    ON public.replicated_entities_v1 (entity_id);

COMMENT ON TABLE public.replicated_entities_v1 IS
    'rep replica rows; payload_canonical holds the snapshot bytes, row_hash = sha256(payload_canonical)';

-- Before-images of every row an apply inserted or updated: what undo restores.
CREATE TABLE IF NOT EXISTS public.replication_row_history_v1 (
    history_id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL REFERENCES public.replication_runs_v1 (run_id),
    entity_kind                text NOT NULL,
    entity_id                  text NOT NULL,
    action                     text NOT NULL
                               CONSTRAINT replication_row_history_v1_action_check
                               CHECK (action IN ('insert', 'update')),
    -- NULL for inserts: there was no row before.
    previous_payload           jsonb,
    previous_payload_canonical text,
    previous_row_hash          text,
    previous_source_watermark  timestamptz,
    previous_last_run_id       text,
    previous_replicated_at     timestamptz,
    -- What the run wrote, so undo can tell whether a later run changed the row since.
    new_row_hash               text NOT NULL,
    -- The writing transaction, so an apply can count exactly what it wrote itself.
    recorded_txid              xid8 NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT replication_row_history_v1_image_check
        CHECK ((action = 'insert') = (previous_row_hash IS NULL))
);

CREATE INDEX IF NOT EXISTS replication_row_history_v1_run_idx
    ON public.replication_row_history_v1 (run_id, entity_kind, entity_id);

COMMENT ON TABLE public.replication_row_history_v1 IS
    'rep before-images: one row per entity row inserted or updated by a run, for exact undo';

COMMIT;

-- When applied by an administrator rather than the replication role, grant it (replace
-- replicator with the user of REPLICA_TARGET_DB_URL):
--
--   GRANT SELECT, INSERT, UPDATE ON public.replication_runs_v1 TO replicator;
--   GRANT SELECT, INSERT, UPDATE, DELETE ON public.replicated_entities_v1 TO replicator;
--   GRANT SELECT, INSERT ON public.replication_row_history_v1 TO replicator;

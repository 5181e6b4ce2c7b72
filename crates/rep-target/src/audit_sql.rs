use std::fmt::Write as _;

use rep_core::SnapshotRow;

use crate::apply::RunValues;
use crate::plan::Plan;
use crate::sql::{self, literal};

/// Rows per `VALUES` statement: keeps each statement a few hundred kilobytes for psql.
const ROWS_PER_STATEMENT: usize = 500;

/// The file name of the audit SQL of a run.
pub(crate) fn audit_sql_name(run_id: &str) -> String {
    format!("replication-import-{run_id}.sql")
}

/// What the header of the script states.
pub(crate) struct AuditHeader<'a> {
    pub(crate) generated_at: &'a str,
    pub(crate) target: &'a str,
    pub(crate) plan: &'a Plan,
}

/// Renders the audit script: the statements of `--apply`, with every value as a literal,
/// for `psql -v ON_ERROR_STOP=1 -f`. It contains every row of the snapshot, not only the
/// planned ones, so it reaches the `--apply` end state from any starting state of the target.
pub(crate) fn render(
    values: &RunValues,
    metadata: &str,
    header: &AuditHeader<'_>,
    rows: &[SnapshotRow],
) -> String {
    let mut out = String::new();
    let c = comment_safe;
    let _ = writeln!(out, "-- rep-import audit SQL (replication v1)");
    let _ = writeln!(out, "-- run_id: {}", c(&values.run_id));
    let _ = writeln!(
        out,
        "-- window: [{}, {})",
        c(&values.window_start),
        c(&values.window_end)
    );
    let _ = writeln!(out, "-- snapshot_sha256: {}", c(&values.snapshot_sha256));
    let _ = writeln!(out, "-- manifest_sha256: {}", c(&values.manifest_sha256));
    let _ = writeln!(out, "-- generated_at: {}", c(header.generated_at));
    let _ = writeln!(out, "-- planned against: {}", c(header.target));
    let _ = writeln!(out, "-- rows: {}", rows.len());
    for (kind, p) in header.plan {
        let _ = writeln!(
            out,
            "-- plan {}: new={} changed={} unchanged={} older_than_target={}",
            c(kind),
            p.new,
            p.changed,
            p.unchanged,
            p.older_than_target
        );
    }
    out.push_str(
        "--
-- Reaches the same end state as `rep-import --apply` of this snapshot, in one transaction:
-- the same advisory lock, run registration, upserts (unchanged rows are not rewritten, older
-- rows never overwrite newer ones), before-images and final status 'applied'.
-- Run it with: psql \"$REPLICA_TARGET_DB_URL\" -v ON_ERROR_STOP=1 -f <this file>
\\set ON_ERROR_STOP on
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

BEGIN;

",
    );
    out.push_str("SELECT count(*) AS rep_import_settings FROM (VALUES\n");
    let settings = values.settings(metadata);
    for (i, (name, value)) in settings.iter().enumerate() {
        let sep = if i + 1 == settings.len() { "" } else { "," };
        let _ = writeln!(
            out,
            "    (set_config({}, {}, true)){sep}",
            literal(name),
            literal(value)
        );
    }
    out.push_str(") AS s (value);\n\n");
    out.push_str(&sql::guard());
    out.push_str(";\n\n");
    out.push_str(sql::REGISTER_RUN);
    out.push_str(";\n");

    // Snapshot rows are grouped by kind, so each group is one kind's rows.
    for group in rows.chunk_by(|a, b| a.entity_kind == b.entity_kind) {
        let _ = writeln!(
            out,
            "\n-- entity kind {}: {} rows",
            comment_safe(&group[0].entity_kind),
            group.len()
        );
        for chunk in group.chunks(ROWS_PER_STATEMENT) {
            let mut input = String::from("    VALUES\n");
            for (i, r) in chunk.iter().enumerate() {
                let sep = if i + 1 == chunk.len() { "" } else { "," };
                let _ = writeln!(
                    input,
                    "        ({}, {}, {}, {}, {}){sep}",
                    literal(&r.entity_kind),
                    literal(&r.entity_id),
                    literal(&r.payload),
                    literal(&r.row_hash),
                    literal(&r.watermark)
                );
            }
            out.push_str(&sql::upsert(input.trim_end()));
            out.push_str(";\n");
        }
    }

    out.push('\n');
    out.push_str(sql::FINALIZE_RUN);
    out.push_str(";\n\nCOMMIT;\n");
    out
}

/// Comment lines must stay comment lines whatever a value holds.
fn comment_safe(text: &str) -> String {
    text.chars()
        .map(|ch| if ch.is_control() { '?' } else { ch })
        .collect()
}

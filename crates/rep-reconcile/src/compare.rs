use std::collections::{BTreeMap, HashMap};

use rep_core::SnapshotRow;
use rep_target::TargetRow;
use serde::Serialize;

/// How many ids each finding list keeps in the evidence; counts always cover every row.
pub(crate) const SAMPLE_LIMIT: usize = 20;

/// The rule that explains an expected difference.
pub(crate) const RULE_TARGET_NEWER: &str = "target_newer_than_snapshot";

/// One id that differs, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
    pub entity_id: String,
    /// The rule that explains an expected difference; `None` for an anomaly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    pub detail: String,
}

/// The comparison of one entity kind.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct KindReconciliation {
    pub entity_kind: String,
    pub snapshot_rows: u64,
    pub target_rows_in_window: u64,
    pub matched: u64,
    pub content_drift: Vec<Finding>,
    pub entity_kind_drift: Vec<Finding>,
    pub only_source_unexpected: Vec<Finding>,
    pub only_target_unexpected: Vec<Finding>,
    pub expected_differences: Vec<Finding>,
}

impl KindReconciliation {
    /// Every finding list under the name the evidence uses for it.
    pub(crate) fn categories(&self) -> [(&'static str, &[Finding]); 5] {
        [
            ("entity_kind_drift", &self.entity_kind_drift),
            ("content_drift", &self.content_drift),
            ("only_source_unexpected", &self.only_source_unexpected),
            ("only_target_unexpected", &self.only_target_unexpected),
            ("expected_differences", &self.expected_differences),
        ]
    }
}

/// What the target holds for one kind: rows whose watermark lies in the window, rows of the
/// snapshot's ids that lie outside it, and the kinds under which still-missing ids exist.
#[derive(Debug, Default)]
pub(crate) struct TargetView {
    pub in_window: Vec<TargetRow>,
    pub outside_window: Vec<TargetRow>,
    pub other_kinds: Vec<(String, String)>,
}

/// Compares the snapshot rows of one kind with the target, row by row.
///
/// A row matches only when the target's stored canonical payload is byte-identical to the
/// snapshot's, the hashes agree, and the target row is self-consistent (its jsonb equals its
/// canonical text and its hash is the hash of that text, both checked inside PostgreSQL): a
/// replica edited behind rep's back is drift even when one of its columns still looks right.
pub(crate) fn compare_kind(
    entity_kind: &str,
    snapshot: &[&SnapshotRow],
    target: TargetView,
) -> KindReconciliation {
    let mut result = KindReconciliation {
        entity_kind: entity_kind.to_string(),
        snapshot_rows: snapshot.len() as u64,
        target_rows_in_window: target.in_window.len() as u64,
        ..KindReconciliation::default()
    };
    let mut in_window: BTreeMap<&str, &TargetRow> = target
        .in_window
        .iter()
        .map(|r| (r.entity_id.as_str(), r))
        .collect();
    let outside: HashMap<&str, &TargetRow> = target
        .outside_window
        .iter()
        .map(|r| (r.entity_id.as_str(), r))
        .collect();
    let other_kinds: HashMap<&str, &str> = target
        .other_kinds
        .iter()
        .filter(|(_, kind)| kind != entity_kind)
        .map(|(id, kind)| (id.as_str(), kind.as_str()))
        .collect();

    for row in snapshot {
        let id = row.entity_id.as_str();
        let found = in_window.remove(id).or_else(|| outside.get(id).copied());
        match found {
            Some(t) => compare_row(row, t, &mut result),
            None => match other_kinds.get(id) {
                Some(kind) => result.entity_kind_drift.push(Finding {
                    entity_id: id.to_string(),
                    rule: None,
                    detail: format!("the snapshot has it as {entity_kind}, the target as {kind}"),
                }),
                None => result.only_source_unexpected.push(Finding {
                    entity_id: id.to_string(),
                    rule: None,
                    detail: "in the snapshot, absent from the target".to_string(),
                }),
            },
        }
    }
    for (id, t) in in_window {
        result.only_target_unexpected.push(Finding {
            entity_id: id.to_string(),
            rule: None,
            detail: format!(
                "in the target (watermark {}, last run {}), absent from the snapshot",
                t.source_watermark, t.last_run_id
            ),
        });
    }
    result
}

fn compare_row(row: &SnapshotRow, t: &TargetRow, result: &mut KindReconciliation) {
    let id = row.entity_id.clone();
    if !t.jsonb_consistent || !t.hash_consistent {
        result.content_drift.push(Finding {
            entity_id: id,
            rule: None,
            detail: "the target row is inconsistent: its jsonb payload or row_hash no longer matches its canonical payload".to_string(),
        });
        return;
    }
    let same = t.row_hash == row.row_hash && t.payload_canonical == row.payload;
    if same && t.source_watermark == row.watermark {
        result.matched += 1;
    } else if t.source_watermark > row.watermark {
        result.expected_differences.push(Finding {
            entity_id: id,
            rule: Some(RULE_TARGET_NEWER),
            detail: format!(
                "the target holds watermark {} (run {}), newer than the snapshot's {}",
                t.source_watermark, t.last_run_id, row.watermark
            ),
        });
    } else {
        result.content_drift.push(Finding {
            entity_id: id,
            rule: None,
            detail: format!(
                "content differs: snapshot row_hash {} at {}, target row_hash {} at {}",
                row.row_hash, row.watermark, t.row_hash, t.source_watermark
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str, wm: &str, payload: &str) -> SnapshotRow {
        SnapshotRow {
            entity_kind: "customer".into(),
            entity_id: id.into(),
            watermark: wm.into(),
            row_hash: rep_core::row_hash(payload),
            payload: payload.into(),
        }
    }

    fn target(row: &SnapshotRow) -> TargetRow {
        TargetRow {
            entity_kind: row.entity_kind.clone(),
            entity_id: row.entity_id.clone(),
            row_hash: row.row_hash.clone(),
            source_watermark: row.watermark.clone(),
            payload_canonical: row.payload.clone(),
            last_run_id: "r1".into(),
            jsonb_consistent: true,
            hash_consistent: true,
        }
    }

    const WM: &str = "2026-03-01T00:00:00.000000Z";
    const LATER: &str = "2026-03-05T00:00:00.000000Z";

    #[test]
    fn classifies_every_difference() {
        let rows = [
            snap("1", WM, r#"{"a":1}"#),
            snap("2", WM, r#"{"a":2}"#),
            snap("3", WM, r#"{"a":3}"#),
            snap("4", WM, r#"{"a":4}"#),
            snap("5", WM, r#"{"a":5}"#),
            snap("6", WM, r#"{"a":6}"#),
        ];
        let refs: Vec<&SnapshotRow> = rows.iter().collect();
        let mut drifted = target(&rows[1]);
        drifted.payload_canonical = r#"{"a":20}"#.into();
        drifted.row_hash = rep_core::row_hash(&drifted.payload_canonical);
        let mut newer = target(&rows[2]);
        newer.source_watermark = LATER.into();
        newer.payload_canonical = r#"{"a":30}"#.into();
        let mut tampered = target(&rows[5]);
        tampered.jsonb_consistent = false;
        let mut extra = target(&snap("9", WM, "{}"));
        extra.entity_id = "9".into();
        let view = TargetView {
            in_window: vec![target(&rows[0]), drifted, extra, tampered],
            outside_window: vec![newer],
            other_kinds: vec![("4".into(), "order".into())],
        };
        let r = compare_kind("customer", &refs, view);
        assert_eq!(r.matched, 1);
        let ids = |v: &Vec<Finding>| v.iter().map(|f| f.entity_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&r.content_drift), ["2", "6"]);
        assert_eq!(ids(&r.expected_differences), ["3"]);
        assert_eq!(r.expected_differences[0].rule, Some(RULE_TARGET_NEWER));
        assert!(r.content_drift.iter().all(|f| f.rule.is_none()));
        assert_eq!(ids(&r.entity_kind_drift), ["4"]);
        assert_eq!(ids(&r.only_source_unexpected), ["5"]);
        assert_eq!(ids(&r.only_target_unexpected), ["9"]);
    }
}

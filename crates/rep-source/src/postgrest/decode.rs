//! One JSON row of a PostgREST answer turned into a snapshot row.

use rep_core::{canonical_json, parse_rfc3339, EntityConfig, SnapshotRow, Window};
use serde_json::Value;
use time::OffsetDateTime;

use super::filter::Cursor;
use crate::error::SourceError;

/// A row ready for the sink, with what paging needs to continue after it.
#[derive(Debug)]
pub(crate) struct DecodedRow {
    pub(crate) row: SnapshotRow,
    pub(crate) at: OffsetDateTime,
    pub(crate) cursor: Cursor,
}

/// Checks a row's key and watermark and builds its snapshot row.
///
/// The payload is the canonical form of the row as parsed with `arbitrary_precision`, so a
/// `bigint` or `numeric` keeps every digit the server sent; the key of a number column is
/// that number's literal text for the same reason.
pub(crate) fn decode_row(
    entity: &EntityConfig,
    window: &Window,
    value: Value,
) -> Result<DecodedRow, SourceError> {
    let bad = |id: Option<&str>, message: String| SourceError::BadRow {
        entity_kind: entity.kind.clone(),
        entity_id: id.map(str::to_string),
        message,
    };
    let Value::Object(object) = &value else {
        return Err(bad(
            None,
            format!(
                "the source sent {} instead of a JSON object",
                kind_of(&value)
            ),
        ));
    };
    let key = match object.get(&entity.key) {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) => {
            return Err(bad(
                None,
                format!(
                    "key column {:?} is null; the key must be the table's primary key: check entities.{}.key",
                    entity.key, entity.kind
                ),
            ))
        }
        Some(other) => {
            return Err(bad(
                None,
                format!(
                    "key column {:?} holds {}; only number, text and uuid keys are supported",
                    entity.key,
                    kind_of(other)
                ),
            ))
        }
        None => {
            return Err(bad(
                None,
                format!(
                    "the row has no key column {:?}; check entities.{}.key and columns",
                    entity.key, entity.kind
                ),
            ))
        }
    };
    let watermark = match object.get(&entity.watermark) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(bad(
                Some(&key),
                format!(
                    "watermark column {:?} holds {}, not a timestamp; the watermark column must be timestamptz",
                    entity.watermark,
                    kind_of(other)
                ),
            ))
        }
        None => {
            return Err(bad(
                Some(&key),
                format!(
                    "the row has no watermark column {:?}; check entities.{}.watermark and columns",
                    entity.watermark, entity.kind
                ),
            ))
        }
    };
    let at = parse_rfc3339(&watermark).map_err(|_| {
        bad(
            Some(&key),
            format!(
                "watermark {watermark:?} is not an instant with an offset; the watermark column must be timestamptz holding finite values"
            ),
        )
    })?;
    if !window.contains(at) {
        return Err(SourceError::OutsideWindow {
            entity_kind: entity.kind.clone(),
            entity_id: key,
            watermark,
            window_start: window.start_text(),
            window_end: window.end_text(),
        });
    }
    let payload = canonical_json(&value);
    Ok(DecodedRow {
        row: SnapshotRow::new(entity.kind.as_str(), key.as_str(), at, payload),
        at,
        cursor: Cursor { watermark, key },
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entity() -> EntityConfig {
        EntityConfig {
            kind: "customer".into(),
            table: "customers".into(),
            key: "id".into(),
            watermark: "updated_at".into(),
            columns: None,
        }
    }

    fn window() -> Window {
        Window::from_bounds(
            datetime!(2026-03-01 00:00 UTC),
            datetime!(2026-03-02 00:00 UTC),
        )
    }

    fn decode(json: &str) -> Result<DecodedRow, SourceError> {
        decode_row(&entity(), &window(), serde_json::from_str(json).unwrap())
    }

    #[test]
    fn keeps_every_digit_and_the_server_text() {
        let d = decode(
            r#"{"updated_at":"2026-03-01T10:00:00.5+00:00","id":9007199254740993,"balance":12345678901234567890.1234567890}"#,
        )
        .unwrap();
        assert_eq!(d.row.entity_id, "9007199254740993");
        assert_eq!(d.row.watermark, "2026-03-01T10:00:00.500000Z");
        assert_eq!(
            d.row.payload,
            r#"{"balance":12345678901234567890.1234567890,"id":9007199254740993,"updated_at":"2026-03-01T10:00:00.5+00:00"}"#
        );
        assert_eq!(d.cursor.watermark, "2026-03-01T10:00:00.5+00:00");
        assert_eq!(d.cursor.key, "9007199254740993");
    }

    #[test]
    fn normalises_other_offsets() {
        let d = decode(r#"{"id":"a,b","updated_at":"2026-03-01T20:59:59.999999-03:00"}"#).unwrap();
        assert_eq!(d.row.watermark, "2026-03-01T23:59:59.999999Z");
        assert_eq!(d.row.entity_id, "a,b");
    }

    #[test]
    fn refuses_unusable_rows() {
        let bad = |json: &str| decode(json).unwrap_err();
        assert!(matches!(
            bad(r#"{"id":null,"updated_at":"2026-03-01T00:00:00+00:00"}"#),
            SourceError::BadRow {
                entity_id: None,
                ..
            }
        ));
        let e = bad(r#"{"id":7,"updated_at":"infinity"}"#);
        assert!(
            matches!(&e, SourceError::BadRow { entity_id: Some(id), .. } if id == "7"),
            "{e}"
        );
        assert!(e.to_string().contains("customer") && e.to_string().contains("infinity"));
        assert!(matches!(
            bad(r#"{"id":7,"updated_at":null}"#),
            SourceError::BadRow { .. }
        ));
        assert!(matches!(
            bad(r#"{"id":7,"updated_at":"2026-03-01T00:00:00"}"#),
            SourceError::BadRow { .. }
        ));
        assert!(matches!(bad(r#"[1]"#), SourceError::BadRow { .. }));
        assert!(matches!(
            bad(r#"{"id":7,"updated_at":"2026-03-02T00:00:00+00:00"}"#),
            SourceError::OutsideWindow { .. }
        ));
    }
}

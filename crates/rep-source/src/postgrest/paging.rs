//! Keyset paging over `(watermark, key)` for one entity kind and one window.
//!
//! Offset paging over a non-unique order loses and repeats rows, and rows stamped by one
//! transaction share a watermark by the thousand; so each page starts strictly after the last
//! `(watermark, key)` read, with both values exactly as the server sent them. The server
//! caps rows per response silently, so a short page proves nothing: only an empty page ends
//! the read, and the count the server reported on the first page must equal the rows read.

use std::collections::HashSet;

use rep_core::{EntityConfig, Window};
use serde_json::Value;
use time::OffsetDateTime;
use url::Url;

use super::auth::{PREFER_UTC, PREFER_UTC_WITH_COUNT};
use super::decode::decode_row;
use super::filter::{encode_query, page_query, Cursor};
use super::range::parse_content_range;
use super::transport::{Answer, Transport};
use crate::error::{RequestContext, SourceError};
use crate::source::{KindRead, RowSink};

/// Reads one kind for one window through `transport`, streaming rows into `sink`.
pub(crate) async fn read_kind(
    transport: &Transport,
    context: &RequestContext<'_>,
    entity: &EntityConfig,
    window: &Window,
    page_size: u32,
    sink: &mut RowSink<'_>,
) -> Result<KindRead, SourceError> {
    let url = transport.table_url(&entity.table);
    let mut pager = Pager::new(entity, window, page_size);
    loop {
        let (query, prefer) = pager.next_request();
        let (answer, rows) = get_rows(transport, context, entity, &url, &query, prefer).await?;
        if pager.is_first() {
            let total = answer
                .content_range
                .as_deref()
                .and_then(parse_content_range)
                .and_then(|r| r.total)
                .ok_or_else(|| {
                    protocol_error(entity, &url, format!(
                        "HTTP {} without an exact count in Content-Range ({:?}) although Prefer: count=exact was sent",
                        answer.status, answer.content_range
                    ))
                })?;
            pager.set_server_count(total);
        }
        if pager.accept(rows, sink)? == PageEnd::Empty {
            break;
        }
        tracing::debug!(
            entity_kind = %entity.kind,
            pages = pager.pages,
            rows = pager.rows_read,
            limit = pager.limit,
            "page read"
        );
    }
    pager.finish()
}

/// One GET of `entity`'s rows: the answer (for its headers) and the body parsed as JSON rows,
/// numbers kept exact. A request that failed for good is explained with the entity's context.
pub(crate) async fn get_rows(
    transport: &Transport,
    context: &RequestContext<'_>,
    entity: &EntityConfig,
    url: &Url,
    query: &str,
    prefer: &'static str,
) -> Result<(Answer, Vec<Value>), SourceError> {
    let answer = transport
        .get(url, query, prefer)
        .await
        .map_err(|failed| context.explain(failed))?;
    let rows = serde_json::from_slice(&answer.body).map_err(|e| {
        protocol_error(
            entity,
            url,
            format!("the body is not a JSON array of rows: {e}"),
        )
    })?;
    Ok((answer, rows))
}

fn protocol_error(entity: &EntityConfig, url: &Url, message: String) -> SourceError {
    SourceError::Protocol {
        entity_kind: Some(entity.kind.clone()),
        method: "GET",
        path: url.path().to_string(),
        message,
    }
}

/// Whether a page had rows.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PageEnd {
    /// No rows: the window is exhausted.
    Empty,
    /// Rows were read; ask for the next page.
    More,
}

/// The state of one kind's read between pages. Kept free of I/O so that its rules (no
/// repeat, no backwards step, the cap, the count) are tested on plain JSON.
pub(crate) struct Pager<'a> {
    entity: &'a EntityConfig,
    window: &'a Window,
    limit: u32,
    cursor: Option<Cursor>,
    server_count: Option<u64>,
    rows_read: u64,
    pages: u32,
    seen: HashSet<String>,
    last: Option<(OffsetDateTime, String)>,
}

impl<'a> Pager<'a> {
    pub(crate) fn new(entity: &'a EntityConfig, window: &'a Window, page_size: u32) -> Self {
        Pager {
            entity,
            window,
            limit: page_size.max(1),
            cursor: None,
            server_count: None,
            rows_read: 0,
            pages: 0,
            seen: HashSet::new(),
            last: None,
        }
    }

    fn is_first(&self) -> bool {
        self.pages == 0
    }

    /// The query of the next page and its `Prefer` value; the count rides on the first only,
    /// since a `COUNT(*)` per page would cost a scan of the window every time.
    pub(crate) fn next_request(&self) -> (String, &'static str) {
        let query = encode_query(&page_query(
            self.entity,
            self.window,
            self.cursor.as_ref(),
            self.limit,
        ));
        let prefer = if self.is_first() {
            PREFER_UTC_WITH_COUNT
        } else {
            PREFER_UTC
        };
        (query, prefer)
    }

    pub(crate) fn set_server_count(&mut self, total: u64) {
        self.server_count = Some(total);
    }

    /// Takes one page's rows, in order, into `sink`.
    pub(crate) fn accept(
        &mut self,
        rows: Vec<Value>,
        sink: &mut RowSink<'_>,
    ) -> Result<PageEnd, SourceError> {
        self.pages += 1;
        if rows.is_empty() {
            return Ok(PageEnd::Empty);
        }
        let received = rows.len();
        for value in rows {
            let decoded = decode_row(self.entity, self.window, value)?;
            if !self.seen.insert(decoded.row.entity_id.clone()) {
                // Also what a page that fails to advance looks like: its first row was read.
                return Err(SourceError::DuplicateKey {
                    entity_kind: self.entity.kind.clone(),
                    entity_id: decoded.row.entity_id,
                    page: self.pages,
                });
            }
            if let Some((previous_at, previous)) = &self.last {
                if decoded.at < *previous_at {
                    return Err(SourceError::OutOfOrder {
                        entity_kind: self.entity.kind.clone(),
                        entity_id: decoded.row.entity_id,
                        watermark: decoded.row.watermark,
                        previous: previous.clone(),
                    });
                }
            }
            self.last = Some((decoded.at, decoded.row.watermark.clone()));
            self.cursor = Some(decoded.cursor);
            self.rows_read += 1;
            let server_count = self.server_count.unwrap_or(u64::MAX);
            if self.rows_read > server_count {
                // Without this a server inventing ever-new keys would keep the loop going.
                return Err(self.mismatch(server_count));
            }
            sink(decoded.row).map_err(|source| SourceError::Sink {
                entity_kind: self.entity.kind.clone(),
                source,
            })?;
        }
        let received = u32::try_from(received).unwrap_or(u32::MAX);
        let more_expected = self.rows_read < self.server_count.unwrap_or(u64::MAX);
        if received < self.limit && more_expected {
            // The server capped the page (max_rows): asking above the cap again only makes
            // its truncation the rule, so ask for exactly what it delivers from now on.
            tracing::info!(
                entity_kind = %self.entity.kind,
                asked = self.limit,
                received,
                "source caps rows per response; lowering the page size"
            );
            self.limit = received;
        }
        Ok(PageEnd::More)
    }

    fn mismatch(&self, server_count: u64) -> SourceError {
        SourceError::CountMismatch {
            entity_kind: self.entity.kind.clone(),
            server_count,
            rows_read: self.rows_read,
        }
    }

    /// Compares the rows read with the server's count.
    pub(crate) fn finish(self) -> Result<KindRead, SourceError> {
        let server_count = self.server_count.unwrap_or(0);
        if self.rows_read != server_count {
            return Err(self.mismatch(server_count));
        }
        Ok(KindRead {
            rows_read: self.rows_read,
            server_count,
            pages: self.pages,
            effective_page_size: self.limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rep_core::SnapshotRow;
    use serde_json::json;
    use time::macros::datetime;

    fn discard() -> impl FnMut(SnapshotRow) -> Result<(), rep_core::SnapshotError> + Send {
        |_| Ok(())
    }

    fn entity() -> EntityConfig {
        EntityConfig {
            kind: "order".into(),
            table: "orders".into(),
            key: "code".into(),
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

    fn row(code: &str, at: &str) -> Value {
        json!({"code": code, "updated_at": at})
    }

    const T: &str = "2026-03-01T00:00:00+00:00";

    #[test]
    fn short_page_lowers_the_limit_and_only_an_empty_page_ends() {
        let (e, w) = (entity(), window());
        let mut pager = Pager::new(&e, &w, 10);
        let (q, prefer) = pager.next_request();
        assert!(q.ends_with("limit=10") && !q.contains("or="), "{q}");
        assert_eq!(prefer, PREFER_UTC_WITH_COUNT);
        pager.set_server_count(5);
        let mut got = Vec::new();
        let mut sink = |r: SnapshotRow| {
            got.push(r.entity_id);
            Ok(())
        };
        let page1 = vec![row("a", T), row("b", T), row("c", T)];
        assert_eq!(pager.accept(page1, &mut sink).unwrap(), PageEnd::More);
        let (q, prefer) = pager.next_request();
        assert!(q.ends_with("limit=3"), "{q}");
        assert!(q.contains("or=") && q.contains("code.gt.c"), "{q}");
        assert_eq!(prefer, PREFER_UTC);
        let page2 = vec![row("d", T), row("e", "2026-03-01T00:00:01+00:00")];
        assert_eq!(pager.accept(page2, &mut sink).unwrap(), PageEnd::More);
        // The last page was short because the window ran out: the cap stays at 3.
        assert!(pager.next_request().0.ends_with("limit=3"));
        assert_eq!(pager.accept(vec![], &mut sink).unwrap(), PageEnd::Empty);
        let read = pager.finish().unwrap();
        assert_eq!(
            read,
            KindRead {
                rows_read: 5,
                server_count: 5,
                pages: 3,
                effective_page_size: 3
            }
        );
        assert_eq!(got, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn whole_window_in_one_page_keeps_the_page_size() {
        let (e, w) = (entity(), window());
        let mut pager = Pager::new(&e, &w, 1000);
        pager.set_server_count(2);
        let mut sink = discard();
        pager
            .accept(vec![row("a", T), row("b", T)], &mut sink)
            .unwrap();
        pager.accept(vec![], &mut sink).unwrap();
        assert_eq!(pager.finish().unwrap().effective_page_size, 1000);
    }

    #[test]
    fn a_repeated_key_or_a_page_that_does_not_advance_fails() {
        let (e, w) = (entity(), window());
        let mut pager = Pager::new(&e, &w, 2);
        pager.set_server_count(10);
        let mut sink = discard();
        pager
            .accept(vec![row("a", T), row("b", T)], &mut sink)
            .unwrap();
        let err = pager
            .accept(vec![row("a", T), row("b", T)], &mut sink)
            .unwrap_err();
        assert!(
            matches!(&err, SourceError::DuplicateKey { entity_id, page: 2, .. } if entity_id == "a"),
            "{err}"
        );
        assert_eq!(err.exit_class(), rep_core::ExitClass::Integrity);
    }

    #[test]
    fn rows_going_backwards_fail() {
        let (e, w) = (entity(), window());
        let mut pager = Pager::new(&e, &w, 5);
        pager.set_server_count(2);
        let err = pager
            .accept(
                vec![row("a", "2026-03-01T00:00:01+00:00"), row("b", T)],
                &mut discard(),
            )
            .unwrap_err();
        assert!(matches!(err, SourceError::OutOfOrder { .. }), "{err}");
    }

    #[test]
    fn count_mismatch_is_caught_both_ways() {
        let (e, w) = (entity(), window());
        let mut pager = Pager::new(&e, &w, 5);
        pager.set_server_count(3);
        pager
            .accept(vec![row("a", T), row("b", T)], &mut discard())
            .unwrap();
        pager.accept(vec![], &mut discard()).unwrap();
        assert!(matches!(
            pager.finish().unwrap_err(),
            SourceError::CountMismatch {
                server_count: 3,
                rows_read: 2,
                ..
            }
        ));

        let mut pager = Pager::new(&e, &w, 5);
        pager.set_server_count(1);
        let err = pager
            .accept(vec![row("a", T), row("b", T)], &mut discard())
            .unwrap_err();
        assert!(matches!(
            err,
            SourceError::CountMismatch {
                server_count: 1,
                rows_read: 2,
                ..
            }
        ));
    }

    #[test]
    fn sink_errors_carry_the_kind() {
        let (e, w) = (entity(), window());
        let mut pager = Pager::new(&e, &w, 5);
        pager.set_server_count(1);
        let mut sink = |_r: SnapshotRow| {
            Err(rep_core::SnapshotError::Write {
                path: "x".into(),
                message: "disk full".into(),
            })
        };
        let err = pager.accept(vec![row("a", T)], &mut sink).unwrap_err();
        assert!(matches!(err, SourceError::Sink { .. }));
        assert_eq!(err.exit_class(), rep_core::ExitClass::Runtime);
    }
}

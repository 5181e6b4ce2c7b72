//! The seam between the export and wherever rows come from.

use std::future::Future;

use rep_core::{EntityConfig, SnapshotError, SnapshotRow, Window};
use serde::Serialize;

use crate::error::SourceError;

/// Where the rows of one read went, as the sink receives them.
pub type RowSink<'a> = dyn FnMut(SnapshotRow) -> Result<(), SnapshotError> + Send + 'a;

/// What reading one entity kind for one window took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KindRead {
    /// Rows delivered to the sink (equal to `server_count` when the read succeeds).
    pub rows_read: u64,
    /// The count the server reported for the window (`Prefer: count=exact`).
    pub server_count: u64,
    /// Page requests made, the final empty page included (retries not counted).
    pub pages: u32,
    /// Rows asked per page at the end: the configured page size, lowered to the server's
    /// row cap once a page showed it.
    pub effective_page_size: u32,
}

/// A source of rows for watermark windows.
///
/// The Supabase REST API is the only implementation today; the trait is what lets the export
/// and preflight be driven by another source later without changing them.
pub trait RowSource {
    /// Reads every row of `entity` whose watermark lies in `window`, in `(watermark, key)`
    /// order, handing each to `sink` as soon as it arrives; each row exactly once, checked
    /// against the count the source reports.
    fn read_window(
        &self,
        entity: &EntityConfig,
        window: &Window,
        sink: &mut RowSink<'_>,
    ) -> impl Future<Output = Result<KindRead, SourceError>> + Send;

    /// Preflight: the table is readable with the configured key and its key and watermark
    /// columns exist.
    fn probe(&self, entity: &EntityConfig) -> impl Future<Output = Result<(), SourceError>> + Send;
}

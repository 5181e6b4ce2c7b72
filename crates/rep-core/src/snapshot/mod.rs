mod reader;
mod row;
mod stats;
mod writer;

pub use reader::{parse_snapshot, SnapshotError};
pub use row::{SnapshotRow, SNAPSHOT_HEADER};
pub use stats::KindSummary;
pub use writer::{SnapshotSummary, SnapshotWriter};

pub(crate) use stats::KindStats;

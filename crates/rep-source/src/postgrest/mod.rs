//! PostgREST protocol: headers, query grammar, ranges, retries, keyset paging and function
//! calls.

pub(crate) mod auth;
pub(crate) mod decode;
pub(crate) mod filter;
pub(crate) mod paging;
pub(crate) mod range;
pub(crate) mod retry;
pub(crate) mod rpc;
pub(crate) mod transport;

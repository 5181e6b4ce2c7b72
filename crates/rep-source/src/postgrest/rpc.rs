//! Calling a function through the REST API — `POST /rest/v1/rpc/<function>` with its named
//! arguments as a JSON object, here `{}` — and reading the answer as migration versions.
//!
//! The answer is a list of rows like any read, so Supabase's silent row cap applies to it: the
//! call asks for the exact count and, while fewer versions than counted have arrived, asks
//! again from `offset=<received>`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::auth::PREFER_COUNT;
use super::range::parse_content_range;
use super::transport::Transport;
use crate::error::{RpcContext, SourceError};

/// The body of a call without arguments.
const NO_ARGUMENTS: &[u8] = b"{}";

/// Most calls made for one list. Each call but the last brings at least one new version, so
/// this bounds a list of at least this many pages, far beyond any real project.
const MAX_CALLS: u32 = 1000;

/// Calls `function` (no arguments) and returns the versions it lists, sorted and distinct.
pub(crate) async fn applied_versions(
    transport: &Transport,
    context: &RpcContext<'_>,
    function: &str,
) -> Result<Vec<String>, SourceError> {
    let url = transport.rpc_url(function);
    let path = url.path().to_string();
    let mut versions: Vec<String> = Vec::new();
    let mut counted: Option<u64> = None;
    for _ in 0..MAX_CALLS {
        let query = if versions.is_empty() {
            String::new()
        } else {
            format!("offset={}", versions.len())
        };
        let answer = transport
            .post_json(&url, &query, PREFER_COUNT, NO_ARGUMENTS)
            .await
            .map_err(|failed| context.explain(failed))?;
        let total = answer
            .content_range
            .as_deref()
            .and_then(parse_content_range)
            .and_then(|r| r.total);
        if let (Some(before), Some(now)) = (counted, total) {
            if before != now {
                return Err(changed(context, &path));
            }
        }
        counted = counted.or(total);
        let page = parse_versions(&answer.body).map_err(|m| context.answer(&path, m))?;
        let received = page.len();
        versions.extend(page);
        // Without a count (a proxy that drops Content-Range) there is no way to tell a cut
        // answer from a whole one: take it as whole.
        let Some(total) = counted else {
            return distinct(context, &path, versions);
        };
        if versions.len() as u64 >= total {
            if versions.len() as u64 > total {
                return Err(changed(context, &path));
            }
            return distinct(context, &path, versions);
        }
        if received == 0 {
            return Err(context.answer(
                &path,
                format!(
                    "the server counted {total} versions but sent none after the first {}",
                    versions.len()
                ),
            ));
        }
    }
    Err(context.answer(&path, format!("still incomplete after {MAX_CALLS} calls")))
}

/// The versions sorted; a version seen twice means the list moved under the offsets.
fn distinct(
    context: &RpcContext<'_>,
    path: &str,
    versions: Vec<String>,
) -> Result<Vec<String>, SourceError> {
    let count = versions.len();
    let set: BTreeSet<String> = versions.into_iter().collect();
    if set.len() != count {
        return Err(changed(context, path));
    }
    Ok(set.into_iter().collect())
}

fn changed(context: &RpcContext<'_>, path: &str) -> SourceError {
    context.answer(
        path,
        "the applied migrations changed while they were read (a migration is being applied?); run the step again".to_string(),
    )
}

/// Reads an answer as versions: a JSON array of strings (a `SETOF text` function), or of
/// objects with a `version` field (a function returning a table). Integers are taken as
/// their digits, for a function that returns `bigint` versions.
fn parse_versions(body: &[u8]) -> Result<Vec<String>, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not JSON ({e}); expected an array of versions"))?;
    let Value::Array(items) = value else {
        return Err(format!(
            "expected a JSON array of versions, got {}",
            shape(&value)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let version = match item {
                Value::Object(row) => row.get("version").ok_or_else(|| {
                    format!("element {i} is an object without a \"version\" field")
                })?,
                other => other,
            };
            match version {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                Value::Number(n) if n.is_u64() => Ok(n.to_string()),
                other => Err(format!(
                    "element {i} has version {}, not a version string",
                    shape(other)
                )),
            }
        })
        .collect()
}

/// What a JSON value is, for an error message (never the value itself: it may be large).
fn shape(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(s) if s.is_empty() => "an empty string",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scalars_and_rows() {
        assert_eq!(
            parse_versions(br#"["20260101000000","20260102000000"]"#).unwrap(),
            ["20260101000000", "20260102000000"]
        );
        assert_eq!(
            parse_versions(br#"[{"version":"20260101000000","name":"init"}]"#).unwrap(),
            ["20260101000000"]
        );
        assert_eq!(
            parse_versions(b"[20260101000000]").unwrap(),
            ["20260101000000"]
        );
        assert!(parse_versions(b"[]").unwrap().is_empty());
    }

    #[test]
    fn refuses_anything_else() {
        for (body, needle) in [
            (&b"{\"version\":\"1\"}"[..], "an object"),
            (b"\"20260101000000\"", "a string"),
            (b"[null]", "null"),
            (b"[{\"name\":\"init\"}]", "without a \"version\""),
            (b"[\"\"]", "an empty string"),
            (b"[1.5]", "a number"),
            (b"<html>", "not JSON"),
        ] {
            let err = parse_versions(body).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }
}

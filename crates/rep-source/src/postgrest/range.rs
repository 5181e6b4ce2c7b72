//! `Content-Range` as PostgREST sends it: `<first>-<last>/<total>`, `*/<total>` for an empty
//! result, and `*` in place of the total when no count was asked for.

/// A parsed `Content-Range` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentRange {
    /// `(first, last)` row offsets, `None` for `*` (no rows in this response).
    pub(crate) rows: Option<(u64, u64)>,
    /// The total the server counted, `None` for `*`.
    pub(crate) total: Option<u64>,
}

/// Parses a `Content-Range` header value; `None` when it is not PostgREST's shape.
pub(crate) fn parse_content_range(value: &str) -> Option<ContentRange> {
    let value = value.trim();
    // RFC 9110 allows a unit before the range ("items 0-9/10"); PostgREST omits it.
    let value = value.strip_prefix("items ").unwrap_or(value).trim();
    let (range, total) = value.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        digits => Some(parse_u64(digits)?),
    };
    let rows = match range.trim() {
        "*" => None,
        pair => {
            let (first, last) = pair.split_once('-')?;
            let (first, last) = (parse_u64(first)?, parse_u64(last)?);
            if last < first {
                return None;
            }
            Some((first, last))
        }
    };
    if let (Some((_, last)), Some(total)) = (rows, total) {
        if last >= total {
            return None;
        }
    }
    Some(ContentRange { rows, total })
}

fn parse_u64(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_postgrest_shapes() {
        assert_eq!(
            parse_content_range("0-999/2500"),
            Some(ContentRange {
                rows: Some((0, 999)),
                total: Some(2500)
            })
        );
        assert_eq!(
            parse_content_range("*/0"),
            Some(ContentRange {
                rows: None,
                total: Some(0)
            })
        );
        assert_eq!(
            parse_content_range("0-6/*"),
            Some(ContentRange {
                rows: Some((0, 6)),
                total: None
            })
        );
        assert_eq!(
            parse_content_range("items 0-0/1"),
            Some(ContentRange {
                rows: Some((0, 0)),
                total: Some(1)
            })
        );
        assert_eq!(
            parse_content_range(" 0-9223372036854775806/9223372036854775807 "),
            Some(ContentRange {
                rows: Some((0, 9_223_372_036_854_775_806)),
                total: Some(9_223_372_036_854_775_807)
            })
        );
    }

    #[test]
    fn refuses_malformed_values() {
        for bad in [
            "", "0-9", "a-b/10", "0-9/ten", "9-0/10", "0-10/10", "-1-5/10", "0-5/-1", "0-5/+6",
            "0-5/1e3",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad:?}");
        }
    }
}

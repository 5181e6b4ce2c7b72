//! Row ranges: `limit`/`offset`, the `Range` request header, the `db-max-rows` cap, and the
//! `Content-Range` header and status code of the response.
//!
//! Follows `PostgREST.RangeQuery` and `PostgREST.Response`: the requested range is the
//! intersection of the `Range` header and `offset`/`limit`; the cap then restricts it to
//! `upper = offset + max_rows - 1` without any error; the status is 416 when a known total is
//! below the offset, 206 when a known total exceeds the page, else 200.

use axum::http::StatusCode;

/// The page of rows to read, after the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    /// The first row's index; also the `<first>` of `Content-Range`.
    pub(crate) offset: i64,
    /// `LIMIT`; `None` reads to the end (only possible without a cap).
    pub(crate) limit: Option<i64>,
}

impl Page {
    /// ` LIMIT … OFFSET …` (or nothing), as `limitOffsetF` renders it.
    pub(crate) fn limit_offset_sql(&self) -> String {
        match self.limit {
            Some(limit) => format!(" LIMIT {limit} OFFSET {}", self.offset),
            None if self.offset == 0 => String::new(),
            None => format!(" LIMIT ALL OFFSET {}", self.offset),
        }
    }
}

/// Requests whose range is empty for a reason other than `limit=0` (PGRST103, 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeError {
    NegativeLimit,
    LowerGreaterThanUpper,
}

impl RangeError {
    pub(crate) fn details(self) -> &'static str {
        match self {
            Self::NegativeLimit => "Limit should be greater than or equal to zero.",
            Self::LowerGreaterThanUpper => {
                "The lower boundary must be lower than or equal to the upper boundary in the Range header."
            }
        }
    }
}

/// An inclusive range; `upper == None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bounds {
    lower: i128,
    upper: Option<i128>,
}

impl Bounds {
    const ALL: Self = Self {
        lower: 0,
        upper: None,
    };

    fn intersect(self, other: Self) -> Self {
        Self {
            lower: self.lower.max(other.lower),
            upper: match (self.upper, other.upper) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }

    fn is_empty(self) -> bool {
        self.upper.is_some_and(|u| u < self.lower)
    }
}

/// `rangeParse`: only `^([0-9]+)-([0-9]*)$` counts; anything else means "all rows".
fn header_bounds(range_header: Option<&str>) -> Bounds {
    let Some(value) = range_header else {
        return Bounds::ALL;
    };
    let Some((lower, upper)) = value.split_once('-') else {
        return Bounds::ALL;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(lower) || !(upper.is_empty() || digits(upper)) {
        return Bounds::ALL;
    }
    let Ok(lower) = lower.parse::<i128>() else {
        return Bounds::ALL;
    };
    Bounds {
        lower,
        upper: if upper.is_empty() {
            None
        } else {
            upper.parse::<i128>().ok()
        },
    }
}

/// Combines the `Range` header, `limit`, `offset` and the server's `max_rows` (0 = no cap).
pub(crate) fn plan_page(
    range_header: Option<&str>,
    limit: Option<i64>,
    offset: Option<i64>,
    max_rows: u64,
) -> Result<Page, RangeError> {
    let header = header_bounds(range_header);
    let query_lower = i128::from(offset.unwrap_or(0));
    let query = Bounds {
        lower: query_lower,
        upper: limit.map(|l| query_lower + i128::from(l) - 1),
    };
    let requested = header.intersect(query);

    if limit == Some(0) {
        // limit=0 is the one empty range PostgREST accepts: it answers with no rows.
        return Ok(Page {
            offset: clamp(requested.lower),
            limit: Some(0),
        });
    }
    if requested.is_empty() {
        return Err(if header.is_empty() {
            RangeError::LowerGreaterThanUpper
        } else {
            RangeError::NegativeLimit
        });
    }

    let capped = if max_rows == 0 {
        requested
    } else {
        requested.intersect(Bounds {
            lower: i128::MIN,
            upper: Some(requested.lower + i128::from(max_rows) - 1),
        })
    };
    Ok(Page {
        offset: clamp(capped.lower),
        limit: capped.upper.map(|u| clamp(u - capped.lower + 1)),
    })
}

fn clamp(value: i128) -> i64 {
    value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `contentRangeH`: `<first>-<last>/<total|*>`, with `*` for the range when the page is
/// empty or the total is known to be zero.
pub(crate) fn content_range(offset: i64, page_rows: i64, total: Option<i64>) -> String {
    let lower = i128::from(offset);
    let upper = lower + i128::from(page_rows) - 1;
    let range = if total != Some(0) && lower <= upper {
        format!("{lower}-{upper}")
    } else {
        "*".to_string()
    };
    let total = total.map_or_else(|| "*".to_string(), |t| t.to_string());
    format!("{range}/{total}")
}

/// `rangeStatus`: 416 only when a known total lies below the offset.
pub(crate) fn status(offset: i64, page_rows: i64, total: Option<i64>) -> StatusCode {
    let Some(total) = total.map(i128::from) else {
        return StatusCode::OK;
    };
    let lower = i128::from(offset);
    let upper = lower + i128::from(page_rows) - 1;
    if lower > total {
        StatusCode::RANGE_NOT_SATISFIABLE
    } else if 1 + upper - lower < total {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    }
}

/// The `details` of the PGRST103 body sent with a 416.
pub(crate) fn out_of_bounds_details(offset: i64, total: Option<i64>) -> String {
    format!(
        "An offset of {offset} was requested, but there are only {} rows.",
        total.unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_restricts_silently_from_the_offset() {
        assert_eq!(
            plan_page(None, Some(5000), Some(5000), 1000),
            Ok(Page {
                offset: 5000,
                limit: Some(1000)
            })
        );
        assert_eq!(
            plan_page(None, None, None, 1000),
            Ok(Page {
                offset: 0,
                limit: Some(1000)
            })
        );
        assert_eq!(
            plan_page(None, Some(10), None, 1000),
            Ok(Page {
                offset: 0,
                limit: Some(10)
            })
        );
        assert_eq!(
            plan_page(None, None, None, 0),
            Ok(Page {
                offset: 0,
                limit: None
            })
        );
    }

    #[test]
    fn range_header_works_like_offset_and_limit() {
        assert_eq!(
            plan_page(Some("20-29"), None, None, 1000),
            Ok(Page {
                offset: 20,
                limit: Some(10)
            })
        );
        assert_eq!(
            plan_page(Some("20-"), None, None, 1000),
            Ok(Page {
                offset: 20,
                limit: Some(1000)
            })
        );
        // Malformed headers are ignored.
        assert_eq!(
            plan_page(Some("items=0-9"), None, None, 1000),
            Ok(Page {
                offset: 0,
                limit: Some(1000)
            })
        );
        assert_eq!(
            plan_page(Some("9-5"), None, None, 1000),
            Err(RangeError::LowerGreaterThanUpper)
        );
        assert_eq!(
            plan_page(None, Some(-1), None, 1000),
            Err(RangeError::NegativeLimit)
        );
        assert_eq!(
            plan_page(None, Some(0), Some(7), 1000),
            Ok(Page {
                offset: 7,
                limit: Some(0)
            })
        );
    }

    #[test]
    fn content_range_and_status() {
        assert_eq!(content_range(5000, 1000, None), "5000-5999/*");
        assert_eq!(status(5000, 1000, None), StatusCode::OK);
        assert_eq!(content_range(0, 1000, Some(4010)), "0-999/4010");
        assert_eq!(status(0, 1000, Some(4010)), StatusCode::PARTIAL_CONTENT);
        assert_eq!(content_range(0, 10, Some(10)), "0-9/10");
        assert_eq!(status(0, 10, Some(10)), StatusCode::OK);
        assert_eq!(content_range(0, 0, Some(0)), "*/0");
        assert_eq!(status(0, 0, Some(0)), StatusCode::OK);
        assert_eq!(content_range(0, 0, None), "*/*");
        // An offset equal to the total is an empty partial page, past it is 416.
        assert_eq!(status(10, 0, Some(10)), StatusCode::PARTIAL_CONTENT);
        assert_eq!(content_range(11, 0, Some(10)), "*/10");
        assert_eq!(status(11, 0, Some(10)), StatusCode::RANGE_NOT_SATISFIABLE);
    }
}

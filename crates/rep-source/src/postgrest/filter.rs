//! The PostgREST query strings of the client: the keyset page request, the preflight probe,
//! and the quoting and percent-encoding that keep any key value from changing the grammar.

use std::borrow::Cow;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rep_core::{EntityConfig, Window};

/// Everything but RFC 3986 unreserved characters is encoded. In particular `+` becomes `%2B`
/// (a form decoder would read a bare `+` in `+00:00` as a space) and a space becomes `%20`
/// (unambiguous for every decoder, unlike the form encoding's `+`).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The position after the last row read: the watermark and key exactly as the server sent
/// them, so the next page starts where the server's own ordering left off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// The watermark text of the last row (`2026-03-01T00:00:00.123456+00:00`).
    pub(crate) watermark: String,
    /// The key of the last row: a JSON number's literal digits or a string's characters.
    pub(crate) key: String,
}

/// A value as it must appear inside `or=(…)`/`and(…)`.
///
/// PostgREST's reserved characters (`,` `.` `:` `(` `)`) split the logic tree, so such a
/// value must be double-quoted, and inside the quotes `"` and `\` are backslash-escaped.
/// Anything beyond letters, digits, `-` and `_` is quoted as well: quoting is always
/// accepted, and a rule that quotes more than needed cannot miss a character a future
/// grammar reserves (whitespace, `*`, `{`, `'`…).
pub(crate) fn logic_value(value: &str) -> Cow<'_, str> {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if plain {
        return Cow::Borrowed(value);
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    Cow::Owned(quoted)
}

/// `or=(wm.gt.X,and(wm.eq.X,key.gt.Y))`: strictly after the cursor in `(wm, key)` order.
/// PostgREST has no row-value comparison, so the tuple order is spelled out.
pub(crate) fn keyset_filter(watermark_column: &str, key_column: &str, cursor: &Cursor) -> String {
    let x = logic_value(&cursor.watermark);
    let y = logic_value(&cursor.key);
    format!("({watermark_column}.gt.{x},and({watermark_column}.eq.{x},{key_column}.gt.{y}))")
}

/// The query of one page of `entity` in `window`, as ordered name/value pairs.
///
/// Every page after the first repeats the cursor's watermark as a plain `wm=gte.X`: it is
/// implied by the `or`, but it is what lets PostgreSQL start the `(wm, key)` index scan at
/// the cursor instead of at the window start on every page.
pub(crate) fn page_query(
    entity: &EntityConfig,
    window: &Window,
    cursor: Option<&Cursor>,
    limit: u32,
) -> Vec<(String, String)> {
    let wm = entity.watermark.as_str();
    let key = entity.key.as_str();
    let mut pairs = vec![
        ("select".to_string(), entity.select()),
        (wm.to_string(), format!("gte.{}", window.start_text())),
        (wm.to_string(), format!("lt.{}", window.end_text())),
    ];
    if let Some(cursor) = cursor {
        // A top-level filter value is everything after the operator: no quoting there.
        pairs.push((wm.to_string(), format!("gte.{}", cursor.watermark)));
        pairs.push(("or".to_string(), keyset_filter(wm, key, cursor)));
    }
    pairs.push(("order".to_string(), format!("{wm}.asc,{key}.asc")));
    pairs.push(("limit".to_string(), limit.to_string()));
    pairs
}

/// The preflight probe: one row of the key and watermark columns, which PostgREST refuses
/// with `42703` when either column does not exist.
pub(crate) fn probe_query(entity: &EntityConfig) -> Vec<(String, String)> {
    vec![
        (
            "select".to_string(),
            format!("{},{}", entity.key, entity.watermark),
        ),
        ("limit".to_string(), "1".to_string()),
    ]
}

/// Percent-encodes the pairs into a query string (without the leading `?`).
pub(crate) fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(name, QUERY_VALUE),
                utf8_percent_encode(value, QUERY_VALUE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entity() -> EntityConfig {
        EntityConfig {
            kind: "order".into(),
            table: "orders".into(),
            key: "order_code".into(),
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

    #[test]
    fn plain_values_stay_bare() {
        assert_eq!(logic_value("9007199254740993"), "9007199254740993");
        assert_eq!(logic_value("-42"), "-42");
        assert_eq!(
            logic_value("0b6e4c1a-7f3e-4d1a-9c2b-1d2e3f4a5b6c"),
            "0b6e4c1a-7f3e-4d1a-9c2b-1d2e3f4a5b6c"
        );
        assert_eq!(logic_value("ORD_0001"), "ORD_0001");
    }

    #[test]
    fn reserved_characters_are_quoted_and_escaped() {
        assert_eq!(logic_value("a,b"), r#""a,b""#);
        assert_eq!(logic_value("a.b:c(d)"), r#""a.b:c(d)""#);
        assert_eq!(logic_value(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(logic_value(r"back\slash"), r#""back\\slash""#);
        assert_eq!(logic_value(r#"\""#), r#""\\\"""#);
        assert_eq!(logic_value("two words"), r#""two words""#);
        assert_eq!(logic_value(""), r#""""#);
        assert_eq!(logic_value("ação"), r#""ação""#);
        assert_eq!(
            logic_value("2026-03-01T00:00:00.5+00:00"),
            r#""2026-03-01T00:00:00.5+00:00""#
        );
    }

    #[test]
    fn keyset_filter_spells_out_the_tuple_order() {
        let cursor = Cursor {
            watermark: "2026-03-01T00:00:00+00:00".into(),
            key: r#"A,(b)"c\"#.into(),
        };
        assert_eq!(
            keyset_filter("updated_at", "order_code", &cursor),
            r#"(updated_at.gt."2026-03-01T00:00:00+00:00",and(updated_at.eq."2026-03-01T00:00:00+00:00",order_code.gt."A,(b)\"c\\"))"#
        );
    }

    #[test]
    fn first_page_has_window_order_and_limit_only() {
        let q = encode_query(&page_query(&entity(), &window(), None, 1000));
        assert_eq!(
            q,
            "select=%2A&updated_at=gte.2026-03-01T00%3A00%3A00.000000Z\
             &updated_at=lt.2026-03-02T00%3A00%3A00.000000Z\
             &order=updated_at.asc%2Corder_code.asc&limit=1000"
        );
    }

    #[test]
    fn later_pages_add_the_redundant_bound_and_encode_plus_and_space() {
        let cursor = Cursor {
            watermark: "2026-03-01T10:00:00.123456+00:00".into(),
            key: "a b+c".into(),
        };
        let pairs = page_query(&entity(), &window(), Some(&cursor), 7);
        let names: Vec<_> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "select",
                "updated_at",
                "updated_at",
                "updated_at",
                "or",
                "order",
                "limit"
            ]
        );
        assert_eq!(pairs[3].1, "gte.2026-03-01T10:00:00.123456+00:00");
        let q = encode_query(&pairs);
        assert!(
            q.contains("updated_at=gte.2026-03-01T10%3A00%3A00.123456%2B00%3A00&"),
            "{q}"
        );
        assert!(q.contains("order_code.gt.%22a%20b%2Bc%22"), "{q}");
        assert!(
            !q.contains('+') && !q.contains(' ') && !q.contains('"'),
            "{q}"
        );
    }

    #[test]
    fn encoded_values_decode_back_exactly() {
        let nasty = "x,\"y\"\\ (z) é&=#%+?";
        let q = encode_query(&[("v".to_string(), nasty.to_string())]);
        let decoded = percent_encoding::percent_decode_str(q.strip_prefix("v=").unwrap())
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, nasty);
        let via_url: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(via_url, [("v".to_string(), nasty.to_string())]);
    }

    #[test]
    fn probe_selects_key_and_watermark() {
        assert_eq!(
            encode_query(&probe_query(&entity())),
            "select=order_code%2Cupdated_at&limit=1"
        );
    }
}

//! The `Prefer` request header and the `Preference-Applied` response header
//! (`PostgREST.ApiRequest.Preferences`).

use std::collections::HashSet;

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CountPreference {
    Exact,
    Planned,
    Estimated,
}

impl CountPreference {
    fn header_value(self) -> &'static str {
        match self {
            Self::Exact => "count=exact",
            Self::Planned => "count=planned",
            Self::Estimated => "count=estimated",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handling {
    Strict,
    Lenient,
}

/// The preferences a read honours. The first occurrence of each preference wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Preferences {
    pub(crate) count: Option<CountPreference>,
    /// Only set when the zone is one of `pg_timezone_names`; other values are ignored.
    pub(crate) timezone: Option<String>,
    pub(crate) handling: Option<Handling>,
    /// Preferences PostgREST does not recognise (reported with `handling=strict`).
    pub(crate) invalid: Vec<String>,
}

/// Everything PostgREST recognises (for any method), so that e.g. `return=minimal` on a
/// GET is ignored rather than reported as invalid.
const KNOWN: &[&str] = &[
    "resolution=merge-duplicates",
    "resolution=ignore-duplicates",
    "return=representation",
    "return=minimal",
    "return=headers-only",
    "params=single-object",
    "count=exact",
    "count=planned",
    "count=estimated",
    "tx=commit",
    "tx=rollback",
    "missing=default",
    "missing=null",
    "handling=strict",
    "handling=lenient",
];

impl Preferences {
    pub(crate) fn from_headers(headers: &HeaderMap, timezones: &HashSet<String>) -> Self {
        let prefs: Vec<String> = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_string())
            .collect();

        let first = |candidates: &[(&str, CountPreference)]| {
            prefs.iter().find_map(|p| {
                candidates
                    .iter()
                    .find(|(text, _)| text == p)
                    .map(|(_, v)| *v)
            })
        };
        let count = first(&[
            ("count=exact", CountPreference::Exact),
            ("count=planned", CountPreference::Planned),
            ("count=estimated", CountPreference::Estimated),
        ]);
        let handling = prefs.iter().find_map(|p| match p.as_str() {
            "handling=strict" => Some(Handling::Strict),
            "handling=lenient" => Some(Handling::Lenient),
            _ => None,
        });
        let requested_timezone = prefs.iter().find_map(|p| p.strip_prefix("timezone="));
        let timezone = requested_timezone
            .filter(|tz| timezones.contains(*tz))
            .map(str::to_string);
        let invalid = prefs
            .iter()
            .filter(|p| {
                let recognised = KNOWN.contains(&p.as_str())
                    || p.starts_with("max-affected=")
                    || (p.starts_with("timezone=") && timezone.is_some());
                !recognised
            })
            .cloned()
            .collect();
        Self {
            count,
            timezone,
            handling,
            invalid,
        }
    }

    /// `Preference-Applied` for a read: count, handling and timezone, in PostgREST's order.
    pub(crate) fn applied_header(&self) -> Option<String> {
        let values: Vec<String> = [
            self.count.map(|c| c.header_value().to_string()),
            self.handling.map(|h| match h {
                Handling::Strict => "handling=strict".to_string(),
                Handling::Lenient => "handling=lenient".to_string(),
            }),
            self.timezone.as_ref().map(|tz| format!("timezone={tz}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn prefs(values: &[&str]) -> Preferences {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("prefer", HeaderValue::from_str(v).unwrap());
        }
        let zones = ["UTC".to_string(), "America/Sao_Paulo".to_string()]
            .into_iter()
            .collect();
        Preferences::from_headers(&headers, &zones)
    }

    #[test]
    fn first_preference_wins_and_is_echoed() {
        let p = prefs(&["count=exact, count=planned", "timezone=UTC"]);
        assert_eq!(p.count, Some(CountPreference::Exact));
        assert_eq!(p.timezone.as_deref(), Some("UTC"));
        assert_eq!(
            p.applied_header().as_deref(),
            Some("count=exact, timezone=UTC")
        );
        assert!(p.invalid.is_empty());
    }

    #[test]
    fn unknown_timezones_are_ignored_and_invalid() {
        let p = prefs(&["timezone=Mars/Olympus, handling=strict"]);
        assert_eq!(p.timezone, None);
        assert_eq!(p.invalid, vec!["timezone=Mars/Olympus".to_string()]);
        assert_eq!(p.applied_header().as_deref(), Some("handling=strict"));
    }
}

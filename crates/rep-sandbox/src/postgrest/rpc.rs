//! `POST /rest/v1/rpc/<function>`: PostgREST's function call, the named arguments in a JSON
//! object (`PostgREST.Plan.findProc`, `QueryBuilder.callPlanToQuery`,
//! `Statements.prepareCall`).
//!
//! The function is looked up by name in the exposed schema and chosen among its overloads by
//! the body's keys, with PostgREST's errors when none fits (404 PGRST202) or several do (300
//! PGRST203). It runs inside the request's transaction with the role of the key, so a
//! function the role may not execute fails with PostgreSQL's 42501 (403), and read-only
//! unless it is `VOLATILE`, as PostgREST runs it. The answer is rendered by `json_agg` inside
//! PostgreSQL: a set of scalars as an array of scalars, rows as an array of objects, a single
//! scalar or row as that value. `limit`, `offset`, the `Range` header and the row cap apply to
//! the result; any `Prefer: count=…` is answered with the exact count.
//!
//! Not implemented (PGRST127): passing arguments (the one call the project makes has none),
//! a function with a single unnamed `json`/`jsonb` parameter, calls with GET, `select`,
//! filters or `order` on the result, and CSV answers.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, Method, Response, StatusCode, Uri};
use percent_encoding::percent_decode_str;

use super::error::{ApiError, JSON_CONTENT_TYPE};
use super::gateway::Authenticated;
use super::query::SelectItem;
use super::range::{self, Page};
use super::sql::{quote_ident, BodyFormat};
use super::{negotiate, parse_query, plan_page, preferences, set_request_context, AppState};

/// The overloads of one function name in one schema, as the schema cache describes them.
/// Output parameters are left out; a missing parameter name reads as `""`.
const ROUTINES_SQL: &str = "SELECT coalesce(a.names, '{}'::text[]) AS names, \
     coalesce(a.types, '{}'::text[]) AS types, coalesce(a.required, '{}'::bool[]) AS required, \
     p.proretset AS returns_set, \
     (t.typtype = 'c' OR coalesce(p.proargmodes::text[] && '{t,b,o}'::text[], false)) AS returns_composite, \
     p.provolatile = 'v' AS volatile \
     FROM pg_catalog.pg_proc p \
     JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
     JOIN pg_catalog.pg_type t ON t.oid = p.prorettype \
     LEFT JOIN LATERAL ( \
         SELECT array_agg(coalesce(x.name, '') ORDER BY x.idx) AS names, \
                array_agg(pg_catalog.format_type(x.type, NULL) ORDER BY x.idx) AS types, \
                array_agg(x.position <= p.pronargs - p.pronargdefaults ORDER BY x.idx) AS required \
         FROM (SELECT u.name, u.type, u.idx, row_number() OVER (ORDER BY u.idx) AS position \
               FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames, p.proargmodes) \
                    WITH ORDINALITY AS u(type, name, mode, idx) \
               WHERE coalesce(u.mode, 'i') IN ('i', 'b', 'v')) x \
     ) a ON true \
     WHERE n.nspname = $1 AND p.proname = $2 AND p.prokind = 'f' \
       AND p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype";

/// One overload: its input parameters and what it returns.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct Routine {
    names: Vec<String>,
    types: Vec<String>,
    /// Per parameter: true when it has no default.
    required: Vec<bool>,
    returns_set: bool,
    returns_composite: bool,
    volatile: bool,
}

impl Routine {
    /// PostgREST leaves out of its schema cache the functions it cannot call by name: more
    /// than one unnamed parameter, or one that is not of a type a raw body can fill.
    fn callable(&self) -> bool {
        match self.names.iter().filter(|n| n.is_empty()).count() {
            0 => true,
            1 => {
                self.names.len() == 1
                    && ["bytea", "json", "jsonb", "text", "xml"].contains(&self.types[0].as_str())
            }
            _ => false,
        }
    }

    /// `matchesParams`: every required parameter is given and every key is a parameter.
    fn matches(&self, keys: &BTreeSet<String>) -> bool {
        let given = |name: &String| keys.contains(name);
        self.names
            .iter()
            .zip(&self.required)
            .all(|(name, required)| !required || given(name))
            && keys.iter().all(|k| self.names.contains(k))
    }

    /// `hasSingleUnnamedParam` for a JSON body: the whole body would be its argument.
    fn takes_the_whole_body(&self) -> bool {
        self.names.len() == 1
            && self.names[0].is_empty()
            && ["json", "jsonb"].contains(&self.types[0].as_str())
    }

    /// `schema.name(a => integer, b => text)`, as PGRST203 lists candidates.
    fn signature(&self, schema: &str, name: &str) -> String {
        let params: Vec<String> = self
            .names
            .iter()
            .zip(&self.types)
            .map(|(n, t)| format!("{n} => {t}"))
            .collect();
        format!("{schema}.{name}({})", params.join(", "))
    }

    fn shape(&self) -> Shape {
        match (self.returns_set, self.returns_composite) {
            (false, false) => Shape::Scalar,
            (true, false) => Shape::SetOfScalars,
            (false, true) => Shape::Row,
            (true, true) => Shape::SetOfRows,
        }
    }
}

/// What a function returns, which decides how its answer is rendered (`asJsonF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Scalar,
    SetOfScalars,
    Row,
    SetOfRows,
}

/// Answers one call. `function` is the path segment after `rpc/`, still percent-encoded.
pub(super) async fn respond(
    state: &AppState,
    auth: &Authenticated,
    method: &Method,
    function: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    if *method == Method::GET || *method == Method::HEAD {
        return Err(ApiError::not_implemented("calling a function with GET"));
    }
    if *method != Method::POST {
        return Err(ApiError::pgrst(
            StatusCode::METHOD_NOT_ALLOWED,
            "PGRST117",
            format!("Unsupported HTTP method: {method}"),
        ));
    }
    let name = percent_decode_str(function)
        .decode_utf8_lossy()
        .into_owned();
    if name.contains('/') {
        return Err(ApiError::pgrst(
            StatusCode::NOT_FOUND,
            "PGRST125",
            "Invalid path specified in request URL",
        ));
    }
    let keys = argument_keys(body)?;
    let query = parse_query(uri)?;
    if query.select != [SelectItem::Star] || !query.conditions.is_empty() || !query.order.is_empty()
    {
        return Err(ApiError::not_implemented(
            "select, filters and order on a function's result",
        ));
    }
    let prefs = preferences(state, headers)?;
    let page = plan_page(state, headers, &query)?;
    if negotiate(headers)? != BodyFormat::Json {
        return Err(ApiError::not_implemented("CSV answers of a function call"));
    }

    let db_err = |e: sqlx::Error| ApiError::from_sqlx(&e);
    // The schema cache is read as the server, before the switch to the caller's role, as
    // PostgREST reads it once as its authenticator.
    let overloads: Vec<Routine> = sqlx::query_as::<_, Routine>(ROUTINES_SQL)
        .bind(&state.schema)
        .bind(&name)
        .fetch_all(&state.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .filter(Routine::callable)
        .collect();
    let routine = find_routine(&state.schema, &name, &keys, &overloads)?;
    if !keys.is_empty() || !routine.matches(&keys) {
        return Err(ApiError::not_implemented("passing arguments to a function"));
    }

    let mut tx = state.pool.begin().await.map_err(db_err)?;
    let mode = if routine.volatile {
        "READ WRITE"
    } else {
        "READ ONLY"
    };
    sqlx::query(&format!(
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED {mode}"
    ))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    set_request_context(&mut tx, state, auth, &prefs).await?;
    let statement = call_statement(
        &state.schema,
        &name,
        routine.shape(),
        prefs.count.is_some(),
        page,
    );
    let (total, page_total, answer): (Option<i64>, i64, String) = sqlx::query_as(&statement)
        .persistent(false)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;

    let status = range::status(page.offset, page_total, total);
    let mut response_headers: Vec<(HeaderName, String)> = vec![(
        header::CONTENT_RANGE,
        range::content_range(page.offset, page_total, total),
    )];
    if let Some(applied) = prefs.applied_header() {
        response_headers.push((HeaderName::from_static("preference-applied"), applied));
    }
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        let err = ApiError::pgrst(status, "PGRST103", "Requested range not satisfiable")
            .with_details(range::out_of_bounds_details(page.offset, total));
        return Ok(err.into_response(response_headers, false));
    }
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, JSON_CONTENT_TYPE);
    for (name, value) in response_headers {
        builder = builder.header(name, value);
    }
    builder.body(Body::from(answer)).map_err(|err| {
        ApiError::pgrst(
            StatusCode::INTERNAL_SERVER_ERROR,
            "PGRSTX00",
            err.to_string(),
        )
    })
}

/// The body's keys, the names of the arguments. An empty body is a call without arguments.
fn argument_keys(body: &[u8]) -> Result<BTreeSet<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(BTreeSet::new());
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::pgrst(StatusCode::BAD_REQUEST, "PGRST102", "Empty or invalid json")
            .with_details(e.to_string())
    })?;
    match value {
        serde_json::Value::Object(map) => Ok(map.keys().cloned().collect()),
        _ => Err(ApiError::not_implemented(
            "a function call whose body is not a JSON object",
        )),
    }
}

/// `findProc`: the overload whose parameters the keys fit, else the one taking the whole
/// body, else PGRST202; several candidates at either stage are PGRST203.
fn find_routine<'a>(
    schema: &str,
    name: &str,
    keys: &BTreeSet<String>,
    overloads: &'a [Routine],
) -> Result<&'a Routine, ApiError> {
    let named: Vec<&Routine> = overloads.iter().filter(|r| r.matches(keys)).collect();
    let whole_body: Vec<&Routine> = overloads
        .iter()
        .filter(|r| !r.matches(keys) && r.takes_the_whole_body())
        .collect();
    let candidates = if named.is_empty() { whole_body } else { named };
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(not_found(schema, name, keys)),
        several => Err(ApiError::pgrst(
            StatusCode::MULTIPLE_CHOICES,
            "PGRST203",
            format!(
                "Could not choose the best candidate function between: {}",
                several
                    .iter()
                    .map(|r| r.signature(schema, name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_hint(
            "Try renaming the parameters or the function itself in the database so function overloading can be resolved",
        )),
    }
}

/// PGRST202 as PostgREST words it for a JSON body (its fuzzy "Perhaps you meant…" hint is
/// left out).
fn not_found(schema: &str, name: &str, keys: &BTreeSet<String>) -> ApiError {
    let listed = keys.iter().cloned().collect::<Vec<_>>().join(", ");
    let (in_message, in_details) = match keys.len() {
        0 => (
            " without parameters".to_string(),
            " without parameters".to_string(),
        ),
        1 => (format!("({listed})"), format!(" with parameter {listed}")),
        _ => (format!("({listed})"), format!(" with parameters {listed}")),
    };
    ApiError::pgrst(
        StatusCode::NOT_FOUND,
        "PGRST202",
        format!("Could not find the function {schema}.{name}{in_message} in the schema cache"),
    )
    .with_details(format!(
        "Searched for the function {schema}.{name}{in_details} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache."
    ))
}

/// The call without arguments and its rendering: columns `total_result_set` (bigint, null
/// unless counted), `page_total` (bigint) and `body` (text).
fn call_statement(schema: &str, name: &str, shape: Shape, count: bool, page: Page) -> String {
    let function = format!("{}.{}", quote_ident(schema), quote_ident(name));
    let source = match shape {
        Shape::Scalar | Shape::SetOfScalars => format!(
            "SELECT pgrst_call.pgrst_scalar FROM (SELECT {function}() pgrst_scalar) pgrst_call"
        ),
        Shape::Row | Shape::SetOfRows => {
            format!("SELECT pgrst_call.* FROM {function}() pgrst_call")
        }
    };
    let (count_cte, count_column) = if count {
        (
            ", pgrst_source_count AS ( SELECT 1 FROM pgrst_source )",
            "(SELECT pg_catalog.count(*) FROM pgrst_source_count)",
        )
    } else {
        ("", "null::bigint")
    };
    let body = match shape {
        Shape::Scalar => "coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null')",
        Shape::SetOfScalars => "coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')",
        Shape::Row => "coalesce(json_agg(_postgrest_t)->0, 'null')",
        Shape::SetOfRows => "coalesce(json_agg(_postgrest_t), '[]')",
    };
    format!(
        "WITH pgrst_source AS ( {source} ){count_cte} \
         SELECT {count_column} AS total_result_set, \
         pg_catalog.count(_postgrest_t) AS page_total, \
         {body}::text AS body \
         FROM ( SELECT * FROM pgrst_source{} ) _postgrest_t",
        page.limit_offset_sql()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routine(params: &[(&str, &str, bool)]) -> Routine {
        Routine {
            names: params.iter().map(|p| p.0.to_string()).collect(),
            types: params.iter().map(|p| p.1.to_string()).collect(),
            required: params.iter().map(|p| p.2).collect(),
            returns_set: true,
            returns_composite: false,
            volatile: false,
        }
    }

    fn keys(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn overloads_are_chosen_by_the_body_keys() {
        let none = routine(&[]);
        let optional = routine(&[("since", "text", false)]);
        let required = routine(&[("since", "text", true), ("until", "text", false)]);
        assert!(none.matches(&keys(&[])));
        assert!(!none.matches(&keys(&["since"])));
        assert!(optional.matches(&keys(&[])) && optional.matches(&keys(&["since"])));
        assert!(!required.matches(&keys(&[])));
        assert!(required.matches(&keys(&["since", "until"])));
        assert!(!required.matches(&keys(&["since", "other"])));

        let found = find_routine("public", "f", &keys(&[]), std::slice::from_ref(&none));
        assert_eq!(found.unwrap(), &none);
        let err =
            find_routine("public", "f", &keys(&[]), &[none.clone(), optional.clone()]).unwrap_err();
        assert_eq!(err.status, StatusCode::MULTIPLE_CHOICES);
        assert!(
            err.body_json().contains("public.f(since => text)"),
            "{}",
            err.body_json()
        );

        let whole = routine(&[("", "jsonb", true)]);
        assert!(whole.callable() && !routine(&[("", "integer", true)]).callable());
        let found = find_routine("public", "f", &keys(&["a"]), std::slice::from_ref(&whole));
        assert_eq!(found.unwrap(), &whole);
    }

    #[test]
    fn unknown_functions_and_arguments_are_pgrst202() {
        let err = find_routine("public", "nope", &keys(&[]), &[]).unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert_eq!(
            err.body_json(),
            r#"{"code":"PGRST202","details":"Searched for the function public.nope without parameters or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.","hint":null,"message":"Could not find the function public.nope without parameters in the schema cache"}"#
        );
        let err = find_routine("public", "f", &keys(&["b", "a"]), &[routine(&[])]).unwrap_err();
        assert!(err.body_json().contains(
            r#""message":"Could not find the function public.f(a, b) in the schema cache""#
        ));
        assert!(err.body_json().contains("with parameters a, b or with"));
    }

    #[test]
    fn answers_are_rendered_by_shape() {
        let page = Page {
            offset: 0,
            limit: Some(1000),
        };
        let sql = call_statement("public", "versions", Shape::SetOfScalars, true, page);
        assert!(sql.starts_with(
            r#"WITH pgrst_source AS ( SELECT pgrst_call.pgrst_scalar FROM (SELECT "public"."versions"() pgrst_scalar) pgrst_call ), pgrst_source_count AS"#
        ), "{sql}");
        assert!(sql.contains("coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')::text AS body"));
        assert!(
            sql.ends_with("FROM ( SELECT * FROM pgrst_source LIMIT 1000 OFFSET 0 ) _postgrest_t")
        );
        let sql = call_statement("public", "rows", Shape::Row, false, page);
        assert!(sql.contains(r#"SELECT pgrst_call.* FROM "public"."rows"() pgrst_call"#));
        assert!(sql.contains("null::bigint AS total_result_set"));
        assert!(sql.contains("coalesce(json_agg(_postgrest_t)->0, 'null')::text"));
    }

    #[test]
    fn bodies_name_the_arguments() {
        assert!(argument_keys(b"").unwrap().is_empty());
        assert!(argument_keys(b" {} ").unwrap().is_empty());
        assert_eq!(
            argument_keys(br#"{"b":1,"a":2}"#).unwrap(),
            keys(&["a", "b"])
        );
        assert_eq!(argument_keys(b"{").unwrap_err().code(), Some("PGRST102"));
        assert_eq!(argument_keys(b"[]").unwrap_err().code(), Some("PGRST127"));
    }
}

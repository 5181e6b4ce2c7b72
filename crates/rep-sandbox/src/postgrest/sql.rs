//! Builds PostgREST's read statement (`PostgREST.Query.Statements.prepareRead`).
//!
//! The body is rendered inside PostgreSQL with `json_agg`, exactly as PostgREST does, so every
//! value arrives as real Supabase renders it. Identifiers are always double-quoted; filter
//! values are bound as text parameters and cast to the column's type
//! (`$n::text::<type>`), which parses them with the type's input function just like
//! PostgREST's untyped literals, without any way to inject SQL.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::query::{
    CompareOp, Condition, Direction, Filter, IsValue, LogicOp, Nulls, Operation, ReadQuery,
    SelectItem,
};
use super::range::Page;

/// Column name → type without modifiers (`format_type(atttypid, NULL)`), e.g. `numeric`
/// rather than `numeric(38,10)`, so that casting a filter value never rounds it.
pub(crate) type ColumnTypes = HashMap<String, String>;

/// What the caller asked the body to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFormat {
    Json,
    Csv,
}

/// How the total row count is computed inside the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CountMode {
    None,
    Exact,
    /// `count=estimated`: count at most this many rows, so a huge table stays cheap.
    AtMost(u64),
}

/// A statement with its text parameters (`$1`, `$2`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) binds: Vec<String>,
}

/// Everything the SQL depends on.
pub(crate) struct ReadPlan<'a> {
    pub(crate) schema: &'a str,
    pub(crate) table: &'a str,
    pub(crate) columns: &'a ColumnTypes,
    pub(crate) query: &'a ReadQuery,
    pub(crate) page: Page,
}

impl ReadPlan<'_> {
    fn qualified_table(&self) -> String {
        format!("{}.{}", quote_ident(self.schema), quote_ident(self.table))
    }

    fn qualified_column(&self, column: &str) -> String {
        format!("{}.{}", self.qualified_table(), quote_ident(column))
    }

    /// ` WHERE …` (or nothing) plus its binds; shared by the page and the count queries.
    fn where_clause(&self) -> (String, Vec<String>) {
        let mut binds = Vec::new();
        let parts: Vec<String> = self
            .query
            .conditions
            .iter()
            .map(|c| self.condition_sql(c, &mut binds))
            .collect();
        if parts.is_empty() {
            (String::new(), binds)
        } else {
            (format!(" WHERE {}", parts.join(" AND ")), binds)
        }
    }

    fn condition_sql(&self, condition: &Condition, binds: &mut Vec<String>) -> String {
        match condition {
            Condition::Filter(filter) => self.filter_sql(filter, binds),
            Condition::Tree {
                negated,
                op,
                children,
            } => {
                let joiner = match op {
                    LogicOp::And => " AND ",
                    LogicOp::Or => " OR ",
                };
                let inner: Vec<String> = children
                    .iter()
                    .map(|c| self.condition_sql(c, binds))
                    .collect();
                format!(
                    "{}({})",
                    if *negated { "NOT " } else { "" },
                    inner.join(joiner)
                )
            }
        }
    }

    fn filter_sql(&self, filter: &Filter, binds: &mut Vec<String>) -> String {
        let column = self.qualified_column(&filter.column);
        // An unknown column gets no cast: PostgreSQL then reports 42703 for the column itself,
        // the same error PostgREST passes through.
        let column_type = self.columns.get(&filter.column);
        let typed_param = |binds: &mut Vec<String>, value: String, type_suffix: &str| {
            binds.push(value);
            match column_type {
                Some(t) => format!("${}::text::{t}{type_suffix}", binds.len()),
                None => format!("${}::text{type_suffix}", binds.len()),
            }
        };
        let text_param = |binds: &mut Vec<String>, value: String| {
            binds.push(value);
            format!("${}::text", binds.len())
        };
        let expression = match &filter.operation {
            Operation::Compare { op, value } => {
                let value = value.clone();
                match op {
                    CompareOp::Like => format!(
                        "{column} LIKE {}",
                        text_param(binds, value.replace('*', "%"))
                    ),
                    CompareOp::Ilike => format!(
                        "{column} ILIKE {}",
                        text_param(binds, value.replace('*', "%"))
                    ),
                    CompareOp::Match => format!("{column} ~ {}", text_param(binds, value)),
                    CompareOp::Imatch => format!("{column} ~* {}", text_param(binds, value)),
                    other => format!(
                        "{column} {} {}",
                        comparison_operator(*other),
                        typed_param(binds, value, "")
                    ),
                }
            }
            Operation::In(values) if values.len() == 1 && values[0].is_empty() => {
                format!("{column} = ANY('{{}}')")
            }
            Operation::In(values) => {
                format!(
                    "{column} = ANY ({})",
                    typed_param(binds, array_literal(values), "[]")
                )
            }
            Operation::Is(value) => format!(
                "{column} IS {}",
                match value {
                    IsValue::Null => "NULL",
                    IsValue::True => "TRUE",
                    IsValue::False => "FALSE",
                    IsValue::Unknown => "UNKNOWN",
                }
            ),
        };
        if filter.negated {
            format!("NOT {expression}")
        } else {
            expression
        }
    }

    fn select_list(&self) -> String {
        self.query
            .select
            .iter()
            .map(|item| match item {
                SelectItem::Star => format!("{}.*", self.qualified_table()),
                SelectItem::Column { name, alias, cast } => {
                    let mut sql = self.qualified_column(name);
                    if let Some(cast) = cast {
                        // The cast is an identifier of letters, digits, `_`, `$` and spaces
                        // (the grammar admits nothing else), so it can be spliced in as-is.
                        sql = format!("CAST( {sql} AS {cast} )");
                    }
                    if let Some(alias) = alias {
                        let _ = write!(sql, " AS {}", quote_ident(alias));
                    }
                    sql
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn order_by(&self) -> String {
        if self.query.order.is_empty() {
            return String::new();
        }
        let terms: Vec<String> = self
            .query
            .order
            .iter()
            .map(|term| {
                let mut sql = self.qualified_column(&term.column);
                match term.direction {
                    Some(Direction::Asc) => sql.push_str(" ASC"),
                    Some(Direction::Desc) => sql.push_str(" DESC"),
                    None => {}
                }
                match term.nulls {
                    Some(Nulls::First) => sql.push_str(" NULLS FIRST"),
                    Some(Nulls::Last) => sql.push_str(" NULLS LAST"),
                    None => {}
                }
                sql
            })
            .collect();
        format!(" ORDER BY {}", terms.join(", "))
    }

    /// `SELECT 1 FROM … WHERE …`: what `count=exact` counts and `count=planned` explains.
    pub(crate) fn count_query(&self) -> Statement {
        let (where_sql, binds) = self.where_clause();
        Statement {
            sql: format!("SELECT 1 FROM {}{where_sql}", self.qualified_table()),
            binds,
        }
    }

    /// The single read statement: columns `total_result_set` (bigint, null unless counted),
    /// `page_total` (bigint) and `body` (text).
    pub(crate) fn read_statement(&self, count: CountMode, format: BodyFormat) -> Statement {
        let (where_sql, binds) = self.where_clause();
        let table = self.qualified_table();
        let source = format!(
            "SELECT {} FROM {table}{where_sql}{}{}",
            self.select_list(),
            self.order_by(),
            self.page.limit_offset_sql()
        );
        let (count_cte, count_column) = match count {
            CountMode::None => (String::new(), "null::bigint".to_string()),
            CountMode::Exact => (
                format!(", pgrst_source_count AS ( SELECT 1 FROM {table}{where_sql} )"),
                "(SELECT pg_catalog.count(*) FROM pgrst_source_count)".to_string(),
            ),
            CountMode::AtMost(n) => (
                format!(", pgrst_source_count AS ( SELECT 1 FROM {table}{where_sql} LIMIT {n} )"),
                "(SELECT pg_catalog.count(*) FROM pgrst_source_count)".to_string(),
            ),
        };
        let body = match format {
            BodyFormat::Json => "coalesce(json_agg(_postgrest_t), '[]')::text".to_string(),
            // PostgREST's asCsvF: a header from the first row's keys, then each record's text
            // form without its parentheses. Not RFC 4180, faithfully.
            BodyFormat::Csv => "(SELECT coalesce(string_agg(a.k, ','), '') FROM (SELECT json_object_keys(r)::text AS k \
                 FROM (SELECT row_to_json(hh) AS r FROM pgrst_source AS hh LIMIT 1) s) a) || E'\\n' || \
                 coalesce(string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), E'\\n'), '')"
                .to_string(),
        };
        Statement {
            sql: format!(
                "WITH pgrst_source AS ( {source} ){count_cte} \
                 SELECT {count_column} AS total_result_set, \
                 pg_catalog.count(_postgrest_t) AS page_total, \
                 {body} AS body \
                 FROM ( SELECT * FROM pgrst_source ) _postgrest_t"
            ),
            binds,
        }
    }
}

fn comparison_operator(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Neq => "<>",
        CompareOp::Gt => ">",
        CompareOp::Gte => ">=",
        CompareOp::Lt => "<",
        CompareOp::Lte => "<=",
        CompareOp::Contains => "@>",
        CompareOp::Contained => "<@",
        CompareOp::Overlap => "&&",
        CompareOp::StrictlyLeft => "<<",
        CompareOp::StrictlyRight => ">>",
        CompareOp::NotExtendsRight => "&<",
        CompareOp::NotExtendsLeft => "&>",
        CompareOp::Adjacent => "-|-",
        CompareOp::Like | CompareOp::Ilike => "LIKE",
        CompareOp::Match | CompareOp::Imatch => "~",
    }
}

/// `pgBuildArrayLiteral`: `{"a","b \"q\""}` with `\` and `"` backslash-escaped.
fn array_literal(values: &[String]) -> String {
    let elements: Vec<String> = values
        .iter()
        .map(|v| {
            let v = trim_nul(v);
            format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect();
    format!("{{{}}}", elements.join(","))
}

/// PostgREST cuts identifiers and literals at the first NUL (PostgreSQL cannot store one).
fn trim_nul(text: &str) -> &str {
    text.split('\0').next().unwrap_or("")
}

/// `escapeIdent`: always quoted, embedded quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", trim_nul(name).replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgrest::query;

    fn plan_sql(raw: &str) -> Statement {
        let query = query::parse(raw).unwrap();
        let columns: ColumnTypes = [
            ("order_code".to_string(), "text".to_string()),
            (
                "updated_at".to_string(),
                "timestamp with time zone".to_string(),
            ),
            ("amount".to_string(), "numeric".to_string()),
        ]
        .into_iter()
        .collect();
        let plan = ReadPlan {
            schema: "public",
            table: "orders",
            columns: &columns,
            query: &query,
            page: Page {
                offset: 0,
                limit: Some(10),
            },
        };
        plan.read_statement(CountMode::Exact, BodyFormat::Json)
    }

    #[test]
    fn values_are_bound_and_cast() {
        let stmt = plan_sql(
            r#"or=(updated_at.gt."X",and(updated_at.eq."X",order_code.gt."a\"b"))&amount=in.(1,2.5)&order=updated_at.asc,order_code.asc"#,
        );
        assert!(stmt.sql.contains(
            r#"WHERE "public"."orders"."amount" = ANY ($1::text::numeric[]) AND ("public"."orders"."updated_at" > $2::text::timestamp with time zone OR ("public"."orders"."updated_at" = $3::text::timestamp with time zone AND "public"."orders"."order_code" > $4::text::text))"#
        ), "{}", stmt.sql);
        assert_eq!(stmt.binds, vec![r#"{"1","2.5"}"#, "X", "X", "a\"b"]);
        assert!(stmt.sql.contains(r#"ORDER BY "public"."orders"."updated_at" ASC, "public"."orders"."order_code" ASC LIMIT 10 OFFSET 0"#));
        assert!(stmt
            .sql
            .contains("pgrst_source_count AS ( SELECT 1 FROM \"public\".\"orders\" WHERE"));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident(r#"we"ird"#), r#""we""ird""#);
        let stmt = plan_sql("select=%22x%5C%22y%22:order_code");
        assert!(stmt
            .sql
            .contains(r#""public"."orders"."order_code" AS "x""y""#));
    }

    #[test]
    fn unknown_columns_are_left_to_postgresql() {
        let stmt = plan_sql("nope=eq.1");
        assert!(stmt.sql.contains(r#""public"."orders"."nope" = $1::text"#));
    }
}

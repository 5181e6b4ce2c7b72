//! PostgREST's query-string grammar for reads: `select`, `order`, `limit`, `offset`,
//! horizontal filters and `or`/`and` logic trees.
//!
//! Mirrors `PostgREST.ApiRequest.QueryParams`: the query string is split on `&` *and* `;`,
//! `+` decodes to a space, a top-level filter value is taken verbatim (quotes included),
//! while inside `in.(…)` lists and `or=(…)`/`and=(…)` trees a value may be double-quoted,
//! with `\` escaping the next character. Embedding, JSON paths, full-text search and
//! aggregates are not supported by the sandbox and answer "Feature not implemented".

use std::fmt;

/// A parsed read request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadQuery {
    pub(crate) select: Vec<SelectItem>,
    /// Top-level conditions, all ANDed (filters first, then logic trees, in query order).
    pub(crate) conditions: Vec<Condition>,
    pub(crate) order: Vec<OrderTerm>,
    pub(crate) limit: Option<i64>,
    pub(crate) offset: Option<i64>,
    /// The query string re-encoded as PostgREST's `Content-Location` shows it.
    pub(crate) canonical: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SelectItem {
    Star,
    Column {
        name: String,
        alias: Option<String>,
        cast: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    Filter(Filter),
    Tree {
        negated: bool,
        op: LogicOp,
        children: Vec<Condition>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogicOp {
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) column: String,
    pub(crate) negated: bool,
    pub(crate) operation: Operation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operation {
    Compare { op: CompareOp, value: String },
    In(Vec<String>),
    Is(IsValue),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    Ilike,
    Match,
    Imatch,
    Contains,
    Contained,
    Overlap,
    StrictlyLeft,
    StrictlyRight,
    NotExtendsRight,
    NotExtendsLeft,
    Adjacent,
}

impl CompareOp {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "neq" => Self::Neq,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "like" => Self::Like,
            "ilike" => Self::Ilike,
            "match" => Self::Match,
            "imatch" => Self::Imatch,
            "cs" => Self::Contains,
            "cd" => Self::Contained,
            "ov" => Self::Overlap,
            "sl" => Self::StrictlyLeft,
            "sr" => Self::StrictlyRight,
            "nxr" => Self::NotExtendsRight,
            "nxl" => Self::NotExtendsLeft,
            "adj" => Self::Adjacent,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IsValue {
    Null,
    True,
    False,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderTerm {
    pub(crate) column: String,
    pub(crate) direction: Option<Direction>,
    pub(crate) nulls: Option<Nulls>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nulls {
    First,
    Last,
}

/// Why a query string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueryError {
    /// PGRST100: the grammar did not match.
    Parse { message: String, details: String },
    /// PGRST127: valid PostgREST, but beyond what the sandbox implements.
    Unsupported { details: String },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse { message, details } => write!(f, "{message}: {details}"),
            Self::Unsupported { details } => write!(f, "not implemented: {details}"),
        }
    }
}

fn unsupported(details: impl Into<String>) -> QueryError {
    QueryError::Unsupported {
        details: details.into(),
    }
}

/// Parses a raw (still percent-encoded) query string.
pub(crate) fn parse(raw_query: &str) -> Result<ReadQuery, QueryError> {
    let params = decode_params(raw_query);
    let canonical = canonical(&params);

    let mut select = None;
    let mut order = Vec::new();
    let mut limit = None;
    let mut offset = None;
    let mut filters = Vec::new();
    let mut trees = Vec::new();

    for (key, value) in &params {
        // A bare `key` carries no value; an empty value has no operator and is ignored the
        // same way (except that an empty `select` still means the default).
        let Some(value) = value.as_deref().filter(|v| !v.is_empty()) else {
            if key == "select" && select.is_none() {
                select = Some(String::new());
            }
            continue;
        };
        let last_segment = key.rsplit('.').next().unwrap_or(key);
        match key.as_str() {
            "select" => {
                if select.is_none() {
                    select = Some(value.to_string());
                }
            }
            "columns" | "on_conflict" => {}
            "order" => order = parse_order(value)?,
            // readMaybe: a value that is not an integer is ignored, not an error.
            "limit" => limit = value.parse::<i64>().ok().or(limit),
            "offset" => offset = value.parse::<i64>().ok().or(offset),
            "and" | "or" | "not.and" | "not.or" => trees.push(parse_logic_tree(key, value)?),
            _ if matches!(last_segment, "order" | "limit" | "offset" | "and" | "or") => {
                return Err(unsupported(format!(
                    "'{key}' applies to an embedded resource; the sandbox has no embedding"
                )));
            }
            _ => {
                if !looks_like_filter(value) {
                    // Without an operator PostgREST treats it as an RPC argument and a
                    // table read ignores it.
                    continue;
                }
                filters.push(Condition::Filter(parse_filter(key, value)?));
            }
        }
    }

    let select = match select.as_deref() {
        None | Some("") => vec![SelectItem::Star],
        Some(text) => parse_select(text)?,
    };
    filters.extend(trees);
    Ok(ReadQuery {
        select,
        conditions: filters,
        order,
        limit,
        offset,
        canonical,
    })
}

/// Splits on `&` and `;` and percent-decodes with `+` as space, like
/// `Network.HTTP.Types.URI.parseQueryReplacePlus True`.
pub(crate) fn decode_params(raw: &str) -> Vec<(String, Option<String>)> {
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(['&', ';'])
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (url_decode(k), Some(url_decode(v))),
            None => (url_decode(pair), None),
        })
        .collect()
}

fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            // A malformed escape is kept literally rather than rejected.
            b'%' => match (
                bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Network.HTTP.Base.urlEncodeVars` over the params sorted by key: repeated keys are
/// folded into one `key=v1,v2`.
fn canonical(params: &[(String, Option<String>)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref().unwrap_or("")))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, (key, value)) in sorted.iter().enumerate() {
        if seen.contains(key) {
            continue;
        }
        seen.push(key);
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&url_encode(key));
        out.push('=');
        out.push_str(&url_encode(value));
        for (other_key, other_value) in &sorted[i + 1..] {
            if other_key == key {
                out.push(',');
                out.push_str(&url_encode(other_value));
            }
        }
    }
    out
}

fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// PostgREST's `hasOperator`: decides whether a parameter is a filter at all.
fn looks_like_filter(value: &str) -> bool {
    let mut parts = value.split('.');
    let first = parts.next().unwrap_or("");
    let has_second = parts.next().is_some();
    match first {
        "not" => has_second,
        "is" | "in" => true,
        other => {
            CompareOp::from_name(other).is_some() || is_fts(other) || {
                // `fts(english).x` style: the operator ends at the parenthesis.
                value.split('(').next().is_some_and(is_fts) && value.contains('(')
            }
        }
    }
}

fn is_fts(name: &str) -> bool {
    matches!(name, "fts" | "plfts" | "phfts" | "wfts")
}

fn parse_filter(key: &str, value: &str) -> Result<Filter, QueryError> {
    let mut key_cursor = Cursor::new(key, "tree path");
    let mut path = vec![key_cursor.field_name()?];
    while key_cursor.eat('.') {
        path.push(key_cursor.field_name()?);
    }
    key_cursor.reject_json_path()?;
    key_cursor.expect_end()?;
    if path.len() > 1 {
        return Err(unsupported(format!(
            "'{key}' filters an embedded resource; the sandbox has no embedding"
        )));
    }
    let column = path.pop().expect("at least one path segment");
    let mut cursor = Cursor::new(value, "filter");
    let (negated, operation) = cursor.op_expr(ValueContext::TopLevel)?;
    Ok(Filter {
        column,
        negated,
        operation,
    })
}

fn parse_logic_tree(key: &str, value: &str) -> Result<Condition, QueryError> {
    // PostgREST parses "or=(a,b)" as the text "or(a,b)" (and "not.or=" as "not.or(…)").
    let text = format!("{key}{value}");
    let mut cursor = Cursor::new(&text, "logic tree");
    let tree = cursor.logic_tree()?;
    cursor.skip_spaces();
    cursor.expect_end()?;
    match tree {
        tree @ Condition::Tree { .. } => Ok(tree),
        Condition::Filter(_) => Err(cursor.error("expecting logic operator (and, or)")),
    }
}

fn parse_order(value: &str) -> Result<Vec<OrderTerm>, QueryError> {
    let mut cursor = Cursor::new(value, "order");
    let mut terms = Vec::new();
    loop {
        cursor.skip_spaces();
        let column = cursor.field_name()?;
        if cursor.peek() == Some('(') {
            return Err(unsupported("ordering by an embedded resource"));
        }
        cursor.reject_json_path()?;
        cursor.skip_spaces();
        let mut direction = None;
        let mut nulls = None;
        if cursor.eat_str(".asc") {
            direction = Some(Direction::Asc);
        } else if cursor.eat_str(".desc") {
            direction = Some(Direction::Desc);
        }
        if cursor.eat_str(".nullsfirst") {
            nulls = Some(Nulls::First);
        } else if cursor.eat_str(".nullslast") {
            nulls = Some(Nulls::Last);
        }
        cursor.skip_spaces();
        terms.push(OrderTerm {
            column,
            direction,
            nulls,
        });
        if cursor.eat(',') {
            continue;
        }
        if cursor.at_end() {
            return Ok(terms);
        }
        return Err(cursor.error(
            "expecting \"asc\", \"desc\", \"nullsfirst\", \"nullslast\", \",\" or end of input",
        ));
    }
}

fn parse_select(value: &str) -> Result<Vec<SelectItem>, QueryError> {
    let mut cursor = Cursor::new(value, "select parameter");
    let mut items = Vec::new();
    loop {
        cursor.skip_spaces();
        if cursor.eat_str("..") {
            return Err(unsupported("spread embedding in select"));
        }
        if cursor.eat('*') {
            items.push(SelectItem::Star);
        } else {
            let first = cursor.field_name()?;
            let (alias, name) = if cursor.peek() == Some(':') && cursor.peek_at(1) != Some(':') {
                cursor.eat(':');
                cursor.skip_spaces();
                (Some(first), cursor.field_name()?)
            } else {
                (None, first)
            };
            if matches!(cursor.peek(), Some('(') | Some('!')) {
                return Err(unsupported("resource embedding in select"));
            }
            cursor.reject_json_path()?;
            let cast = if cursor.eat_str("::") {
                Some(cursor.identifier()?)
            } else {
                None
            };
            items.push(SelectItem::Column { name, alias, cast });
        }
        cursor.skip_spaces();
        if cursor.eat(',') {
            continue;
        }
        if cursor.at_end() {
            return Ok(items);
        }
        return Err(cursor.error("expecting \",\" or end of input"));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ValueContext {
    /// `col=op.value`: the value is everything after the operator, verbatim.
    TopLevel,
    /// Inside `or(…)`/`and(…)`: a value ends at `,` or `)` unless quoted.
    Logic,
}

struct Cursor {
    chars: Vec<char>,
    pos: usize,
    source: String,
    what: &'static str,
}

impl Cursor {
    fn new(source: &str, what: &'static str) -> Self {
        Self {
            chars: source.chars().collect(),
            pos: 0,
            source: source.to_string(),
            what,
        }
    }

    fn error(&self, details: impl Into<String>) -> QueryError {
        QueryError::Parse {
            message: format!(
                "\"failed to parse {} ({})\" (line 1, column {})",
                self.what,
                self.source,
                self.pos + 1
            ),
            details: details.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        let candidate: Vec<char> = s.chars().collect();
        if self.chars[self.pos.min(self.chars.len())..].starts_with(&candidate) {
            self.pos += candidate.len();
            true
        } else {
            false
        }
    }

    /// Case-insensitive `eat_str` for ASCII keywords.
    fn eat_keyword_ci(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        let Some(slice) = self.chars.get(self.pos..self.pos + n) else {
            return false;
        };
        if slice
            .iter()
            .zip(s.chars())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b))
        {
            self.pos += n;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(' ') | Some('\t')) {
            self.pos += 1;
        }
    }

    fn expect_end(&self) -> Result<(), QueryError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error(format!(
                "unexpected {:?} expecting end of input",
                self.peek().unwrap_or_default()
            )))
        }
    }

    fn rest(&mut self) -> String {
        let rest: String = self.chars[self.pos..].iter().collect();
        self.pos = self.chars.len();
        rest
    }

    /// `"…"` with `\` escaping the next character.
    fn quoted(&mut self) -> Result<String, QueryError> {
        if !self.eat('"') {
            return Err(self.error("expecting '\"'"));
        }
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unexpected end of input expecting '\"'")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        None => return Err(self.error("unexpected end of input after '\\'")),
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `pFieldName`: a quoted name, or identifiers (letters, digits, `_`, ` `, `$`) joined
    /// by dashes; surrounding spaces are trimmed.
    fn field_name(&mut self) -> Result<String, QueryError> {
        if self.peek() == Some('"') {
            return self.quoted();
        }
        let mut name = String::new();
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(c) if is_identifier_char(c)) {
                self.pos += 1;
            }
            if self.pos == start {
                return Err(self.error(format!(
                    "unexpected {} expecting field name (* or [a..z0..9_$])",
                    self.describe_next()
                )));
            }
            let part: String = self.chars[start..self.pos].iter().collect();
            name.push_str(part.trim());
            // A dash joins identifiers unless it starts a JSON arrow.
            if self.peek() == Some('-') && self.peek_at(1) != Some('>') {
                self.pos += 1;
                name.push('-');
                continue;
            }
            return Ok(name);
        }
    }

    /// `pIdentifier`, used for casts.
    fn identifier(&mut self) -> Result<String, QueryError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if is_identifier_char(c)) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expecting letter or digit"));
        }
        Ok(self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .trim()
            .to_string())
    }

    fn reject_json_path(&self) -> Result<(), QueryError> {
        if self.peek() == Some('-') && self.peek_at(1) == Some('>') {
            return Err(unsupported("JSON paths (-> and ->>)"));
        }
        Ok(())
    }

    fn describe_next(&self) -> String {
        match self.peek() {
            Some(c) => format!("{c:?}"),
            None => "end of input".to_string(),
        }
    }

    /// `pOpExpr`: `[not.]in.(…)`, `[not.]is.<trilean>` or `[not.]<op>.<value>`.
    fn op_expr(&mut self, context: ValueContext) -> Result<(bool, Operation), QueryError> {
        let negated = self.eat_str("not.");
        if self.eat_str("in.") {
            return Ok((negated, Operation::In(self.list()?)));
        }
        if self.eat_str("is.") {
            let value = if self.eat_keyword_ci("null") {
                IsValue::Null
            } else if self.eat_keyword_ci("unknown") {
                IsValue::Unknown
            } else if self.eat_keyword_ci("true") {
                IsValue::True
            } else if self.eat_keyword_ci("false") {
                IsValue::False
            } else {
                return Err(self.error("expecting null or trilean value (unknown, true, false)"));
            };
            return Ok((negated, Operation::Is(value)));
        }
        let start = self.pos;
        let Some(dot) = self.chars[start..].iter().position(|c| *c == '.') else {
            return Err(self.error("expecting delimiter (.)"));
        };
        let name: String = self.chars[start..start + dot].iter().collect();
        let fts_name = name.split('(').next().unwrap_or("");
        if is_fts(fts_name) {
            return Err(unsupported("full-text search operators"));
        }
        let Some(op) = CompareOp::from_name(&name) else {
            return Err(self.error(format!("unknown single value operator {name}")));
        };
        self.pos = start + dot + 1;
        let value = match context {
            ValueContext::TopLevel => self.rest(),
            ValueContext::Logic => self.logic_value()?,
        };
        Ok((negated, Operation::Compare { op, value }))
    }

    /// `pListVal`: `(a,"b,c",d)`.
    fn list(&mut self) -> Result<Vec<String>, QueryError> {
        self.skip_spaces();
        if !self.eat('(') {
            return Err(self.error(format!(
                "unexpected {} expecting \"(\"",
                self.describe_next()
            )));
        }
        self.skip_spaces();
        let mut items = Vec::new();
        loop {
            items.push(self.list_element()?);
            if self.eat(',') {
                continue;
            }
            self.skip_spaces();
            if self.eat(')') {
                self.skip_spaces();
                return Ok(items);
            }
            return Err(self.error(format!(
                "unexpected {} expecting \",\" or \")\"",
                self.describe_next()
            )));
        }
    }

    /// A quoted element counts only when it ends right before `,` or `)`; otherwise the
    /// raw text up to `,`/`)` is the element (PostgREST's `try` semantics).
    fn list_element(&mut self) -> Result<String, QueryError> {
        if let Some(quoted) = self.try_quoted_value() {
            return Ok(quoted);
        }
        Ok(self.take_until_separator())
    }

    fn try_quoted_value(&mut self) -> Option<String> {
        if self.peek() != Some('"') {
            return None;
        }
        let start = self.pos;
        match self.quoted() {
            Ok(value) if matches!(self.peek(), None | Some(',') | Some(')')) => Some(value),
            _ => {
                self.pos = start;
                None
            }
        }
    }

    fn take_until_separator(&mut self) -> String {
        let start = self.pos;
        while !matches!(self.peek(), None | Some(',') | Some(')')) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// `pLogicSingleVal`: quoted, a `{…}` array literal, or raw text up to `,`/`)`.
    fn logic_value(&mut self) -> Result<String, QueryError> {
        if let Some(quoted) = self.try_quoted_value() {
            return Ok(quoted);
        }
        if self.peek() == Some('{') {
            if let Some(close) = self.chars[self.pos..].iter().position(|c| *c == '}') {
                let inner = &self.chars[self.pos + 1..self.pos + close];
                if !inner.contains(&'{') {
                    let value: String = self.chars[self.pos..=self.pos + close].iter().collect();
                    self.pos += close + 1;
                    return Ok(value);
                }
            }
        }
        Ok(self.take_until_separator())
    }

    /// `pLogicTree`: a filter `col.op.value`, or `[not.]and(…)`/`[not.]or(…)`.
    fn logic_tree(&mut self) -> Result<Condition, QueryError> {
        let start = self.pos;
        match self.logic_filter() {
            Ok(filter) => return Ok(Condition::Filter(filter)),
            Err(unsupported @ QueryError::Unsupported { .. }) => return Err(unsupported),
            // Not a filter: backtrack and read it as `and(…)`/`or(…)`.
            Err(QueryError::Parse { .. }) => self.pos = start,
        }
        let negated = self.eat_str("not.");
        let op = if self.eat_str("and") {
            LogicOp::And
        } else if self.eat_str("or") {
            LogicOp::Or
        } else {
            return Err(self.error(format!(
                "unexpected {} expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)",
                self.describe_next()
            )));
        };
        self.skip_spaces();
        if !self.eat('(') {
            return Err(self.error(format!(
                "unexpected {} expecting \"(\"",
                self.describe_next()
            )));
        }
        let mut children = Vec::new();
        loop {
            self.skip_spaces();
            children.push(self.logic_tree()?);
            self.skip_spaces();
            if self.eat(',') {
                continue;
            }
            if self.eat(')') {
                return Ok(Condition::Tree {
                    negated,
                    op,
                    children,
                });
            }
            return Err(self.error(format!(
                "unexpected {} expecting \",\" or \")\"",
                self.describe_next()
            )));
        }
    }

    fn logic_filter(&mut self) -> Result<Filter, QueryError> {
        self.skip_spaces();
        let column = self.field_name()?;
        self.reject_json_path()?;
        self.skip_spaces();
        if !self.eat('.') {
            return Err(self.error("expecting delimiter (.)"));
        }
        let (negated, operation) = self.op_expr(ValueContext::Logic)?;
        Ok(Filter {
            column,
            negated,
            operation,
        })
    }
}

fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ' ' | '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(column: &str, op: CompareOp, value: &str) -> Condition {
        Condition::Filter(Filter {
            column: column.into(),
            negated: false,
            operation: Operation::Compare {
                op,
                value: value.into(),
            },
        })
    }

    #[test]
    fn top_level_values_are_verbatim() {
        let q =
            parse("order_code=eq.%22a,b%22&updated_at=gte.2026-03-01T00:00:00%2B00:00").unwrap();
        assert_eq!(
            q.conditions,
            vec![
                filter("order_code", CompareOp::Eq, "\"a,b\""),
                filter("updated_at", CompareOp::Gte, "2026-03-01T00:00:00+00:00"),
            ]
        );
    }

    #[test]
    fn plus_is_a_space_and_semicolon_splits() {
        let q = parse("a=eq.x+y;b=eq.z").unwrap();
        assert_eq!(
            q.conditions,
            vec![
                filter("a", CompareOp::Eq, "x y"),
                filter("b", CompareOp::Eq, "z")
            ]
        );
    }

    #[test]
    fn keyset_tree_with_escaped_quotes() {
        let raw = r#"or=(updated_at.gt."2026-03-01T10:00:00Z",and(updated_at.eq."2026-03-01T10:00:00Z",order_code.gt."ORD-1,(a.b):\"x\"\\y"))"#;
        let q = parse(raw).unwrap();
        assert_eq!(
            q.conditions,
            vec![Condition::Tree {
                negated: false,
                op: LogicOp::Or,
                children: vec![
                    filter("updated_at", CompareOp::Gt, "2026-03-01T10:00:00Z"),
                    Condition::Tree {
                        negated: false,
                        op: LogicOp::And,
                        children: vec![
                            filter("updated_at", CompareOp::Eq, "2026-03-01T10:00:00Z"),
                            filter("order_code", CompareOp::Gt, r#"ORD-1,(a.b):"x"\y"#),
                        ],
                    },
                ],
            }]
        );
    }

    #[test]
    fn unquoted_logic_values_stop_at_separators() {
        let q = parse("not.or=(a.eq.1,b.in.(x,\"y,z\"),c.is.NULL)").unwrap();
        assert_eq!(
            q.conditions,
            vec![Condition::Tree {
                negated: true,
                op: LogicOp::Or,
                children: vec![
                    filter("a", CompareOp::Eq, "1"),
                    Condition::Filter(Filter {
                        column: "b".into(),
                        negated: false,
                        operation: Operation::In(vec!["x".into(), "y,z".into()]),
                    }),
                    Condition::Filter(Filter {
                        column: "c".into(),
                        negated: false,
                        operation: Operation::Is(IsValue::Null),
                    }),
                ],
            }]
        );
    }

    #[test]
    fn repeated_columns_are_all_kept() {
        let q = parse("updated_at=gte.A&updated_at=lt.B&id=not.is.null").unwrap();
        assert_eq!(q.conditions.len(), 3);
        assert_eq!(q.canonical, "id=not.is.null&updated_at=gte.A,lt.B");
    }

    #[test]
    fn select_order_limit_offset() {
        let q = parse("select=id,%22weird,name%22,alias:name::text&order=updated_at.asc,id.desc.nullslast&limit=10&offset=x").unwrap();
        assert_eq!(
            q.select,
            vec![
                SelectItem::Column {
                    name: "id".into(),
                    alias: None,
                    cast: None
                },
                SelectItem::Column {
                    name: "weird,name".into(),
                    alias: None,
                    cast: None
                },
                SelectItem::Column {
                    name: "name".into(),
                    alias: Some("alias".into()),
                    cast: Some("text".into())
                },
            ]
        );
        assert_eq!(
            q.order,
            vec![
                OrderTerm {
                    column: "updated_at".into(),
                    direction: Some(Direction::Asc),
                    nulls: None
                },
                OrderTerm {
                    column: "id".into(),
                    direction: Some(Direction::Desc),
                    nulls: Some(Nulls::Last)
                },
            ]
        );
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.offset, None);
    }

    #[test]
    fn params_without_operator_are_ignored() {
        let q = parse("foo=bar&apikey=x").unwrap();
        assert!(q.conditions.is_empty());
    }

    #[test]
    fn bad_operator_is_a_parse_error() {
        assert!(matches!(parse("a=eq"), Err(QueryError::Parse { .. })));
        assert!(matches!(
            parse("or=(a.nope.1)"),
            Err(QueryError::Parse { .. })
        ));
        assert!(matches!(
            parse("order=id.sideways"),
            Err(QueryError::Parse { .. })
        ));
    }

    #[test]
    fn embedding_is_not_implemented() {
        assert!(matches!(
            parse("select=id,orders(*)"),
            Err(QueryError::Unsupported { .. })
        ));
        assert!(matches!(
            parse("orders.id=eq.1"),
            Err(QueryError::Unsupported { .. })
        ));
        assert!(matches!(
            parse("profile->>a=eq.1"),
            Err(QueryError::Unsupported { .. })
        ));
    }
}

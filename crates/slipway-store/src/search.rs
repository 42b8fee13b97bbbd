//! MLflow's search grammar: filters (`metrics.acc > 0.9 AND params.lr = '0.01'`) and
//! `order_by` entries (`metrics.acc DESC`), parsed once into typed clauses that each store
//! translates to its own query language.

use crate::error::{Error, Result};

/// What a clause or sort key looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// The latest value of a run's metric.
    Metric(String),
    /// A run's param.
    Param(String),
    /// A run's or experiment's tag.
    Tag(String),
    /// A column of the run or experiment itself.
    Attribute(Attribute),
    /// A run's dataset inputs (`datasets.name`, `datasets.digest`, `datasets.context`): the
    /// condition holds when it holds for one of them.
    Dataset(DatasetKey),
}

/// What a `datasets.` filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKey {
    /// The dataset's name.
    Name,
    /// The dataset's digest.
    Digest,
    /// The input's `mlflow.data.context` tag.
    Context,
}

/// The columns a search can look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    /// Run id (string; also `IN (...)`).
    RunId,
    /// Run name (string).
    RunName,
    /// Run status (string).
    Status,
    /// User id (string).
    UserId,
    /// Artifact URI (string).
    ArtifactUri,
    /// Run start time (number; alias `created`).
    StartTime,
    /// Run end time (number).
    EndTime,
    /// Name of an experiment, registered model, model version or logged model (string).
    Name,
    /// Experiment id (number).
    ExperimentId,
    /// Experiment creation time (number).
    CreationTime,
    /// Experiment last update time (number).
    LastUpdateTime,
    /// A model version's number (number; `version_number`).
    Version,
    /// Where a model version's files came from (string; `source_path`).
    SourcePath,
    /// A logged model's id (string).
    ModelId,
    /// The run that produced a logged model (string).
    SourceRunId,
    /// A logged model's type (string).
    ModelType,
}

impl Attribute {
    /// Whether the attribute compares as a number.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Attribute::StartTime
                | Attribute::EndTime
                | Attribute::ExperimentId
                | Attribute::CreationTime
                | Attribute::LastUpdateTime
                | Attribute::Version
        )
    }
}

/// A numeric or string comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Comparison {
    /// The SQL spelling.
    pub fn sql(self) -> &'static str {
        match self {
            Comparison::Eq => "=",
            Comparison::Ne => "!=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
        }
    }
}

/// The test a clause applies to its field.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Compare with a number (metrics, numeric attributes).
    Number(Comparison, f64),
    /// `=` or `!=` a string.
    Text {
        /// `true` for `!=`.
        negated: bool,
        /// The string.
        value: String,
    },
    /// `LIKE` (case-sensitive) or `ILIKE` (case-insensitive), `%` and `_` wildcards.
    Like {
        /// The pattern.
        pattern: String,
        /// `true` for `ILIKE`.
        case_insensitive: bool,
    },
    /// `IS NULL` (`present: false`) or `IS NOT NULL` (`present: true`).
    Present(bool),
    /// `IN (...)` or `NOT IN (...)`.
    In {
        /// `true` for `NOT IN`.
        negated: bool,
        /// The strings.
        values: Vec<String>,
    },
}

/// One `field condition` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// What it looks at.
    pub field: Field,
    /// The test.
    pub condition: Condition,
}

/// A run filter: clauses joined by `AND`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunFilter {
    /// Every clause must hold.
    pub clauses: Vec<Clause>,
}

/// An experiment filter: clauses joined by `AND` over `name`, times and `tags.`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExperimentFilter {
    /// Every clause must hold.
    pub clauses: Vec<Clause>,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    /// What to sort by.
    pub field: Field,
    /// `ASC` (the default) or `DESC`.
    pub ascending: bool,
}

/// A filter over registered models, model versions or logged models: clauses joined by `AND`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelFilter {
    /// Every clause must hold.
    pub clauses: Vec<Clause>,
}

impl ModelFilter {
    /// Parses a registered-model filter (`name`, `tags.`); empty matches every model.
    pub fn parse_registered_models(text: &str) -> Result<Self> {
        Ok(ModelFilter {
            clauses: parse_filter(text, Entity::RegisteredModel)?,
        })
    }

    /// Parses a model-version filter (`name`, `run_id`, `source_path`, `version_number`, `tags.`).
    pub fn parse_model_versions(text: &str) -> Result<Self> {
        Ok(ModelFilter {
            clauses: parse_filter(text, Entity::ModelVersion)?,
        })
    }

    /// Parses a logged-model filter (`name`, `model_id`, `source_run_id`, `status`,
    /// `model_type`, times, `tags.`, `params.`).
    pub fn parse_logged_models(text: &str) -> Result<Self> {
        Ok(ModelFilter {
            clauses: parse_filter(text, Entity::LoggedModel)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Run,
    Experiment,
    RegisteredModel,
    ModelVersion,
    LoggedModel,
}

impl RunFilter {
    /// Parses a run filter; an empty string matches every run.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(RunFilter {
            clauses: parse_filter(text, Entity::Run)?,
        })
    }
}

impl ExperimentFilter {
    /// Parses an experiment filter; an empty string matches every experiment.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(ExperimentFilter {
            clauses: parse_filter(text, Entity::Experiment)?,
        })
    }
}

impl OrderBy {
    /// Parses a run `order_by` entry such as `metrics.acc DESC`.
    pub fn parse_for_runs(text: &str) -> Result<Self> {
        parse_order_by(text, Entity::Run)
    }

    /// Parses an experiment `order_by` entry such as `name DESC`.
    pub fn parse_for_experiments(text: &str) -> Result<Self> {
        parse_order_by(text, Entity::Experiment)
    }

    /// Parses a registered-model `order_by` entry such as `last_updated_timestamp DESC`.
    pub fn parse_for_registered_models(text: &str) -> Result<Self> {
        parse_order_by(text, Entity::RegisteredModel)
    }

    /// Parses a model-version `order_by` entry such as `version_number DESC`.
    pub fn parse_for_model_versions(text: &str) -> Result<Self> {
        parse_order_by(text, Entity::ModelVersion)
    }

    /// A logged-model sort key: a field name such as `creation_timestamp` and a direction.
    pub fn for_logged_models(field_name: &str, ascending: bool) -> Result<Self> {
        let tokens = lex(field_name)?;
        match tokens.as_slice() {
            [Token::Ident(prefix, key)] => Ok(OrderBy {
                field: field_of(prefix.as_deref(), key, Entity::LoggedModel)?,
                ascending,
            }),
            _ => Err(invalid(format!(
                "invalid order_by field_name '{field_name}': expected one identifier"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An identifier: entity prefix (if any) and key.
    Ident(Option<String>, String),
    Str(String),
    Num(f64),
    Op(String),
    LParen,
    RParen,
    Comma,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid(message)
}

fn lex(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Token::RParen);
            i += 1;
        } else if c == ',' {
            out.push(Token::Comma);
            i += 1;
        } else if c == '\'' || c == '"' {
            let (s, next) = quoted(&chars, i)?;
            out.push(Token::Str(s));
            i = next;
        } else if c == '`' {
            // A whole identifier in backticks: `metrics.my key` is not split, it is a bare key.
            let (s, next) = quoted(&chars, i)?;
            out.push(Token::Ident(None, s));
            i = next;
        } else if "<>=!".contains(c) {
            let start = i;
            while i < chars.len() && "<>=!".contains(chars[i]) {
                i += 1;
            }
            out.push(Token::Op(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit()
            || ((c == '-' || c == '+' || c == '.')
                && chars
                    .get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.'))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            let n: f64 = s
                .parse()
                .map_err(|_| invalid(format!("invalid number {s:?} in filter")))?;
            out.push(Token::Num(n));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || "_.-/:".contains(chars[i]))
                && !(chars[i] == '.'
                    && chars.get(i + 1).is_some_and(|q| *q == '`' || *q == '"')
                    && !chars[start..i].contains(&'.'))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if chars.get(i) == Some(&'.') {
                // `prefix."quoted key"` or `prefix.`quoted key``.
                let (key, next) = quoted(&chars, i + 1)?;
                out.push(Token::Ident(Some(word), key));
                i = next;
            } else {
                match word.split_once('.') {
                    Some((prefix, key)) => {
                        out.push(Token::Ident(Some(prefix.to_string()), key.to_string()))
                    }
                    None => out.push(Token::Ident(None, word)),
                }
            }
        } else {
            return Err(invalid(format!(
                "unexpected character {c:?} at position {i} in filter"
            )));
        }
    }
    Ok(out)
}

/// Reads a quoted string starting at `chars[start]` (the quote); returns it and the index
/// after the closing quote. A doubled quote stands for itself.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize)> {
    let q = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == q {
            if chars.get(i + 1) == Some(&q) {
                s.push(q);
                i += 2;
                continue;
            }
            return Ok((s, i + 1));
        }
        if chars[i] == '\\' && chars.get(i + 1) == Some(&q) {
            s.push(q);
            i += 2;
            continue;
        }
        s.push(chars[i]);
        i += 1;
    }
    Err(invalid(format!("unterminated quote {q} in filter")))
}

fn field_of(prefix: Option<&str>, key: &str, entity: Entity) -> Result<Field> {
    let attr = |name: &str| -> Result<Field> {
        let a = match (entity, name) {
            (Entity::Run, "run_id" | "run_uuid") => Attribute::RunId,
            (Entity::Run, "run_name") => Attribute::RunName,
            (Entity::Run, "status") => Attribute::Status,
            (Entity::Run, "user_id") => Attribute::UserId,
            (Entity::Run, "artifact_uri") => Attribute::ArtifactUri,
            (Entity::Run, "start_time" | "created") => Attribute::StartTime,
            (Entity::Run, "end_time") => Attribute::EndTime,
            (Entity::Experiment, "name") => Attribute::Name,
            (Entity::Experiment, "experiment_id") => Attribute::ExperimentId,
            (Entity::Experiment, "creation_time") => Attribute::CreationTime,
            (Entity::Experiment, "last_update_time") => Attribute::LastUpdateTime,
            (Entity::RegisteredModel | Entity::ModelVersion | Entity::LoggedModel, "name") => {
                Attribute::Name
            }
            (
                Entity::RegisteredModel | Entity::ModelVersion,
                "creation_timestamp" | "timestamp",
            ) => Attribute::CreationTime,
            (Entity::RegisteredModel | Entity::ModelVersion, "last_updated_timestamp") => {
                Attribute::LastUpdateTime
            }
            (Entity::ModelVersion, "run_id") => Attribute::RunId,
            (Entity::ModelVersion, "source_path" | "source") => Attribute::SourcePath,
            (Entity::ModelVersion, "version_number" | "version") => Attribute::Version,
            (Entity::LoggedModel, "model_id") => Attribute::ModelId,
            (Entity::LoggedModel, "source_run_id") => Attribute::SourceRunId,
            (Entity::LoggedModel, "status") => Attribute::Status,
            (Entity::LoggedModel, "model_type") => Attribute::ModelType,
            (Entity::LoggedModel, "creation_timestamp" | "creation_time") => {
                Attribute::CreationTime
            }
            (Entity::LoggedModel, "last_updated_timestamp") => Attribute::LastUpdateTime,
            _ => {
                return Err(invalid(format!(
                    "invalid attribute key '{name}': expected one of {}",
                    match entity {
                        Entity::Run =>
                            "run_id, run_name, status, user_id, artifact_uri, start_time, created, end_time",
                        Entity::Experiment =>
                            "name, experiment_id, creation_time, last_update_time",
                        Entity::RegisteredModel =>
                            "name, creation_timestamp, last_updated_timestamp",
                        Entity::ModelVersion =>
                            "name, run_id, source_path, version_number, creation_timestamp, last_updated_timestamp",
                        Entity::LoggedModel =>
                            "name, model_id, source_run_id, status, model_type, creation_timestamp, last_updated_timestamp",
                    }
                )));
            }
        };
        Ok(Field::Attribute(a))
    };
    match prefix {
        None => attr(key),
        Some(p) => match (entity, p) {
            (Entity::Run | Entity::LoggedModel, "metrics" | "metric") => {
                Ok(Field::Metric(key.to_string()))
            }
            (
                Entity::Run | Entity::LoggedModel,
                "params" | "param" | "parameters" | "parameter",
            ) => Ok(Field::Param(key.to_string())),
            (_, "tags" | "tag") => Ok(Field::Tag(key.to_string())),
            (_, "attributes" | "attribute" | "attr" | "run") => attr(key),
            (Entity::Run, "datasets" | "dataset") => Ok(Field::Dataset(match key {
                "name" => DatasetKey::Name,
                "digest" => DatasetKey::Digest,
                "context" => DatasetKey::Context,
                _ => {
                    return Err(invalid(format!(
                        "Invalid dataset key '{key}': expected one of name, digest, context"
                    )));
                }
            })),
            _ => Err(invalid(format!(
                "invalid entity type '{p}': expected one of {}",
                match entity {
                    Entity::Run => "metrics, params, tags, attributes, datasets",
                    Entity::Experiment | Entity::RegisteredModel | Entity::ModelVersion =>
                        "tags, attributes",
                    Entity::LoggedModel => "metrics, params, tags, attributes",
                }
            ))),
        },
    }
}

fn comparison(op: &str) -> Option<Comparison> {
    Some(match op {
        "=" | "==" => Comparison::Eq,
        "!=" | "<>" => Comparison::Ne,
        ">" => Comparison::Gt,
        ">=" => Comparison::Ge,
        "<" => Comparison::Lt,
        "<=" => Comparison::Le,
        _ => return None,
    })
}

fn keyword(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Ident(None, w)) if w.eq_ignore_ascii_case(kw))
}

fn parse_filter(text: &str, entity: Entity) -> Result<Vec<Clause>> {
    let tokens = lex(text)?;
    let mut clauses = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !clauses.is_empty() {
            if !keyword(tokens.get(i), "and") {
                return Err(invalid(
                    "invalid filter: clauses must be joined by AND (OR and parentheses are not supported)",
                ));
            }
            i += 1;
        }
        let (prefix, key) = match tokens.get(i) {
            Some(Token::Ident(p, k)) => (p.clone(), k.clone()),
            other => {
                return Err(invalid(format!(
                    "invalid filter: expected an identifier such as metrics.acc, found {}",
                    describe(other)
                )));
            }
        };
        let field = field_of(prefix.as_deref(), &key, entity)?;
        i += 1;
        let (condition, next) = parse_condition(&tokens, i, &field)?;
        i = next;
        clauses.push(Clause { field, condition });
    }
    Ok(clauses)
}

fn describe(t: Option<&Token>) -> String {
    match t {
        None => "the end of the filter".into(),
        Some(Token::Ident(Some(p), k)) => format!("'{p}.{k}'"),
        Some(Token::Ident(None, k)) => format!("'{k}'"),
        Some(Token::Str(s)) => format!("the string '{s}'"),
        Some(Token::Num(n)) => format!("the number {n}"),
        Some(Token::Op(o)) => format!("'{o}'"),
        Some(Token::LParen) => "'('".into(),
        Some(Token::RParen) => "')'".into(),
        Some(Token::Comma) => "','".into(),
    }
}

fn field_name(field: &Field) -> String {
    match field {
        Field::Metric(k) => format!("metrics.{k}"),
        Field::Param(k) => format!("params.{k}"),
        Field::Tag(k) => format!("tags.{k}"),
        Field::Attribute(a) => format!("attribute {a:?}"),
        Field::Dataset(k) => format!("datasets.{}", format!("{k:?}").to_lowercase()),
    }
}

fn parse_condition(tokens: &[Token], mut i: usize, field: &Field) -> Result<(Condition, usize)> {
    let numeric = match field {
        Field::Metric(_) => true,
        Field::Attribute(a) => a.is_numeric(),
        Field::Param(_) | Field::Tag(_) | Field::Dataset(_) => false,
    };
    let string_value = |t: Option<&Token>| -> Result<String> {
        match t {
            Some(Token::Str(s)) => Ok(s.clone()),
            other => Err(invalid(format!(
                "invalid filter: {} takes a quoted string value, found {}",
                field_name(field),
                describe(other)
            ))),
        }
    };
    match tokens.get(i) {
        Some(Token::Op(op)) => {
            let Some(cmp) = comparison(op) else {
                return Err(invalid(format!(
                    "Invalid comparator '{op}' not one of '>', '>=', '<', '<=', '=', '!='"
                )));
            };
            i += 1;
            if numeric {
                let value = match tokens.get(i) {
                    Some(Token::Num(n)) => *n,
                    Some(Token::Str(s)) if s.trim().parse::<f64>().is_ok() => {
                        s.trim().parse().unwrap_or(f64::NAN)
                    }
                    other => {
                        return Err(invalid(format!(
                            "invalid filter: {} takes a numeric value, found {}",
                            field_name(field),
                            describe(other)
                        )));
                    }
                };
                Ok((Condition::Number(cmp, value), i + 1))
            } else {
                let negated = match cmp {
                    Comparison::Eq => false,
                    Comparison::Ne => true,
                    other => {
                        return Err(invalid(format!(
                            "Invalid comparator '{}' for {}: strings take =, !=, LIKE, ILIKE",
                            other.sql(),
                            field_name(field)
                        )));
                    }
                };
                let value = string_value(tokens.get(i))?;
                Ok((Condition::Text { negated, value }, i + 1))
            }
        }
        t if keyword(t, "like") || keyword(t, "ilike") => {
            if numeric {
                return Err(invalid(format!(
                    "Invalid comparator LIKE for {}: numbers take >, >=, <, <=, =, !=",
                    field_name(field)
                )));
            }
            let case_insensitive = keyword(t, "ilike");
            let pattern = string_value(tokens.get(i + 1))?;
            Ok((
                Condition::Like {
                    pattern,
                    case_insensitive,
                },
                i + 2,
            ))
        }
        t if keyword(t, "is") => {
            if !matches!(field, Field::Param(_) | Field::Tag(_)) {
                return Err(invalid(format!(
                    "IS NULL / IS NOT NULL only apply to params and tags, not {}",
                    field_name(field)
                )));
            }
            i += 1;
            let present = if keyword(tokens.get(i), "not") {
                i += 1;
                true
            } else {
                false
            };
            if !keyword(tokens.get(i), "null") {
                return Err(invalid("invalid filter: expected NULL after IS / IS NOT"));
            }
            Ok((Condition::Present(present), i + 1))
        }
        t if keyword(t, "in") || keyword(t, "not") => {
            let negated = keyword(t, "not");
            if negated {
                i += 1;
                if !keyword(tokens.get(i), "in") {
                    return Err(invalid("invalid filter: expected IN after NOT"));
                }
            }
            if !matches!(
                field,
                Field::Attribute(
                    Attribute::RunId
                        | Attribute::ModelId
                        | Attribute::SourceRunId
                        | Attribute::Name
                ) | Field::Dataset(_)
            ) {
                return Err(invalid(format!(
                    "IN / NOT IN only apply to run_id, model_id, source_run_id, name and datasets, not {}",
                    field_name(field)
                )));
            }
            i += 1;
            if tokens.get(i) != Some(&Token::LParen) {
                return Err(invalid("invalid filter: expected '(' after IN"));
            }
            i += 1;
            let mut values = Vec::new();
            loop {
                values.push(string_value(tokens.get(i))?);
                i += 1;
                match tokens.get(i) {
                    Some(Token::Comma) => i += 1,
                    Some(Token::RParen) => break,
                    other => {
                        return Err(invalid(format!(
                            "invalid filter: expected ',' or ')' in IN list, found {}",
                            describe(other)
                        )));
                    }
                }
            }
            Ok((Condition::In { negated, values }, i + 1))
        }
        other => Err(invalid(format!(
            "invalid filter: expected a comparator after {}, found {}",
            field_name(field),
            describe(other)
        ))),
    }
}

fn parse_order_by(text: &str, entity: Entity) -> Result<OrderBy> {
    let tokens = lex(text)?;
    let (prefix, key) = match tokens.first() {
        Some(Token::Ident(p, k)) => (p.clone(), k.clone()),
        other => {
            return Err(invalid(format!(
                "invalid order_by clause '{text}': expected an identifier, found {}",
                describe(other)
            )));
        }
    };
    let field = field_of(prefix.as_deref(), &key, entity)?;
    let ascending = match tokens.get(1) {
        None => true,
        t if keyword(t, "asc") => true,
        t if keyword(t, "desc") => false,
        other => {
            return Err(invalid(format!(
                "invalid order_by clause '{text}': expected ASC or DESC, found {}",
                describe(other)
            )));
        }
    };
    if tokens.len() > 2 {
        return Err(invalid(format!(
            "invalid order_by clause '{text}': expected '<identifier> [ASC|DESC]'"
        )));
    }
    Ok(OrderBy { field, ascending })
}

/// Turns a SQL `LIKE` pattern into a case-sensitive `GLOB` pattern.
pub fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Clause {
        let f = RunFilter::parse(text).expect(text);
        assert_eq!(f.clauses.len(), 1, "{text}");
        f.clauses.into_iter().next().expect("one clause")
    }

    #[test]
    fn metric_clause() {
        let c = one("metrics.acc > 0.25");
        assert_eq!(c.field, Field::Metric("acc".into()));
        assert_eq!(c.condition, Condition::Number(Comparison::Gt, 0.25));
        let c = one("metric.`val loss` <= -1e-3");
        assert_eq!(c.field, Field::Metric("val loss".into()));
        assert_eq!(c.condition, Condition::Number(Comparison::Le, -1e-3));
        let c = one("metrics.\"a.b\" != 3");
        assert_eq!(c.field, Field::Metric("a.b".into()));
    }

    #[test]
    fn params_tags_and_attributes() {
        let f = RunFilter::parse(
            "params.lr = '0.01' and tags.`mlflow.runName` LIKE 'conf%' AND attributes.status != 'FAILED' \
             AND tags.x IS NOT NULL AND param.y IS NULL AND run_name ILIKE '%A%'",
        )
        .expect("parses");
        assert_eq!(f.clauses.len(), 6);
        assert_eq!(f.clauses[1].field, Field::Tag("mlflow.runName".into()));
        assert_eq!(f.clauses[3].condition, Condition::Present(true));
        assert_eq!(f.clauses[4].condition, Condition::Present(false));
        assert_eq!(f.clauses[5].field, Field::Attribute(Attribute::RunName));
        let c = one("tags.mlflow.source.name = 'x'");
        assert_eq!(c.field, Field::Tag("mlflow.source.name".into()));
    }

    #[test]
    fn run_id_in() {
        let c = one("attributes.run_id IN ('a', 'b')");
        assert_eq!(
            c.condition,
            Condition::In {
                negated: false,
                values: vec!["a".into(), "b".into()]
            }
        );
        let c = one("run.run_id NOT IN ('a')");
        assert!(matches!(c.condition, Condition::In { negated: true, .. }));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = RunFilter::parse("metrics.acc >> 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Invalid comparator '>>'"), "{e}");
        assert!(RunFilter::parse("metrics.acc > 'abc'").is_err());
        assert!(RunFilter::parse("params.lr > '1'").is_err());
        assert!(RunFilter::parse("metrics.a > 1 OR metrics.b > 1").is_err());
        assert!(RunFilter::parse("bogus.a = 'x'").is_err());
        assert!(RunFilter::parse("attributes.nope = 'x'").is_err());
        assert!(RunFilter::parse("params.a = 'unterminated").is_err());
        assert!(RunFilter::parse("metrics.acc IS NULL").is_err());
        assert!(RunFilter::parse("params.a IN ('x')").is_err());
        assert!(RunFilter::parse("").expect("empty").clauses.is_empty());
    }

    #[test]
    fn order_by() {
        let o = OrderBy::parse_for_runs("metrics.acc DESC").expect("parses");
        assert_eq!(o.field, Field::Metric("acc".into()));
        assert!(!o.ascending);
        let o = OrderBy::parse_for_runs("attributes.start_time").expect("parses");
        assert!(o.ascending);
        let o = OrderBy::parse_for_experiments("name desc").expect("parses");
        assert_eq!(o.field, Field::Attribute(Attribute::Name));
        assert!(OrderBy::parse_for_runs("metrics.acc SIDEWAYS").is_err());
        assert!(OrderBy::parse_for_experiments("metrics.acc").is_err());
    }

    #[test]
    fn experiment_filter() {
        let f = ExperimentFilter::parse("name LIKE 'conf%' AND tags.team = 'x'").expect("parses");
        assert_eq!(f.clauses.len(), 2);
        assert!(ExperimentFilter::parse("params.x = 'y'").is_err());
    }

    #[test]
    fn registry_filters() {
        let f = ModelFilter::parse_registered_models(
            "name = 'm' AND tag.`mlflow.prompt.is_prompt` != 'true'",
        )
        .expect("parses");
        assert_eq!(f.clauses.len(), 2);
        assert_eq!(f.clauses[0].field, Field::Attribute(Attribute::Name));
        assert_eq!(
            f.clauses[1].field,
            Field::Tag("mlflow.prompt.is_prompt".into())
        );
        let f = ModelFilter::parse_model_versions(
            "name = 'm' AND run_id IN ('a') AND version_number > 1",
        )
        .expect("parses");
        assert_eq!(
            f.clauses[2].condition,
            Condition::Number(Comparison::Gt, 1.0)
        );
        assert!(ModelFilter::parse_registered_models("metrics.a > 1").is_err());
        assert!(ModelFilter::parse_registered_models("run_id = 'x'").is_err());
        let f =
            ModelFilter::parse_logged_models("name = 'model' AND params.k = 'v'").expect("parses");
        assert_eq!(f.clauses[1].field, Field::Param("k".into()));
        let o = OrderBy::parse_for_model_versions("version_number DESC").expect("parses");
        assert_eq!(o.field, Field::Attribute(Attribute::Version));
        let o = OrderBy::for_logged_models("creation_timestamp", false).expect("parses");
        assert_eq!(o.field, Field::Attribute(Attribute::CreationTime));
        assert!(OrderBy::for_logged_models("bogus", true).is_err());
    }

    #[test]
    fn glob() {
        assert_eq!(like_to_glob("a%b_c*?["), "a*b?c[*][?][[]");
    }
}

//! The plan check of the scale scenario: every SQL statement the server
//! runs, as the committed `.sqlx/` data holds it (the text and the
//! parameter types of each compile-time-checked statement), planned on the
//! big database the way a prepared statement can be: generic
//! (`plan_cache_mode = force_generic_plan`, the plan PostgreSQL switches a
//! prepared statement to after five runs when it estimates it no dearer)
//! and custom (planned for its values), each run with `EXPLAIN (ANALYZE,
//! BUFFERS)` inside a transaction that is rolled back. A plan reads a
//! whole big table or index when it has a sequential scan of a table of
//! more than [`BIG_TABLE`] rows (that read more than that many, when it
//! ran: an `EXISTS` stops at one), or any scan whose rows read (returned
//! plus filtered out, times its loops) come to [`WHOLE`] of its table:
//! actual rows, not node names, since an index scan that filters its way
//! through half a table is as much a whole scan as a sequential one. Such
//! a plan is flagged when the server runs it: a custom plan, or a generic
//! one that PostgreSQL's own choice picks. Scans that read more than
//! [`HEAVY`] rows and [`WASTE`] times what the statement returns (a page
//! that reads a user's whole history) are noted beside.
//!
//! Why generic plans: sqlx prepares each statement once per connection
//! and runs it again and again, so after five runs PostgreSQL may plan it
//! without its values. A keyset page's `($n IS NULL OR id < $n)` cannot be
//! an index condition in such a plan (the bound may be NULL), so the scan
//! starts at the list's end and filters its way to the cursor: a deep page
//! reads every row before it. The check runs each listing with its bounds
//! NULL (page 1), with a cursor in the middle of its list (a deep page),
//! and with its optional filters set to rare values; it also tells, for
//! each, whether PostgreSQL's own choice (`auto`, after five custom runs)
//! goes generic.
//!
//! Where each statement comes from is found in `src/` (the file and
//! function holding the longest prefix of its text), which tells request
//! paths from background work (the audit, the outbox relay, the sweep,
//! the replica probe) and which statements the server runs unprepared
//! (`.persistent(false)`: planned for their values every time, so only
//! their custom plan ever runs).
//!
//! Statements built at run time (`QueryBuilder`: the search's trigram
//! statements) are not in `.sqlx/` and not checked here; the scenario's
//! search paths measure them.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;
use sqlx::{Connection, PgConnection, Row};

/// A table of more than this many rows is big: reading it whole matters.
pub const BIG_TABLE: f64 = 10_000.0;
/// A scan reading at least this share of its table's rows reads it whole
/// (a cursor in the middle of a list, which a filtering scan reads up to,
/// makes half).
pub const WHOLE: f64 = 0.4;
/// A scan reading more rows than this, and [`WASTE`] times what the
/// statement returns, is noted (a page that reads a user's whole history,
/// say), if not whole.
const HEAVY: f64 = 1_000.0;
const WASTE: f64 = 20.0;
/// How many elements an array parameter gets (a page's or a batch's worth).
const BATCH: usize = 20;

/// Background statements: (file, function or "" for the whole file, what runs it).
const BACKGROUND: [(&str, &str, &str); 11] = [
    (
        "src/domain/audit.rs",
        "",
        "the audit (`commerce audit`, tests, benchmarks)",
    ),
    ("src/domain/outbox.rs", "claim", "the outbox relay"),
    ("src/domain/outbox.rs", "mark_published", "the outbox relay"),
    ("src/domain/outbox.rs", "mark_failed", "the outbox relay"),
    (
        "src/domain/outbox.rs",
        "backlog",
        "the outbox backlog metric",
    ),
    ("src/domain/outbox.rs", "compact", "the outbox's retention"),
    (
        "src/domain/order/expiry.rs",
        "",
        "the sweep of expired orders",
    ),
    ("src/facades/expiry.rs", "", "the sweep of expired orders"),
    ("src/db/replica.rs", "", "the replica's lag probe"),
    ("src/http/health.rs", "", "the readiness probe"),
    (
        "src/domain/product.rs",
        "is_empty",
        "the demo seed, at startup",
    ),
];

/// How the server runs a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prepared {
    /// Prepared once per connection: generic plans may run.
    Always,
    /// `.persistent(false)`: planned for its values every time.
    Never,
    /// Unprepared in some calls only (`.persistent(<condition>)`).
    Sometimes,
}

/// One statement of `.sqlx/`.
pub struct Statement {
    /// The `.sqlx` file's hash, shortened.
    pub id: String,
    /// The text, whitespace collapsed.
    pub sql: String,
    /// The parameters' types, as sqlx names them.
    pub types: Vec<String>,
    /// `path::function` in `src/`, or where it was not found.
    pub origin: String,
    /// `None` for a request path, else what runs it.
    pub background: Option<&'static str>,
    pub prepared: Prepared,
}

/// A plan, analysed.
pub struct Plan {
    /// Whether it ran (`ANALYZE`); a write that failed on the sample
    /// values is only explained.
    pub executed: bool,
    /// Why it could not run.
    pub error: Option<String>,
    /// Execution time, ms.
    pub ms: f64,
    /// Shared buffers hit and read.
    pub buffers: i64,
    /// Whole scans of big tables.
    pub flags: Vec<String>,
    /// Scans reading more than [`HEAVY`] rows, not whole.
    pub heavy: Vec<String>,
    /// The plan, one node a line.
    pub text: String,
}

/// One statement with one set of values.
pub struct Checked {
    pub statement: usize,
    /// What the values stand for (page 1, deep cursor, a rare filter...).
    pub variant: String,
    /// The values, as SQL.
    pub values: Vec<String>,
    pub generic: Plan,
    pub custom: Plan,
    /// Whether PostgreSQL's own choice, after five custom plans with these
    /// values, is the generic plan.
    pub auto_generic: bool,
}

impl Checked {
    /// Whether a plan the server runs reads a big table whole: the custom
    /// plan, or the generic one when the statement is prepared and
    /// PostgreSQL chooses it.
    pub fn flagged(&self, statements: &[Statement]) -> bool {
        let prepared = statements[self.statement].prepared != Prepared::Never;
        !self.custom.flags.is_empty()
            || (prepared && self.auto_generic && !self.generic.flags.is_empty())
    }
}

/// The statements of `.sqlx/`, each placed in `src/`.
pub fn statements() -> Vec<Statement> {
    let root = env!("CARGO_MANIFEST_DIR");
    let sources = sources(&format!("{root}/src"), root);
    let mut all: Vec<Statement> = std::fs::read_dir(format!("{root}/.sqlx"))
        .expect("the .sqlx directory")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let data: Value = serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
            let sql = collapse(data["query"].as_str()?);
            let types = data["describe"]["parameters"]["Left"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let name = path.file_stem()?.to_string_lossy().into_owned();
            let id = name.trim_start_matches("query-").chars().take(12).collect();
            let (origin, background, prepared) = place(&sql, &sources);
            Some(Statement {
                id,
                sql,
                types,
                origin,
                background,
                prepared,
            })
        })
        .collect();
    all.sort_by(|a, b| {
        (a.background.is_some(), &a.origin, &a.sql).cmp(&(
            b.background.is_some(),
            &b.origin,
            &b.sql,
        ))
    });
    all
}

/// Collapses runs of whitespace into one space.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every `.rs` file under `dir`: its path from `root` and its text,
/// whitespace collapsed.
fn sources(dir: &str, root: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(sources(&path.to_string_lossy(), root));
        } else if path.extension().is_some_and(|e| e == "rs")
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            let name = path
                .to_string_lossy()
                .trim_start_matches(root)
                .trim_start_matches('/')
                .to_owned();
            found.push((name, collapse(&text)));
        }
    }
    found
}

/// Where `sql` is in `sources` (the file holding the longest prefix of it,
/// and the function around it), whether it is background work, and how
/// it is run.
fn place(sql: &str, sources: &[(String, String)]) -> (String, Option<&'static str>, Prepared) {
    let prefix_in = |text: &str| {
        // The longest prefix of `sql` found in `text`, by bisection (a
        // prefix found means every shorter one is).
        let (mut low, mut high) = (0, sql.len());
        while low < high {
            let mid = (low + high).div_ceil(2);
            let mid = (mid..=sql.len())
                .find(|&i| sql.is_char_boundary(i))
                .unwrap_or(sql.len());
            if text.contains(&sql[..mid]) {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        low
    };
    let best = sources
        .iter()
        .map(|(path, text)| (prefix_in(text), path, text))
        .max_by_key(|(len, _, _)| *len);
    let Some((len, path, text)) = best.filter(|(len, _, _)| *len >= sql.len().min(30)) else {
        return (
            "not found in src/".into(),
            Some("not in src/ (tests or tools)"),
            Prepared::Always,
        );
    };
    let at = text.find(&sql[..len]).unwrap_or(0);
    // The function (or macro) around it.
    let function = ["fn ", "macro_rules! "]
        .iter()
        .filter_map(|k| text[..at].rfind(k).map(|f| (f, k)))
        .max()
        .map(|(f, k)| {
            let name: String = text[f + k.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if k.starts_with("macro") {
                format!("{name}!")
            } else {
                name
            }
        })
        .unwrap_or_default();
    // The call's options follow its text, before its `.await`.
    let after = &text[at..];
    let call = &after[..after.find(".await").unwrap_or(after.len())];
    let prepared = if call.contains(".persistent(false)") {
        Prepared::Never
    } else if call.contains(".persistent(") {
        Prepared::Sometimes
    } else {
        Prepared::Always
    };
    let background = BACKGROUND
        .iter()
        .find(|(file, func, _)| path == file && (func.is_empty() || *func == function))
        .map(|(_, _, what)| *what);
    (format!("{path}::{function}"), background, prepared)
}

/// The positions of parameter `$n` in `sql` (not `$n0`...).
fn positions(sql: &str, n: usize) -> Vec<usize> {
    let needle = format!("${n}");
    sql.match_indices(&needle)
        .map(|(i, _)| i)
        .filter(|&i| {
            !sql[i + needle.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .collect()
}

/// The text from `open` (just after an opening parenthesis) to its
/// closing one.
fn to_close(text: &str) -> &str {
    let mut depth = 1;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    text
}

/// Splits `text` at commas outside parentheses.
fn split_top(text: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts
}

/// A keyset's sort key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Id,
    Price,
    Name,
}

/// What a parameter stands for, read from the statement's text.
#[derive(Clone, Debug, PartialEq)]
enum Param {
    /// `($n IS NULL OR key < ...)`: a keyset bound (`op` '<' or '>').
    Bound {
        key: Key,
        op: char,
    },
    /// The price or name beside bound parameter `n`.
    BoundKey(usize),
    /// `($n IS NULL OR user_id = $n)`.
    OptionalUser,
    /// `($n IS NULL OR (status ...))`, `CASE $n WHEN ...`: a filter.
    OptionalStatus,
    /// The `n`th search pattern (`ILIKE $n`).
    Pattern(usize),
    /// The other patterns (`($n IS NULL OR ... ILIKE ALL ($n))`).
    Patterns,
    /// Every word's pattern (`ILIKE ALL ($n)`, never NULL).
    PatternArray,
    /// The length of a walk along an index (a `LIMIT` closing a CTE).
    Walk,
    Limit,
    /// A value of a column (perhaps `alias.column`) of a table, or an
    /// array of them.
    Column(String, String),
    /// Nothing recognised: a default of its type.
    Other,
}

/// Reads what each parameter of `sql` stands for.
fn params(sql: &str, count: usize) -> Vec<Param> {
    let main = table_of(sql, None);
    let mut patterns = 0;
    (1..=count)
        .map(|n| {
            let d = format!("${n}");
            let optional = |cast: &str| format!("({d}::{cast} IS NULL OR ");
            if let Some(i) = sql.find(&optional("BIGINT")) {
                let clause = to_close(&sql[i + optional("BIGINT").len()..]);
                let mut depth = 0;
                for (j, c) in clause.char_indices() {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        '<' | '>' if depth == 0 => {
                            let lhs = &clause[..j];
                            let key = if lhs.contains("price") {
                                Key::Price
                            } else if lhs.contains("name") {
                                Key::Name
                            } else {
                                Key::Id
                            };
                            return Param::Bound { key, op: c };
                        }
                        _ => {}
                    }
                }
                if clause.contains("user_id =") {
                    return Param::OptionalUser;
                }
            }
            // `key < coalesce($n::BIGINT, ...)`, or a row of them:
            // `(price, id) > (coalesce($p::BIGINT, 0), coalesce($n::BIGINT, 0))`.
            for i in positions(sql, n) {
                let near = &sql[i.saturating_sub(16)..i];
                if near.contains("coalesce(")
                    && let Some(bound) = coalesced_bound(sql, i)
                {
                    return bound;
                }
            }
            if sql.contains(&optional("TEXT[]")) {
                return Param::Patterns;
            }
            if sql.contains(&format!("ILIKE ALL ({d})")) {
                return Param::PatternArray;
            }
            if let Some(i) = sql.find(&optional("TEXT")) {
                let clause = to_close(&sql[i + optional("TEXT").len()..]);
                if clause.contains("ILIKE") {
                    patterns += 1;
                    return Param::Pattern(patterns - 1);
                }
                return Param::OptionalStatus;
            }
            if sql.contains(&format!("CASE {d}::TEXT WHEN")) {
                return Param::OptionalStatus;
            }
            for (prefix, suffix) in [("(", "::BIGINT, $"), ("(lower(", "::TEXT), $")] {
                if let Some(i) = sql.find(&format!("{prefix}{d}{suffix}")) {
                    let rest = &sql[i + prefix.len() + d.len() + suffix.len()..];
                    let bound: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(bound) = bound.parse() {
                        return Param::BoundKey(bound);
                    }
                }
            }
            let at = positions(sql, n);
            if let Some(&i) = at.iter().find(|&&i| sql[..i].ends_with("LIMIT ")) {
                return if sql[i + d.len()..].starts_with(')') {
                    Param::Walk
                } else {
                    Param::Limit
                };
            }
            // unnest($1::T[], $2::T[]) [WITH ORDINALITY] AS x(a, b): the column.
            for (i, _) in sql.match_indices("unnest(") {
                let args = to_close(&sql[i + 7..]);
                let Some(k) = split_top(args)
                    .iter()
                    .position(|a| *a == d || a.starts_with(&format!("{d}::")))
                else {
                    continue;
                };
                let after = sql[i + 7 + args.len() + 1..]
                    .trim_start()
                    .trim_start_matches("WITH ORDINALITY")
                    .trim_start();
                if let Some(rest) = after.strip_prefix("AS ")
                    && let Some(open) = rest.find('(')
                {
                    let columns = split_top(to_close(&rest[open + 1..]));
                    if let Some(column) = columns.get(k) {
                        return Param::Column((*column).to_owned(), main.clone());
                    }
                }
            }
            // INSERT INTO t (a, b) VALUES ($1, $2): the column.
            if let Some(rest) = sql.strip_prefix("INSERT INTO ")
                && let Some(open) = rest.find('(')
                && let Some(values) = rest.find("VALUES (")
            {
                let columns = split_top(to_close(&rest[open + 1..]));
                let given = split_top(to_close(&rest[values + 8..]));
                if let Some(k) = given.iter().position(|v| positions(v, n).len() == 1)
                    && let Some(column) = columns.get(k)
                {
                    return Param::Column((*column).to_owned(), main.clone());
                }
            }
            // `column = ANY($n)`, `column = $n`, `column < $n`...
            for &i in &at {
                let before = sql[..i]
                    .trim_end_matches("ANY(")
                    .trim_end()
                    .trim_end_matches(['=', '<', '>'])
                    .trim_end();
                if before.len() < sql[..i].trim_end().len() {
                    let column: String = before
                        .chars()
                        .rev()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    if !column.is_empty() && !column.chars().all(|c| c.is_ascii_digit()) {
                        return Param::Column(column, nearest_table(&sql[..i]));
                    }
                }
            }
            Param::Other
        })
        .collect()
}

/// What the parameter at `at` (inside a `coalesce(`) bounds: the
/// comparison before it (`key < coalesce(...)`), or, inside a row
/// (`(price, id) > (coalesce($p, 0), coalesce($n, 0))`), the id (the
/// row's last element) or the sort key beside it (its first element,
/// named by the id's parameter).
fn coalesced_bound(sql: &str, at: usize) -> Option<Param> {
    let before = &sql[..at];
    let op_at = before.rfind(" < ").max(before.rfind(" > "))?;
    let op = before[op_at + 1..].chars().next()?;
    let lhs = &before[op_at.saturating_sub(24)..op_at];
    let key = if lhs.contains("price") {
        Key::Price
    } else if lhs.contains("name") {
        Key::Name
    } else {
        Key::Id
    };
    // The right-hand side starts after the operator and its spaces.
    let rhs_at = op_at + 3;
    if !sql[rhs_at..].starts_with('(') || sql[rhs_at..].starts_with("(SELECT") {
        return Some(Param::Bound { key, op });
    }
    // A row: which of its elements holds the parameter?
    let row = to_close(&sql[rhs_at + 1..]);
    let mut start = rhs_at + 1;
    let mut holder = None;
    let elements = split_top(row);
    for (k, element) in elements.iter().enumerate() {
        let offset = sql[start..].find(element)? + start;
        if (offset..offset + element.len()).contains(&at) {
            holder = Some(k);
        }
        start = offset + element.len();
    }
    if holder? + 1 == elements.len() {
        return Some(Param::Bound { key, op });
    }
    // The sort key beside the id: named after the id's parameter.
    let digits: String = elements
        .last()?
        .split('$')
        .nth(1)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().map(Param::BoundKey)
}

/// Whether `word` can name a table (not a set-returning function).
fn a_table(word: &str) -> bool {
    !word.is_empty()
        && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        && !matches!(word, "unnest" | "generate_series")
}

/// The last table named (after FROM, JOIN, UPDATE, INTO) in `text`.
fn nearest_table(text: &str) -> String {
    let words: Vec<&str> = text.split([' ', '(', ')', ',']).collect();
    words
        .windows(2)
        .rev()
        .find(|w| matches!(w[0], "FROM" | "JOIN" | "UPDATE" | "INTO") && a_table(w[1]))
        .map(|w| w[1].to_owned())
        .unwrap_or_default()
}

/// The table a statement is about: the first after FROM, UPDATE, INSERT
/// INTO or DELETE FROM; `alias` names another when given.
fn table_of(sql: &str, alias: Option<&str>) -> String {
    let words: Vec<&str> = sql.split([' ', '(', ')', ',']).collect();
    if let Some(alias) = alias {
        for pair in words.windows(2) {
            if pair[1] == alias && a_table(pair[0]) {
                return pair[0].to_owned();
            }
        }
    }
    for (i, w) in words.iter().enumerate() {
        if matches!(*w, "FROM" | "UPDATE" | "INTO")
            && let Some(next) = words.get(i + 1)
            && a_table(next)
        {
            return (*next).to_owned();
        }
    }
    String::new()
}

/// Sample rows of the big database the values come from.
pub struct Samples {
    pub busy_user: i64,
    pub busy_subject: String,
    /// A user with a single order (a rare filter value).
    pub light_user: i64,
    /// Ids per table, `BATCH` of each (the busy user's where they have any).
    pub ids: HashMap<&'static str, Vec<i64>>,
    /// An idempotency key of the busy user: (operation, key).
    pub key: (String, String),
}

async fn ids(conn: &mut PgConnection, sql: &str) -> Vec<i64> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .persistent(false)
        .fetch_all(conn)
        .await
        .expect("sample ids")
}

impl Samples {
    /// Reads the samples: the user with the most orders is the busy one.
    pub async fn read(conn: &mut PgConnection) -> Self {
        let busy_user: i64 = sqlx::query_scalar(
            "SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1",
        )
        .fetch_one(&mut *conn)
        .await
        .expect("the busiest user");
        let light_user: i64 = sqlx::query_scalar(
            "SELECT user_id FROM orders GROUP BY user_id HAVING count(*) = 1 ORDER BY user_id DESC LIMIT 1",
        )
        .fetch_one(&mut *conn)
        .await
        .expect("a user with one order");
        let busy_subject: String = sqlx::query_scalar("SELECT subject FROM users WHERE id = $1")
            .bind(busy_user)
            .fetch_one(&mut *conn)
            .await
            .expect("the busiest user's subject");
        let key: (String, String) = sqlx::query_as(
            "SELECT operation, key FROM idempotency_keys WHERE user_id = $1 LIMIT 1",
        )
        .bind(busy_user)
        .fetch_optional(&mut *conn)
        .await
        .expect("a key")
        .unwrap_or_else(|| ("chargeBalance".into(), "none".into()));
        let b = BATCH;
        let u = busy_user;
        let mut ids_of = HashMap::new();
        for (table, sql) in [
            (
                "products",
                format!(
                    "SELECT id FROM products WHERE archived_at IS NULL AND id % 50000 = 17 ORDER BY id LIMIT {b}"
                ),
            ),
            (
                "users",
                format!("SELECT id FROM users ORDER BY id = {u} DESC, id LIMIT {b}"),
            ),
            (
                "orders",
                format!("SELECT id FROM orders WHERE user_id = {u} ORDER BY id DESC LIMIT {b}"),
            ),
            (
                "coupons",
                format!("SELECT id FROM coupons ORDER BY id DESC LIMIT {b}"),
            ),
            (
                "user_coupons",
                format!(
                    "SELECT id FROM user_coupons WHERE user_id = {u} ORDER BY id DESC LIMIT {b}"
                ),
            ),
            (
                "payments",
                format!("SELECT id FROM payments WHERE user_id = {u} ORDER BY id DESC LIMIT {b}"),
            ),
            (
                "balance_ledger",
                format!(
                    "SELECT id FROM balance_ledger WHERE user_id = {u} ORDER BY id DESC LIMIT {b}"
                ),
            ),
            (
                "outbox",
                format!("SELECT id FROM outbox ORDER BY id DESC LIMIT {b}"),
            ),
        ] {
            let mut found = ids(conn, &sql).await;
            if found.is_empty() {
                found.push(1);
            }
            ids_of.insert(table, found);
        }
        Self {
            busy_user,
            busy_subject,
            light_user,
            ids: ids_of,
            key,
        }
    }

    /// `count` values of `column` (of `table`), as SQL.
    /// `inserting`: for an INSERT (a new key, not an existing one).
    fn column(&self, column: &str, table: &str, count: usize, inserting: bool) -> Vec<String> {
        let pick = |table: &str| {
            let ids = &self.ids[table];
            (0..count)
                .map(|i| ids[i % ids.len()].to_string())
                .collect::<Vec<_>>()
        };
        let same = |v: &str| vec![v.to_owned(); count];
        match column {
            "id" if self.ids.contains_key(table) => pick(table),
            "user_id" => pick("users"),
            "order_id" => pick("orders"),
            "product_id" => pick("products"),
            "coupon_id" => pick("coupons"),
            "subject" => same(&quote(&self.busy_subject)),
            "operation" => same(&quote(&self.key.0)),
            "key" if inserting => same("'scale-new-key'"),
            "key" => same(&quote(&self.key.1)),
            "valid_until" => same("now() + interval '1 day'"),
            "ordinal" => (1..=count).map(|i| i.to_string()).collect(),
            // 0: a valid amount of a PAYMENT (<= 0) and a REFUND (>= 0) row.
            "amount" => same("0"),
            "total" | "unit_price" | "result_id" => same("1000"),
            "quantity" | "count" | "stock" | "discount_value" => same("1"),
            "free" | "held" | "discount" => same("0"),
            "price" => same("5000"),
            "total_quantity" => same("100"),
            "reason" | "name" | "fingerprint" | "last_error" => same("'scale'"),
            "description" => same("''"),
            "event_type" => same(&quote(commerce::domain::outbox::ORDER_PAID)),
            "payload" => same("'{}'"),
            "kind" => same("'CHARGE'"),
            "discount_type" => same("'PERCENTAGE'"),
            _ => Vec::new(),
        }
    }
}

/// `text` as an SQL string literal.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The SQL type of an sqlx parameter type.
fn sql_type(t: &str) -> String {
    let (base, array) = match t.strip_suffix("Array") {
        Some(base) => (base, "[]"),
        None => (t, ""),
    };
    let base = match base {
        "Int8" => "BIGINT",
        "Int4" => "INT",
        "Int2" => "SMALLINT",
        "Text" | "Varchar" => "TEXT",
        "Bool" => "BOOLEAN",
        "Float8" => "FLOAT8",
        "Timestamptz" => "TIMESTAMPTZ",
        "Uuid" => "UUID",
        "Jsonb" => "JSONB",
        other => other,
    };
    format!("{base}{array}")
}

/// A default value of type `t` when nothing better is known.
fn default_value(t: &str) -> String {
    match t.strip_suffix("Array") {
        Some(base) => {
            let one = default_value(base);
            let many = if base == "Uuid" {
                (0..BATCH)
                    .map(|_| format!("'{}'", uuid::Uuid::new_v4()))
                    .collect::<Vec<_>>()
            } else {
                vec![one; BATCH]
            };
            format!("ARRAY[{}]::{}", many.join(", "), sql_type(t))
        }
        None => match t {
            "Int8" | "Int4" => "1000".into(),
            "Int2" => "0".into(),
            "Bool" => "false".into(),
            "Float8" => "1800".into(),
            "Timestamptz" => "now()".into(),
            "Uuid" => format!("'{}'", uuid::Uuid::new_v4()),
            _ => "'scale'".into(),
        },
    }
}

/// The variants of a statement's values: page 1 (every optional bound
/// and filter NULL, a common search word), a deep page (the bound that
/// continues the listing's order at the middle of its list), and each
/// optional filter set to a rare value; each named.
async fn variants(
    conn: &mut PgConnection,
    statement: &Statement,
    samples: &Samples,
) -> Vec<(String, Vec<String>)> {
    let sql = &statement.sql;
    let roles = params(sql, statement.types.len());
    let table = table_of(sql, None);
    let has_user = roles
        .iter()
        .any(|r| matches!(r, Param::Column(c, _) if c.rsplit('.').next() == Some("user_id")));
    let base: Vec<String> = roles
        .iter()
        .zip(&statement.types)
        .map(|(role, t)| match role {
            Param::Bound { .. }
            | Param::BoundKey(_)
            | Param::OptionalUser
            | Param::OptionalStatus
            | Param::Patterns => "NULL".into(),
            Param::Pattern(0) => quote("%ceramic%"),
            Param::Pattern(_) => "NULL".into(),
            Param::PatternArray => "ARRAY['%ceramic%']::TEXT[]".into(),
            Param::Limit => "21".into(),
            // SEARCH_WALK_ROWS' default.
            Param::Walk => "1000".into(),
            Param::Column(column, table) => {
                let array = t.ends_with("Array");
                let (of, name) = match column.split_once('.') {
                    Some((alias, name)) => (table_of(sql, Some(alias)), name),
                    None => (table.clone(), column.as_str()),
                };
                let values = if t.starts_with("Uuid") {
                    Vec::new()
                } else {
                    let count = if array { BATCH } else { 1 };
                    samples.column(name, &of, count, sql.starts_with("INSERT"))
                };
                match (values.is_empty(), array) {
                    (true, _) => default_value(t),
                    (false, true) => format!("ARRAY[{}]::{}", values.join(", "), sql_type(t)),
                    (false, false) => values[0].clone(),
                }
            }
            Param::Other => default_value(t),
        })
        .collect();
    let first = if roles.contains(&Param::Pattern(0)) || roles.contains(&Param::PatternArray) {
        "page 1, a common word"
    } else {
        "page 1"
    };
    let mut out = vec![(first.to_owned(), base.clone())];
    // A statement unprepared only when searching runs prepared without
    // a search: every pattern NULL.
    if first != "page 1" && statement.prepared == Prepared::Sometimes {
        let mut none = base.clone();
        for (k, role) in roles.iter().enumerate() {
            if matches!(role, Param::Pattern(_)) {
                none[k] = "NULL".into();
            }
        }
        out.push(("no search".to_owned(), none));
    }

    // The deep page: the bound the listing's order runs towards.
    let descending = sql
        .find("ORDER BY ")
        .map(|i| {
            let rest = &sql[i..];
            match (rest.find(" DESC"), rest.find(" ASC")) {
                (Some(d), Some(a)) => d < a,
                (Some(_), None) => true,
                _ => false,
            }
        })
        .unwrap_or(false);
    let continuing = if descending { '<' } else { '>' };
    if let Some(bound) = roles
        .iter()
        .position(|r| matches!(r, Param::Bound { op, .. } if *op == continuing))
    {
        let Param::Bound { key, .. } = roles[bound] else {
            unreachable!()
        };
        let filter = if has_user {
            format!("WHERE user_id = {}", samples.busy_user)
        } else {
            String::new()
        };
        // The middle of the list, in its key's order.
        let middle = match key {
            Key::Id => format!(
                "SELECT t.id, NULL::TEXT FROM {table} t {filter} ORDER BY t.id
                 OFFSET (SELECT count(*) / 2 FROM {table} {filter}) LIMIT 1"
            ),
            Key::Price => "SELECT p.id, p.price::TEXT FROM products p WHERE p.archived_at IS NULL
                 ORDER BY p.price, p.id
                 OFFSET (SELECT count(*) / 2 FROM products WHERE archived_at IS NULL) LIMIT 1"
                .to_owned(),
            Key::Name => "SELECT p.id, p.name FROM products p WHERE p.archived_at IS NULL
                 ORDER BY lower(p.name), p.id
                 OFFSET (SELECT count(*) / 2 FROM products WHERE archived_at IS NULL) LIMIT 1"
                .to_owned(),
        };
        let found: Option<(i64, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(middle))
            .persistent(false)
            .fetch_optional(&mut *conn)
            .await
            .expect("the middle of a list");
        if let Some((id, sort_key)) = found {
            let mut deep = base.clone();
            deep[bound] = id.to_string();
            for (k, role) in roles.iter().enumerate() {
                if *role == Param::BoundKey(bound + 1) {
                    deep[k] = match (key, &sort_key) {
                        (Key::Name, Some(name)) => quote(name),
                        (_, Some(v)) => v.clone(),
                        _ => "NULL".into(),
                    };
                }
            }
            out.push((format!("deep cursor (id {id}, mid-list)"), deep));
        }
    }
    // Each optional filter at a rare value.
    for (k, role) in roles.iter().enumerate() {
        let (name, value) = match role {
            Param::OptionalUser => (
                format!("user filter (a user with 1 order, {})", samples.light_user),
                samples.light_user.to_string(),
            ),
            Param::OptionalStatus if sql.contains("order_stored_statuses") => {
                ("status filter PENDING".to_owned(), quote("PENDING"))
            }
            Param::OptionalStatus => ("status filter USED".to_owned(), quote("USED")),
            Param::Pattern(0) => (
                "rare word".to_owned(),
                quote(&format!("%{}%", crate::scale_seed::RARE_WORD)),
            ),
            Param::PatternArray => {
                let mut two = base.clone();
                two[k] = "ARRAY['%golden%', '%teapot%']::TEXT[]".into();
                out.push(("two words".to_owned(), two));
                (
                    "rare word".to_owned(),
                    format!("ARRAY['%{}%']::TEXT[]", crate::scale_seed::RARE_WORD),
                )
            }
            Param::Pattern(1) => {
                let mut two = base.clone();
                two[k - 1] = quote("%teapot%");
                two[k] = quote("%golden%");
                out.push(("two words".to_owned(), two));
                continue;
            }
            _ => continue,
        };
        let mut filtered = base.clone();
        filtered[k] = value;
        out.push((name, filtered));
    }
    out
}

/// Plans, runs and judges every statement on `conn` (the big database).
pub async fn check(url: &str) -> (Vec<Statement>, Vec<Checked>) {
    let mut conn = PgConnection::connect(url)
        .await
        .expect("the plan check's connection");
    let statements = statements();
    let samples = Samples::read(&mut conn).await;
    let sizes: HashMap<String, f64> = sqlx::query_as::<_, (String, f32)>(
        "SELECT c.relname::TEXT, c.reltuples FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("the relations' sizes")
    .into_iter()
    .map(|(name, rows)| (name, f64::from(rows)))
    .collect();
    let _ = raw(&mut conn, "SET statement_timeout = '120s'").await;
    let mut checked = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        // The audit reads whole tables by design: planned, not run.
        let analyze = !statement.origin.starts_with("src/domain/audit.rs");
        for (variant, values) in variants(&mut conn, statement, &samples).await {
            let generic = plan(
                &mut conn,
                statement,
                &values,
                "force_generic_plan",
                analyze,
                &sizes,
            )
            .await;
            let custom = plan(
                &mut conn,
                statement,
                &values,
                "force_custom_plan",
                analyze,
                &sizes,
            )
            .await;
            let auto_generic = auto_goes_generic(&mut conn, statement, &values).await;
            checked.push(Checked {
                statement: index,
                variant,
                values,
                generic,
                custom,
                auto_generic,
            });
            if statement.background.is_some() {
                break;
            }
        }
    }
    conn.close().await.expect("closing the plan check");
    (statements, checked)
}

async fn raw(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// `PREPARE scale_plan (...) AS <statement>`, after dropping any earlier one.
async fn prepare(conn: &mut PgConnection, statement: &Statement) {
    // Only ours: sqlx keeps its own prepared statements on the connection.
    let _ = raw(conn, "DEALLOCATE scale_plan").await;
    let types: Vec<String> = statement.types.iter().map(|t| sql_type(t)).collect();
    let types = if types.is_empty() {
        String::new()
    } else {
        format!("({})", types.join(", "))
    };
    raw(
        conn,
        &format!("PREPARE scale_plan {types} AS {}", statement.sql),
    )
    .await
    .unwrap_or_else(|e| panic!("preparing {}: {e}", statement.id));
}

/// Runs an `EXPLAIN (FORMAT JSON)` and parses its one value (a `json`,
/// which sqlx without its `json` feature reads as text, unchecked).
async fn explain_json(conn: &mut PgConnection, explain: String) -> Result<Value, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(explain))
        .persistent(false)
        .fetch_one(&mut *conn)
        .await?;
    let text: String = row.try_get_unchecked(0)?;
    serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn execute(values: &[String]) -> String {
    if values.is_empty() {
        "EXECUTE scale_plan".into()
    } else {
        format!("EXECUTE scale_plan({})", values.join(", "))
    }
}

/// The statement's plan in `mode`, run (`analyze`) in a transaction
/// that is rolled back, or only explained when it cannot run on the
/// sample values (a write breaking a constraint) or is not to run.
async fn plan(
    conn: &mut PgConnection,
    statement: &Statement,
    values: &[String],
    mode: &str,
    analyze: bool,
    sizes: &HashMap<String, f64>,
) -> Plan {
    prepare(conn, statement).await;
    let mut error = None;
    if analyze {
        let explain = format!(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}",
            execute(values)
        );
        raw(conn, "BEGIN").await.expect("begin");
        raw(conn, &format!("SET LOCAL plan_cache_mode = {mode}"))
            .await
            .expect("the plan cache mode");
        let ran = explain_json(conn, explain).await;
        let _ = raw(conn, "ROLLBACK").await;
        match ran {
            Ok(json) => return judge(&json, true, None, sizes),
            Err(e) => error = Some(e.to_string()),
        }
    }
    raw(conn, "BEGIN").await.expect("begin");
    raw(conn, &format!("SET LOCAL plan_cache_mode = {mode}"))
        .await
        .expect("the plan cache mode");
    let explained = explain_json(conn, format!("EXPLAIN (FORMAT JSON) {}", execute(values))).await;
    let _ = raw(conn, "ROLLBACK").await;
    match explained {
        Ok(json) => judge(&json, false, error, sizes),
        // Not even explained: the check failed for this statement.
        Err(e) => Plan {
            executed: false,
            error: Some(format!("not explained: {e}")),
            ms: 0.0,
            buffers: 0,
            flags: vec![format!("could not be explained: {e}")],
            heavy: Vec::new(),
            text: String::new(),
        },
    }
}

/// Whether PostgreSQL, left to choose (`plan_cache_mode = auto`), runs
/// the generic plan once five custom plans with these values are made.
async fn auto_goes_generic(
    conn: &mut PgConnection,
    statement: &Statement,
    values: &[String],
) -> bool {
    prepare(conn, statement).await;
    for _ in 0..6 {
        // EXPLAIN EXECUTE goes through the plan cache's choice, as an
        // EXECUTE does, without running the statement.
        if explain_json(conn, format!("EXPLAIN (FORMAT JSON) {}", execute(values)))
            .await
            .is_err()
        {
            return false;
        }
    }
    let generic: i64 = sqlx::query_scalar(
        "SELECT generic_plans FROM pg_prepared_statements WHERE name = 'scale_plan'",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("the prepared statement's counters");
    generic > 0
}

/// Reads an `EXPLAIN (FORMAT JSON)` answer: flags, heavy scans, the text.
fn judge(
    json: &Value,
    executed: bool,
    error: Option<String>,
    sizes: &HashMap<String, f64>,
) -> Plan {
    let top = &json[0];
    let root = &top["Plan"];
    let mut plan = Plan {
        executed,
        error,
        ms: top["Execution Time"].as_f64().unwrap_or(0.0),
        buffers: root["Shared Hit Blocks"].as_i64().unwrap_or(0)
            + root["Shared Read Blocks"].as_i64().unwrap_or(0),
        flags: Vec::new(),
        heavy: Vec::new(),
        text: String::new(),
    };
    let returned = root["Actual Rows"].as_f64().unwrap_or(0.0).max(1.0);
    walk(root, 0, executed, returned, sizes, &mut plan);
    plan
}

fn walk(
    node: &Value,
    depth: usize,
    executed: bool,
    returned: f64,
    sizes: &HashMap<String, f64>,
    plan: &mut Plan,
) {
    let kind = node["Node Type"].as_str().unwrap_or("?");
    let relation = node["Relation Name"].as_str();
    let index = node["Index Name"].as_str();
    let number = |key: &str| node[key].as_f64().unwrap_or(0.0);
    let loops = number("Actual Loops").max(1.0);
    let read = if executed {
        (number("Actual Rows")
            + number("Rows Removed by Filter")
            + number("Rows Removed by Index Recheck"))
            * loops
    } else {
        number("Plan Rows")
    };
    let _ = write!(
        plan.text,
        "{}-> {kind}{}{}",
        "   ".repeat(depth),
        index.map(|i| format!(" using {i}")).unwrap_or_default(),
        relation.map(|r| format!(" on {r}")).unwrap_or_default()
    );
    if executed {
        let _ = write!(
            plan.text,
            " (rows={} loops={} removed={} time={:.3} ms)",
            number("Actual Rows"),
            number("Actual Loops"),
            number("Rows Removed by Filter") + number("Rows Removed by Index Recheck"),
            number("Actual Total Time")
        );
    } else {
        let _ = write!(plan.text, " (estimated rows={})", number("Plan Rows"));
    }
    for key in ["Index Cond", "Recheck Cond", "Filter", "Sort Key"] {
        if let Some(cond) = node[key].as_str() {
            let cond: String = cond.chars().take(220).collect();
            let _ = write!(plan.text, "\n{}   {key}: {cond}", "   ".repeat(depth));
        } else if let Some(keys) = node[key].as_array() {
            let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
            let _ = write!(
                plan.text,
                "\n{}   {key}: {}",
                "   ".repeat(depth),
                keys.join(", ")
            );
        }
    }
    plan.text.push('\n');
    // The table a scan reads: its relation, or the index's table.
    let table = relation.or(index);
    if let Some(table) = table
        && kind.contains("Scan")
    {
        let rows = sizes.get(table).copied().unwrap_or(0.0);
        let name = index.map_or(table.to_owned(), |i| {
            format!("{i} of {}", relation.unwrap_or(table))
        });
        let what = format!("{kind} on {name}: reads {read:.0} of {rows:.0} rows");
        // A sequential scan of a big table counts unless it ran and read
        // few rows (an EXISTS stops at the first).
        let sequential = kind == "Seq Scan" && (!executed || read > BIG_TABLE);
        if rows > BIG_TABLE && (sequential || read >= WHOLE * rows) {
            plan.flags.push(what);
        } else if executed && read > HEAVY && read > WASTE * returned {
            plan.heavy
                .push(format!("{what}, for {returned:.0} rows returned"));
        }
    }
    if let Some(children) = node["Plans"].as_array() {
        for child in children {
            walk(child, depth + 1, executed, returned, sizes, plan);
        }
    }
}

//! Statements of an SQL string, and the command tag (`statusmessage`) of each.
//!
//! The client library reports a statement's row count but not the server's command tag, so
//! the tag is rebuilt from the statement the way the server forms it: `SELECT n` (also for
//! `VALUES`, `TABLE`, `CREATE TABLE ... AS`, `SELECT ... INTO`), `INSERT 0 n`, `UPDATE n`,
//! `DELETE n`, `MERGE n`, `COPY n`, `FETCH n`, `MOVE n`; any other statement's tag is its
//! leading keywords (`CREATE TABLE`, `DROP INDEX`, `VACUUM`...), which is what the
//! collection's changed rule reads.

/// The top-level statements of `sql` (split at `;` outside quotes, dollar quotes,
/// parentheses and comments), each trimmed, empty ones dropped.
pub(crate) fn split_statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, _) in scan(sql).filter(|&(_, c)| c == ';') {
        push(&mut out, &sql[start..i]);
        start = i + 1;
    }
    push(&mut out, &sql[start..]);
    out
}

fn push<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    if !words(s).is_empty() {
        out.push(s.trim());
    }
}

/// The bytes of `sql` outside quotes and comments, with their offsets; parentheses and
/// what they hold are reported as `(` only at depth 0, so `;` and keywords seen are
/// top-level.
fn scan(sql: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    std::iter::from_fn(move || {
        while i < b.len() {
            let c = b[i];
            let at = i;
            match c {
                b'\'' | b'"' => {
                    let escapes = c == b'\''
                        && at > 0
                        && matches!(b[at - 1], b'E' | b'e')
                        && (at < 2 || !b[at - 2].is_ascii_alphanumeric());
                    i += 1;
                    while i < b.len() {
                        if escapes && b[i] == b'\\' {
                            i += 2;
                            continue;
                        }
                        if b[i] == c {
                            if b.get(i + 1) == Some(&c) {
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        i += 1;
                    }
                    i += 1;
                    if depth == 0 {
                        return Some((at, ' '));
                    }
                }
                b'-' if b.get(i + 1) == Some(&b'-') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    let mut nest = 0;
                    while i < b.len() {
                        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                            nest += 1;
                            i += 2;
                        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                            nest -= 1;
                            i += 2;
                            if nest == 0 {
                                break;
                            }
                        } else {
                            i += 1;
                        }
                    }
                    if depth == 0 {
                        return Some((at, ' '));
                    }
                }
                b'$' if at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') => {
                    let tag_end = b[at + 1..]
                        .iter()
                        .position(|&x| !(x.is_ascii_alphanumeric() || x == b'_'))
                        .map(|p| at + 1 + p);
                    match tag_end {
                        Some(e)
                            if b[e] == b'$'
                                && !b[at + 1..e].first().is_some_and(u8::is_ascii_digit) =>
                        {
                            let tag = &sql[at..=e];
                            i = match sql[e + 1..].find(tag) {
                                Some(p) => e + 1 + p + tag.len(),
                                None => b.len(),
                            };
                            if depth == 0 {
                                return Some((at, ' '));
                            }
                        }
                        _ => {
                            i += 1;
                            if depth == 0 {
                                return Some((at, '$'));
                            }
                        }
                    }
                }
                b'(' => {
                    i += 1;
                    depth += 1;
                    if depth == 1 {
                        return Some((at, '('));
                    }
                }
                b')' => {
                    i += 1;
                    depth = depth.saturating_sub(1);
                }
                _ => {
                    // Multi-byte UTF-8: step over the whole character.
                    let len = sql[at..].chars().next().map_or(1, char::len_utf8);
                    i += len;
                    if depth == 0 {
                        return Some((at, sql[at..].chars().next().unwrap_or(' ')));
                    }
                }
            }
        }
        None
    })
}

/// The top-level words of a statement, upper-cased.
fn words(stmt: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for (_, c) in scan(stmt) {
        if c.is_alphanumeric() || c == '_' {
            cur.push(c.to_ascii_uppercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The command tag of `stmt`, which produced or affected `rows` rows.
pub(crate) fn status_message(stmt: &str, rows: u64) -> String {
    let w = words(stmt);
    let at = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
    let mut verb = at(0);
    if verb == "WITH" {
        // The statement after the common table expressions.
        verb = w
            .iter()
            .skip(1)
            .map(String::as_str)
            .find(|x| matches!(*x, "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "MERGE"))
            .unwrap_or("SELECT");
    }
    match verb {
        "SELECT" if w.iter().any(|x| x == "INTO") && !w.iter().any(|x| x == "FROM") => {
            format!("SELECT {rows}")
        }
        "SELECT" | "VALUES" | "TABLE" => format!("SELECT {rows}"),
        "INSERT" => format!("INSERT 0 {rows}"),
        "UPDATE" | "DELETE" | "MERGE" | "COPY" | "FETCH" | "MOVE" => format!("{verb} {rows}"),
        "CREATE" if create_as(&w) => format!("SELECT {rows}"),
        "CREATE" | "DROP" | "ALTER" => {
            let object: Vec<&str> = w
                .iter()
                .skip(1)
                .map(String::as_str)
                .filter(|x| {
                    !matches!(
                        *x,
                        "OR" | "REPLACE"
                            | "UNIQUE"
                            | "TEMP"
                            | "TEMPORARY"
                            | "UNLOGGED"
                            | "GLOBAL"
                            | "LOCAL"
                            | "TRUSTED"
                            | "PROCEDURAL"
                            | "DEFAULT"
                            | "RECURSIVE"
                    )
                })
                .take_while(|x| {
                    matches!(
                        *x,
                        "TABLE"
                            | "INDEX"
                            | "VIEW"
                            | "MATERIALIZED"
                            | "SEQUENCE"
                            | "SCHEMA"
                            | "DATABASE"
                            | "ROLE"
                            | "USER"
                            | "GROUP"
                            | "FUNCTION"
                            | "PROCEDURE"
                            | "TRIGGER"
                            | "EXTENSION"
                            | "TYPE"
                            | "DOMAIN"
                            | "POLICY"
                            | "PUBLICATION"
                            | "SUBSCRIPTION"
                            | "TABLESPACE"
                            | "LANGUAGE"
                            | "RULE"
                            | "SERVER"
                            | "FOREIGN"
                            | "DATA"
                            | "WRAPPER"
                            | "EVENT"
                            | "COLLATION"
                            | "AGGREGATE"
                            | "OPERATOR"
                            | "CAST"
                            | "STATISTICS"
                            | "SYSTEM"
                            | "OWNED"
                    )
                })
                .collect();
            if object.is_empty() {
                verb.to_owned()
            } else {
                format!("{verb} {}", object.join(" "))
            }
        }
        "TRUNCATE" => "TRUNCATE TABLE".into(),
        "LOCK" => "LOCK TABLE".into(),
        "START" => "START TRANSACTION".into(),
        "END" => "COMMIT".into(),
        "ABORT" => "ROLLBACK".into(),
        "REFRESH" => "REFRESH MATERIALIZED VIEW".into(),
        "DISCARD" | "SECURITY" | "IMPORT" => {
            w.iter().take(2).cloned().collect::<Vec<_>>().join(" ")
        }
        "" => String::new(),
        v => v.to_owned(),
    }
}

/// `CREATE [TEMP] TABLE name AS ...` / `CREATE MATERIALIZED VIEW ... AS`: the server tags
/// these `SELECT n`.
fn create_as(w: &[String]) -> bool {
    let table = w.iter().position(|x| x == "TABLE");
    let view = w.iter().position(|x| x == "VIEW");
    let materialized = w.iter().any(|x| x == "MATERIALIZED");
    match (table, view) {
        (Some(t), _) if t <= 4 => w.iter().skip(t).any(|x| x == "AS"),
        (_, Some(_)) if materialized => w.iter().any(|x| x == "AS"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_quotes_and_bodies() {
        assert_eq!(
            split_statements(
                "SELECT ';'; -- c;\n SELECT $$a;b$$ ; ;CREATE FUNCTION f() RETURNS int AS $f$ SELECT 1; $f$ LANGUAGE sql"
            ),
            vec![
                "SELECT ';'",
                "-- c;\n SELECT $$a;b$$",
                "CREATE FUNCTION f() RETURNS int AS $f$ SELECT 1; $f$ LANGUAGE sql"
            ]
        );
        assert_eq!(split_statements("  ;\n"), Vec::<&str>::new());
        assert_eq!(
            split_statements("SELECT $1; SELECT E'\\';'"),
            vec!["SELECT $1", "SELECT E'\\';'"]
        );
    }

    #[test]
    fn tags_as_the_server_forms_them() {
        assert_eq!(status_message("select 1", 1), "SELECT 1");
        assert_eq!(status_message("INSERT INTO t VALUES (1)", 1), "INSERT 0 1");
        assert_eq!(
            status_message("with x as (select 1) update t set a = 1", 0),
            "UPDATE 0"
        );
        assert_eq!(status_message("/* hi */ DELETE FROM t", 3), "DELETE 3");
        assert_eq!(
            status_message("CREATE UNIQUE INDEX i ON t (a)", 0),
            "CREATE INDEX"
        );
        assert_eq!(
            status_message(
                "create or replace function f() returns int as $$ select 1 $$ language sql",
                0
            ),
            "CREATE FUNCTION"
        );
        assert_eq!(
            status_message("CREATE TABLE t2 AS SELECT * FROM t", 2),
            "SELECT 2"
        );
        assert_eq!(status_message("CREATE TABLE t (a int)", 0), "CREATE TABLE");
        assert_eq!(status_message("vacuum", 0), "VACUUM");
        assert_eq!(status_message("TRUNCATE t", 0), "TRUNCATE TABLE");
    }
}

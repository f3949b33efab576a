//! How `postgresql_set` compares values, as the collection does: sizes written with a
//! lower-case unit (`32mb`, `1b`) are upper-cased (PostgreSQL refuses them otherwise), and a
//! size in `B`/`kB`/`MB`/`GB`/`TB` compares as its number of bytes (`1024kB` is `1MB`).

/// A compared value: bytes, a plain number, or the text as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Compared {
    Int(i64),
    Float(f64),
    Text(String),
}

/// The task's value as the collection sends it: `32mb` → `32MB`, `1b` → `1B`, `True` → `on`,
/// `False` → `off`.
pub(super) fn normalise(value: &str) -> String {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let n = value.len();
    if n > 2
        && value.is_char_boundary(n - 2)
        && digits(&value[..n - 2])
        && matches!(&value[n - 2..], "mb" | "gb" | "tb")
    {
        return value.to_uppercase();
    }
    if n > 1 && value.ends_with('b') && digits(&value[..n - 1]) {
        return value.to_uppercase();
    }
    match value {
        "True" => "on".into(),
        "False" => "off".into(),
        v => v.to_owned(),
    }
}

/// The collection's `pretty_to_bytes`: a size with a byte unit as bytes, a bare number as a
/// number, anything else as written.
pub(super) fn pretty_to_bytes(v: &str) -> Compared {
    let text = || Compared::Text(v.to_owned());
    let Some(first) = v.chars().next() else {
        return text();
    };
    if !first.is_ascii_digit() {
        return text();
    }
    if !v.chars().last().is_some_and(char::is_alphabetic) {
        if let Ok(i) = v.parse::<i64>() {
            return Compared::Int(i);
        }
        return v.parse::<f64>().map_or_else(|_| text(), Compared::Float);
    }
    let num: String = v.chars().take_while(char::is_ascii_digit).collect();
    let Ok(num) = num.parse::<i64>() else {
        return text();
    };
    let tail: String = {
        let chars: Vec<char> = v.chars().collect();
        chars[chars.len().saturating_sub(2)..].iter().collect()
    };
    let scale = if tail.contains("kB") {
        Some(1_i64 << 10)
    } else if tail.contains("MB") {
        Some(1 << 20)
    } else if tail.contains("GB") {
        Some(1 << 30)
    } else if tail.contains("TB") {
        Some(1 << 40)
    } else if v.ends_with('B') {
        Some(1)
    } else {
        None
    };
    scale
        .and_then(|s| num.checked_mul(s))
        .map_or_else(text, Compared::Int)
}

/// Whether two values are the same setting as the collection compares them.
pub(super) fn same(a: &str, b: &str) -> bool {
    pretty_to_bytes(a) == pretty_to_bytes(b)
}

/// A `GUC_LIST_QUOTE` parameter's value with each element's quotes taken off
/// (`"a", b` → `a, b`).
pub(super) fn list_unquote(v: &str) -> String {
    v.split(',')
        .map(|e| e.trim_matches(|c| c == '"' || c == ' '))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parameters whose list elements the server quotes (`GUC_LIST_QUOTE`), by server version.
pub(super) fn is_list_quote(server_version: u32, name: &str) -> bool {
    const BASE: &[&str] = &[
        "local_preload_libraries",
        "search_path",
        "session_preload_libraries",
        "shared_preload_libraries",
        "temp_tablespaces",
    ];
    BASE.contains(&name) || (server_version >= 140000 && name == "unix_socket_directories")
}

/// The value as SQL for `ALTER SYSTEM SET name = ...`, as the collection writes it: a value
/// with commas is a list of quoted elements (except `*_command`, `*_prefix`, and
/// `unix_socket_directories` before 14), anything else one quoted string.
pub(super) fn sql_value(name: &str, value: &str, server_version: u32) -> String {
    let list = value.contains(',')
        && !name.ends_with("_command")
        && !name.ends_with("_prefix")
        && (server_version >= 140000 || name != "unix_socket_directories");
    let lit = |s: &str| format!("'{}'", s.replace('\'', "''"));
    if list {
        value
            .split(',')
            .map(|e| lit(e.trim()))
            .collect::<Vec<_>>()
            .join(",")
    } else {
        lit(value)
    }
}

/// A raw `pg_settings.setting` in bytes when its unit is `kB` or `MB` (the collection's
/// `value` result: `{value: 67108864, unit: b}`), with the unit it is then in.
pub(super) fn raw_in_bytes(
    setting: &str,
    unit: Option<&str>,
) -> (serde_json::Value, Option<String>) {
    let scale = match unit {
        Some("kB") => 1024_i64,
        Some("MB") => 1 << 20,
        _ => return (setting.into(), unit.map(str::to_owned)),
    };
    match setting.parse::<i64>() {
        Ok(n) if n > 0 => (n.saturating_mul(scale).into(), Some("b".into())),
        Ok(n) => (n.into(), Some("b".into())),
        Err(_) => (setting.into(), Some("b".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_compare_in_bytes_as_the_collection_does() {
        assert_eq!(normalise("32mb"), "32MB");
        assert_eq!(normalise("1b"), "1B");
        assert_eq!(normalise("1gb"), "1GB");
        assert_eq!(normalise("True"), "on");
        assert_eq!(normalise("mb"), "mb");
        assert_eq!(normalise("Europe/Paris"), "Europe/Paris");
        assert!(same("1024kB", "1MB"));
        assert!(same("4GB", "4096MB"));
        assert!(same("1B", "1B"));
        assert!(!same("1s", "1000ms"));
        assert!(same("100", "100"));
        assert!(!same("100", "101"));
        assert_eq!(pretty_to_bytes("0.5"), Compared::Float(0.5));
        assert_eq!(pretty_to_bytes(""), Compared::Text(String::new()));
        assert_eq!(pretty_to_bytes("on"), Compared::Text("on".into()));
        assert_eq!(
            pretty_to_bytes("99999999999TB"),
            Compared::Text("99999999999TB".into())
        );
    }

    #[test]
    fn lists_are_quoted_element_by_element() {
        assert_eq!(
            sql_value(
                "shared_preload_libraries",
                "pg_stat_statements, auto_explain",
                150000
            ),
            "'pg_stat_statements','auto_explain'"
        );
        assert_eq!(
            sql_value("archive_command", "cp %p /a,b/%f", 150000),
            "'cp %p /a,b/%f'"
        );
        assert_eq!(sql_value("work_mem", "O'Brien", 150000), "'O''Brien'");
        assert_eq!(list_unquote("\"$user\", public"), "$user, public");
        assert!(is_list_quote(150000, "unix_socket_directories"));
        assert!(!is_list_quote(130000, "unix_socket_directories"));
        assert_eq!(
            raw_in_bytes("4096", Some("kB")),
            (serde_json::json!(4194304), Some("b".into()))
        );
        assert_eq!(
            raw_in_bytes("-1", Some("kB")),
            (serde_json::json!(-1), Some("b".into()))
        );
        assert_eq!(raw_in_bytes("on", None), (serde_json::json!("on"), None));
    }
}

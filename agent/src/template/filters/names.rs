//! The names of the filters and tests templates can use, taken from the template
//! environment itself, so a check made before a run (the controller refuses unknown names
//! at parse time) always agrees with what renders.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use minijinja::value::{Rest, ValueOrKwargs};
use minijinja::{Environment, ErrorKind, State};

/// Ansible's builtin filters dr implements (`ansible.builtin.<name>` works as well).
const BUILTIN_FILTERS: &[&str] = &[
    "b64decode",
    "b64encode",
    "to_uuid",
    "to_json",
    "to_nice_json",
    "from_json",
    "to_yaml",
    "to_nice_yaml",
    "from_yaml",
    "from_yaml_all",
    "basename",
    "dirname",
    "expanduser",
    "expandvars",
    "path_join",
    "realpath",
    "relpath",
    "splitext",
    "win_basename",
    "win_dirname",
    "win_splitdrive",
    "commonpath",
    "normpath",
    "fileglob",
    "bool",
    "to_datetime",
    "strftime",
    "quote",
    "vault",
    "unvault",
    "md5",
    "sha1",
    "checksum",
    "password_hash",
    "hash",
    "regex_replace",
    "regex_escape",
    "regex_search",
    "regex_findall",
    "ternary",
    "random",
    "shuffle",
    "mandatory",
    "comment",
    "type_debug",
    "combine",
    "extract",
    "flatten",
    "dict2items",
    "items2dict",
    "subelements",
    "split",
    "groupby",
    "d",
    "default",
    "map",
    "select",
    "selectattr",
    "reject",
    "rejectattr",
    "log",
    "pow",
    "root",
    "unique",
    "intersect",
    "difference",
    "symmetric_difference",
    "union",
    "product",
    "permutations",
    "combinations",
    "human_readable",
    "human_to_bytes",
    "rekey_on_member",
    "zip",
    "zip_longest",
    "urldecode",
    "urlsplit",
    "int",
    "float",
    "join",
    "min",
    "max",
    "sum",
    "length",
    "first",
    "last",
    "list",
    "sort",
    "string",
    "lower",
    "upper",
    "capitalize",
    "title",
    "trim",
    "replace",
    "round",
    "abs",
    "count",
    "dictsort",
    "items",
    "reverse",
    "batch",
    "slice",
    "indent",
    "attr",
    "format",
    "tojson",
    "urlencode",
    "center",
    "filesizeformat",
    "pprint",
    "safe",
    "escape",
    "e",
    "striptags",
    "truncate",
    "wordcount",
    "wordwrap",
    "xmlattr",
    "forceescape",
];

/// Ansible's builtin tests dr implements.
const BUILTIN_TESTS: &[&str] = &[
    "failed",
    "failure",
    "succeeded",
    "success",
    "successful",
    "reachable",
    "unreachable",
    "timedout",
    "changed",
    "change",
    "skipped",
    "skip",
    "finished",
    "started",
    "match",
    "search",
    "regex",
    "version_compare",
    "version",
    "any",
    "all",
    "truthy",
    "falsy",
    "vault_encrypted",
    "vaulted_file",
    "defined",
    "undefined",
    "directory",
    "is_dir",
    "file",
    "is_file",
    "link",
    "is_link",
    "exists",
    "link_exists",
    "abs",
    "is_abs",
    "same_file",
    "is_same_file",
    "mount",
    "is_mount",
    "subset",
    "issubset",
    "superset",
    "issuperset",
    "contains",
    "nan",
    "isnan",
    "uri",
    "url",
    "urn",
    "boolean",
    "divisibleby",
    "eq",
    "equalto",
    "escaped",
    "even",
    "false",
    "filter",
    "float",
    "ge",
    "gt",
    "greaterthan",
    "in",
    "integer",
    "iterable",
    "le",
    "lower",
    "lt",
    "lessthan",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "sameas",
    "sequence",
    "string",
    "test",
    "true",
    "upper",
];

/// Filters of other collections, by the collection's FQCN prefix.
const COLLECTION_FILTERS: &[(&str, &[&str])] = &[
    ("community.general.", &["json_query"]),
    (
        "ansible.utils.",
        &[
            "ipaddr",
            "ipv4",
            "ipv6",
            "ipwrap",
            "ipmath",
            "ipsubnet",
            "network_in_usable",
        ],
    ),
    (
        "ansible.netcommon.",
        &["ipaddr", "ipv4", "ipv6", "ipwrap", "ipmath", "ipsubnet"],
    ),
];

/// Registers the fully qualified names (`ansible.builtin.to_json`,
/// `community.general.json_query`, ...) of the filters and tests registered before.
pub(super) fn add_qualified(env: &mut Environment<'static>) {
    let mut filters: Vec<(String, &'static str)> = Vec::new();
    for name in BUILTIN_FILTERS {
        filters.push((format!("ansible.builtin.{name}"), name));
        filters.push((format!("ansible.legacy.{name}"), name));
    }
    for (prefix, names) in COLLECTION_FILTERS {
        for name in *names {
            filters.push((format!("{prefix}{name}"), name));
        }
    }
    for (full, short) in filters {
        env.add_filter(full, move |state: &mut State, args: Rest<ValueOrKwargs>| {
            state.apply_filter(short, &args.into_values())
        });
    }
    for name in BUILTIN_TESTS {
        for prefix in ["ansible.builtin.", "ansible.legacy."] {
            env.add_test(
                format!("{prefix}{name}"),
                move |state: &mut State, args: Rest<ValueOrKwargs>| {
                    state.perform_test(name, &args.into_values())
                },
            );
        }
    }
}

/// Whether a template name is a filter or a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `value | name`
    Filter,
    /// `value is name`
    Test,
}

static KNOWN: LazyLock<Mutex<HashMap<(Kind, String), bool>>> = LazyLock::new(Default::default);

static PROBE: LazyLock<super::super::Templater> = LazyLock::new(super::super::Templater::new);

/// Whether templates can use the filter or test `name`, asked of the environment itself.
pub fn is_known(kind: Kind, name: &str) -> bool {
    if !name
        .split('.')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return false;
    }
    let key = (kind, name.to_owned());
    if let Some(k) = KNOWN.lock().ok().and_then(|m| m.get(&key).copied()) {
        return k;
    }
    let expr = match kind {
        Kind::Filter => format!("none | {name}"),
        Kind::Test => format!("none is {name}"),
    };
    let missing = match kind {
        Kind::Filter => ErrorKind::UnknownFilter,
        Kind::Test => ErrorKind::UnknownTest,
    };
    let known = match PROBE.env.compile_expression(&expr) {
        Err(e) => e.kind() != missing,
        Ok(e) => e.eval(()).err().is_none_or(|e| e.kind() != missing),
    };
    if let Ok(mut m) = KNOWN.lock() {
        m.insert(key, known);
    }
    known
}

/// The closest known name to an unknown one, for "did you mean".
pub fn suggest(kind: Kind, name: &str) -> Option<String> {
    let short = name.rsplit('.').next().unwrap_or(name);
    let mut candidates: Vec<&str> = match kind {
        Kind::Filter => BUILTIN_FILTERS
            .iter()
            .copied()
            .chain(
                COLLECTION_FILTERS
                    .iter()
                    .flat_map(|(_, n)| n.iter().copied()),
            )
            .collect(),
        Kind::Test => BUILTIN_TESTS.to_vec(),
    };
    candidates.retain(|c| is_known(kind, c));
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(short, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_is_registered() {
        let missing: Vec<&str> = BUILTIN_FILTERS
            .iter()
            .copied()
            .filter(|n| !is_known(Kind::Filter, n))
            .collect();
        assert!(
            missing.is_empty(),
            "filters listed but not registered: {missing:?}"
        );
        let missing: Vec<&str> = BUILTIN_TESTS
            .iter()
            .copied()
            .filter(|n| !is_known(Kind::Test, n))
            .collect();
        assert!(
            missing.is_empty(),
            "tests listed but not registered: {missing:?}"
        );
        for (prefix, names) in COLLECTION_FILTERS {
            for n in *names {
                assert!(
                    is_known(Kind::Filter, n) && is_known(Kind::Filter, &format!("{prefix}{n}")),
                    "{prefix}{n}"
                );
            }
        }
        assert!(is_known(Kind::Filter, "ansible.builtin.to_json"));
        assert!(!is_known(Kind::Filter, "to_jsn"));
        assert!(!is_known(Kind::Test, "sucess"));
        assert_eq!(suggest(Kind::Filter, "to_jsn").as_deref(), Some("to_json"));
        assert_eq!(suggest(Kind::Test, "sucess").as_deref(), Some("success"));
    }
}

//! PostgreSQL ACLs as text (`{postgres=arwdDxt/postgres,app=r*/postgres,=U/postgres}`):
//! parsed into items, and the difference between two states said in privilege names, for
//! the plan's message.

use std::collections::{BTreeMap, BTreeSet};

/// One `grantee=privs/grantor` item; an empty grantee is `PUBLIC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AclItem {
    pub grantee: String,
    /// Privilege letters, each with whether it carries the grant option.
    pub privs: Vec<(char, bool)>,
    pub grantor: String,
}

/// The name of a privilege letter (`r` → `SELECT`).
pub(super) fn priv_name(c: char) -> &'static str {
    match c {
        'r' => "SELECT",
        'w' => "UPDATE",
        'a' => "INSERT",
        'd' => "DELETE",
        'D' => "TRUNCATE",
        'x' => "REFERENCES",
        't' => "TRIGGER",
        'X' => "EXECUTE",
        'U' => "USAGE",
        'C' => "CREATE",
        'c' => "CONNECT",
        'T' => "TEMPORARY",
        's' => "SET",
        'A' => "ALTER SYSTEM",
        'm' => "MAINTAIN",
        _ => "?",
    }
}

/// Reads one role name: plain, or in double quotes with `""` for a quote.
fn name(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, stop: &[char]) -> String {
    let mut out = String::new();
    if chars.peek() == Some(&'"') {
        chars.next();
        while let Some(c) = chars.next() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    out.push('"');
                } else {
                    break;
                }
            } else {
                out.push(c);
            }
        }
        return out;
    }
    while let Some(&c) = chars.peek() {
        if stop.contains(&c) {
            break;
        }
        out.push(c);
        chars.next();
    }
    out
}

/// Parses an `aclitem[]` as text; `None` or an empty text is no ACL (the defaults).
pub(super) fn parse(text: Option<&str>) -> Result<Vec<AclItem>, String> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    let inner = t
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| format!("not an ACL: `{t}`"))?;
    let mut items = Vec::new();
    // Array elements with special characters are themselves double-quoted.
    let mut elems = Vec::new();
    let (mut cur, mut quoted, mut esc) = (String::new(), false, false);
    for c in inner.chars() {
        match (c, quoted, esc) {
            (_, true, true) => {
                cur.push(c);
                esc = false;
            }
            ('\\', true, false) => esc = true,
            ('"', _, false) => quoted = !quoted,
            (',', false, false) => elems.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        elems.push(cur);
    }
    for e in elems {
        let mut chars = e.chars().peekable();
        let grantee = name(&mut chars, &['=']);
        if chars.next() != Some('=') {
            return Err(format!("not an ACL item: `{e}`"));
        }
        let mut privs: Vec<(char, bool)> = Vec::new();
        while let Some(&c) = chars.peek() {
            if c == '/' {
                break;
            }
            chars.next();
            if c == '*' {
                if let Some(last) = privs.last_mut() {
                    *last = (last.0, true);
                }
            } else {
                privs.push((c, false));
            }
        }
        if chars.next() != Some('/') {
            return Err(format!("not an ACL item: `{e}`"));
        }
        let grantor = name(&mut chars, &[]);
        items.push(AclItem {
            grantee,
            privs,
            grantor,
        });
    }
    Ok(items)
}

/// Per grantee, its privileges (`SELECT`, `SELECT WITH GRANT OPTION`).
fn by_grantee(items: &[AclItem]) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in items {
        let who = if i.grantee.is_empty() {
            "PUBLIC".to_owned()
        } else {
            i.grantee.clone()
        };
        let set = m.entry(who).or_default();
        for (c, opt) in &i.privs {
            set.insert(priv_name(*c).to_owned());
            if *opt {
                set.insert(format!("{} WITH GRANT OPTION", priv_name(*c)));
            }
        }
    }
    m
}

/// What differs from `before` to `after`, one phrase per grantee
/// (`app: +SELECT, -UPDATE`); empty when they grant the same.
pub(super) fn diff(before: &[AclItem], after: &[AclItem]) -> Vec<String> {
    let (b, a) = (by_grantee(before), by_grantee(after));
    let empty = BTreeSet::new();
    let who: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    who.into_iter()
        .filter_map(|w| {
            let (x, y) = (b.get(w).unwrap_or(&empty), a.get(w).unwrap_or(&empty));
            let mut parts: Vec<String> = y.difference(x).map(|p| format!("+{p}")).collect();
            parts.extend(x.difference(y).map(|p| format!("-{p}")));
            (!parts.is_empty()).then(|| format!("{w}: {}", parts.join(", ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acls_parse_with_public_grant_options_and_quoted_names() {
        let items = parse(Some(
            r#"{postgres=arwdDxt/postgres,app=r*w/postgres,=U/postgres,"\"we ird\"=X/postgres}"#,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(items.len(), 4);
        assert_eq!(items[1].grantee, "app");
        assert_eq!(items[1].privs, vec![('r', true), ('w', false)]);
        assert_eq!(items[2].grantee, "");
        assert_eq!(items[3].grantee, "we ird");
        assert_eq!(items[3].grantor, "postgres");
        assert!(parse(None).unwrap_or_default().is_empty());
        assert!(parse(Some("nonsense")).is_err());
        assert!(parse(Some("{app}")).is_err());
    }

    #[test]
    fn the_difference_is_said_in_privilege_names() {
        let b = parse(Some("{postgres=arwdDxt/postgres,app=w/postgres}")).unwrap_or_default();
        let a = parse(Some(
            "{postgres=arwdDxt/postgres,app=r*/postgres,=r/postgres}",
        ))
        .unwrap_or_default();
        assert_eq!(
            diff(&b, &a),
            vec![
                "PUBLIC: +SELECT".to_owned(),
                "app: +SELECT, +SELECT WITH GRANT OPTION, -UPDATE".to_owned()
            ]
        );
        assert!(diff(&a, &a).is_empty());
    }
}

//! The statements `postgresql_privs` runs, written as the collection's `QueryBuilder`
//! writes them, and the catalog reads that say an object's privileges before and after.

use crate::pgclient::quote;

use super::ObjType;

/// A name in double quotes, `"` doubled.
pub(super) fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `ARRAY['a','b']::text[]`.
fn text_array(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("ARRAY[{}]::text[]", inner.join(","))
}

/// What the statement grants or revokes, as the collection's `manipulate_privs` composes it.
pub(super) struct Request<'a> {
    pub obj_type: ObjType,
    pub present: bool,
    /// Upper-case privilege names, sorted (none for `group`).
    pub privs: &'a [String],
    /// Objects (for `default_privs`: `TABLES`, `SEQUENCES`...).
    pub objs: &'a [String],
    /// `ALL TABLES IN SCHEMA` (from `ALL_IN_SCHEMA`).
    pub all_in_schema: Option<&'static str>,
    /// Roles, already quoted (`"app"`, `PUBLIC`).
    pub roles: &'a [String],
    pub target_roles: Option<&'a [String]>,
    pub grant_option: Option<bool>,
    pub schema: Option<&'a str>,
}

/// The statement(s), one per line.
pub(super) fn build(r: &Request<'_>) -> String {
    let qschema = r.schema.map(ident);
    let privs = r.privs.join(",").replace('_', " ");
    let set_what = match r.obj_type {
        ObjType::Group => r
            .objs
            .iter()
            .map(|o| ident(o))
            .collect::<Vec<_>>()
            .join(","),
        ObjType::DefaultPrivs => r.privs.join(","),
        t => {
            if let Some(all) = r.all_in_schema {
                format!("{privs} ON {all} {}", qschema.clone().unwrap_or_default())
            } else {
                let ids: Vec<String> = r
                    .objs
                    .iter()
                    .map(|o| match (t, &qschema) {
                        (ObjType::Function, q) => {
                            let (f, args) = o.split_once('(').unwrap_or((o, ")"));
                            let q = q.clone().unwrap_or_else(|| "None".into());
                            format!("{q}.{}({args}", ident(f))
                        }
                        (ObjType::Table | ObjType::Sequence, Some(q)) => {
                            format!("{q}.{}", ident(o))
                        }
                        _ => ident(o),
                    })
                    .collect();
                format!("{privs} ON {} {}", t.sql_word(), ids.join(","))
            }
        }
    };
    let whom = r.roles.join(",");
    let as_who = r
        .target_roles
        .map(|t| t.iter().map(|r| ident(r)).collect::<Vec<_>>().join(","));
    let in_schema = qschema
        .as_ref()
        .map(|q| format!(" IN SCHEMA {q}"))
        .unwrap_or_default();
    let alter = match &as_who {
        Some(who) => format!("ALTER DEFAULT PRIVILEGES FOR ROLE {who}{in_schema}"),
        None => format!("ALTER DEFAULT PRIVILEGES{in_schema}"),
    };
    let mut q: Vec<String> = Vec::new();
    let grant_option = |q: &mut Vec<String>| match r.grant_option {
        Some(true) => {
            let word = if r.obj_type == ObjType::Group {
                " WITH ADMIN OPTION;"
            } else {
                " WITH GRANT OPTION;"
            };
            if let Some(last) = q.last_mut() {
                last.push_str(word);
            }
        }
        Some(false) => {
            if let Some(last) = q.last_mut() {
                last.push(';');
            }
            match r.obj_type {
                ObjType::Group => {
                    q.push(format!("REVOKE ADMIN OPTION FOR {set_what} FROM {whom};"))
                }
                ObjType::DefaultPrivs => {}
                _ => q.push(format!("REVOKE GRANT OPTION FOR {set_what} FROM {whom};")),
            }
        }
        None => {
            if let Some(last) = q.last_mut() {
                last.push(';');
            }
        }
    };
    match (r.present, r.obj_type) {
        (true, ObjType::DefaultPrivs) => {
            for o in r.objs {
                q.push(format!("{alter} REVOKE ALL ON {o} FROM {whom};"));
            }
            for o in r.objs {
                q.push(format!("{alter} GRANT {set_what} ON {o} TO {whom}"));
                grant_option(&mut q);
            }
        }
        (true, _) => {
            q.push(format!("GRANT {set_what} TO {whom}"));
            grant_option(&mut q);
        }
        (false, ObjType::DefaultPrivs) => {
            for o in ["TABLES", "FUNCTIONS", "SEQUENCES", "TYPES"] {
                q.push(format!("{alter} REVOKE ALL ON {o} FROM {whom};"));
            }
        }
        (false, _) => q.push(format!("REVOKE {set_what} FROM {whom};")),
    }
    q.join("\n")
}

/// The catalog read whose rows are the objects' privileges (the collection's `get_*_acls`).
pub(super) fn status(t: ObjType, schema: Option<&str>, objs: &[String]) -> String {
    let names = text_array(objs);
    let in_schema = |col: &str| match schema {
        Some(s) => format!(" AND {col} = {}", quote(s)),
        None => String::new(),
    };
    match t {
        ObjType::Table | ObjType::Sequence => {
            let kinds = if t == ObjType::Table {
                "'r','p','v','m','f'"
            } else {
                "'S'"
            };
            format!(
                "SELECT relacl::text AS acl FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE relkind IN ({kinds}) AND relname = ANY ({names}){} ORDER BY relname",
                in_schema("nspname")
            )
        }
        ObjType::Function => {
            let funcs: Vec<String> = objs
                .iter()
                .map(|f| f.split('(').next().unwrap_or_default().to_owned())
                .collect();
            format!(
                "SELECT proacl::text AS acl FROM pg_catalog.pg_proc p \
                 JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                 WHERE proname = ANY ({}){} ORDER BY proname, proargtypes",
                text_array(&funcs),
                in_schema("nspname")
            )
        }
        ObjType::Schema => format!(
            "SELECT nspacl::text AS acl FROM pg_catalog.pg_namespace \
             WHERE nspname = ANY ({names}) ORDER BY nspname"
        ),
        ObjType::Database => format!(
            "SELECT datacl::text AS acl FROM pg_catalog.pg_database \
             WHERE datname = ANY ({names}) ORDER BY datname"
        ),
        ObjType::Group => format!(
            "SELECT concat_ws(' ', roleid, grantor, member, admin_option) AS acl \
             FROM pg_catalog.pg_auth_members am JOIN pg_catalog.pg_roles r ON r.oid = am.roleid \
             WHERE r.rolname = ANY ({names}) ORDER BY roleid, grantor, member"
        ),
        ObjType::DefaultPrivs => match schema {
            Some(s) => format!(
                "SELECT defaclacl::text AS acl FROM pg_default_acl a \
                 JOIN pg_namespace b ON a.defaclnamespace = b.oid WHERE b.nspname = {}",
                quote(s)
            ),
            None => "SELECT defaclacl::text AS acl FROM pg_default_acl".into(),
        },
    }
}

/// The objects `ALL_IN_SCHEMA` names (the collection's `get_all_*_in_schema`).
pub(super) fn all_in_schema(t: ObjType, schema: Option<&str>, pg_version: u32) -> String {
    let in_schema = match schema {
        Some(s) => format!(" AND nspname = {}", quote(s)),
        None => String::new(),
    };
    match t {
        ObjType::Function => {
            let kind = if pg_version >= 110000 {
                " AND p.prokind = 'f'"
            } else {
                ""
            };
            format!(
                "SELECT p.proname || '(' || oidvectortypes(p.proargtypes) || ')' AS obj \
                 FROM pg_catalog.pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                 WHERE true{in_schema}{kind}"
            )
        }
        _ => {
            let kinds = if t == ObjType::Sequence {
                "'S'"
            } else {
                "'r','v','m','p','f'"
            };
            format!(
                "SELECT relname::text AS obj FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE relkind IN ({kinds}){in_schema}"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    fn req<'a>(
        t: ObjType,
        privs: &'a [String],
        objs: &'a [String],
        roles: &'a [String],
    ) -> Request<'a> {
        Request {
            obj_type: t,
            present: true,
            privs,
            objs,
            all_in_schema: None,
            roles,
            target_roles: None,
            grant_option: None,
            schema: Some("public"),
        }
    }

    #[test]
    fn statements_read_as_the_collection_writes_them() {
        let (p, o, r) = (s(&["INSERT", "SELECT"]), s(&["books"]), s(&["\"reader\""]));
        let mut q = req(ObjType::Table, &p, &o, &r);
        assert_eq!(
            build(&q),
            "GRANT INSERT,SELECT ON table \"public\".\"books\" TO \"reader\";"
        );
        q.grant_option = Some(false);
        assert_eq!(
            build(&q),
            "GRANT INSERT,SELECT ON table \"public\".\"books\" TO \"reader\";\nREVOKE GRANT OPTION FOR INSERT,SELECT ON table \"public\".\"books\" FROM \"reader\";"
        );
        q.present = false;
        q.all_in_schema = Some("ALL TABLES IN SCHEMA");
        assert_eq!(
            build(&q),
            "REVOKE INSERT,SELECT ON ALL TABLES IN SCHEMA \"public\" FROM \"reader\";"
        );
        let f = s(&["add(int, int)"]);
        let p = s(&["EXECUTE"]);
        let q = req(ObjType::Function, &p, &f, &r);
        assert_eq!(
            build(&q),
            "GRANT EXECUTE ON function \"public\".\"add\"(int, int) TO \"reader\";"
        );
        let g = s(&["admins"]);
        let mut q = req(ObjType::Group, &[], &g, &r);
        q.schema = None;
        q.grant_option = Some(true);
        assert_eq!(
            build(&q),
            "GRANT \"admins\" TO \"reader\" WITH ADMIN OPTION;"
        );
        let d = s(&["TABLES"]);
        let p = s(&["SELECT"]);
        let t = s(&["owner"]);
        let mut q = req(ObjType::DefaultPrivs, &p, &d, &r);
        q.target_roles = Some(&t);
        assert_eq!(
            build(&q),
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"owner\" IN SCHEMA \"public\" REVOKE ALL ON TABLES FROM \"reader\";\nALTER DEFAULT PRIVILEGES FOR ROLE \"owner\" IN SCHEMA \"public\" GRANT SELECT ON TABLES TO \"reader\";"
        );
        let db = s(&["app\"db"]);
        let p = s(&["CONNECT"]);
        let mut q = req(ObjType::Database, &p, &db, &r);
        q.schema = None;
        assert_eq!(
            build(&q),
            "GRANT CONNECT ON database \"app\"\"db\" TO \"reader\";"
        );
    }
}

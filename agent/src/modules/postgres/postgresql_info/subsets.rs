//! Each `postgresql_info` subset: its catalog reads, and the values shaped as the
//! collection shapes them (empty strings where it writes `''` for NULL).

use serde_json::{Map, Value as Json};

use super::super::ModuleError;
use super::super::pg_login::{self, Login};
use crate::pgclient::Session;

type Row = Map<String, Json>;

fn rows(s: &mut Session, q: &str) -> Result<Vec<Row>, ModuleError> {
    s.rows(q)
        .map_err(|e| ModuleError::Failed(format!("Cannot execute SQL '{q}': {e}")))
}

fn text(r: &Row, k: &str) -> Json {
    match r.get(k) {
        Some(Json::Null) | None => Json::from(""),
        Some(v) => v.clone(),
    }
}

fn get(r: &Row, k: &str) -> Json {
    r.get(k).cloned().unwrap_or(Json::Null)
}

fn name_of(r: &Row, k: &str) -> String {
    r.get(k)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn obj(pairs: Vec<(&str, Json)>) -> Json {
    Json::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

pub(super) fn version(s: &mut Session) -> Result<Json, ModuleError> {
    let r = rows(
        s,
        "SELECT current_setting('server_version_num') AS num, version() AS raw",
    )?;
    let r = r.first().cloned().unwrap_or_default();
    let num = name_of(&r, "num");
    let part = |a: usize, b: usize| {
        num.get(a..b)
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (major, minor, patch) = (part(0, 2), part(2, 4), part(4, 6));
    let mut v = Map::new();
    v.insert("major".into(), major.into());
    if minor == 0 {
        v.insert("minor".into(), patch.into());
        v.insert("patch".into(), Json::Null);
        v.insert("full".into(), format!("{major}.{patch}").into());
    } else {
        v.insert("minor".into(), minor.into());
        v.insert("patch".into(), patch.into());
        v.insert("full".into(), format!("{major}.{minor}.{patch}").into());
    }
    v.insert("raw".into(), get(&r, "raw"));
    Ok(Json::Object(v))
}

pub(super) fn in_recovery(s: &mut Session) -> Result<Json, ModuleError> {
    let r = rows(s, "SELECT pg_is_in_recovery() AS r")?;
    Ok(r.first().map_or(Json::Null, |r| get(r, "r")))
}

pub(super) fn tablespaces(s: &mut Session) -> Result<Json, ModuleError> {
    let mut out = Map::new();
    for r in rows(
        s,
        "SELECT s.spcname::text AS spcname, pg_catalog.pg_get_userbyid(s.spcowner)::text AS rolname, \
         s.spcacl::text AS spcacl, s.spcoptions FROM pg_tablespace AS s",
    )? {
        let opts = match get(&r, "spcoptions") {
            Json::Null => Json::Array(Vec::new()),
            v => v,
        };
        out.insert(
            name_of(&r, "spcname"),
            obj(vec![
                ("spcowner", get(&r, "rolname")),
                ("spcacl", text(&r, "spcacl")),
                ("spcoptions", opts),
            ]),
        );
    }
    Ok(Json::Object(out))
}

pub(super) fn roles(s: &mut Session) -> Result<Json, ModuleError> {
    let mut out = Map::new();
    for r in rows(
        s,
        "SELECT r.rolname::text AS rolname, r.rolsuper, r.rolcanlogin, r.rolvaliduntil::text AS rolvaliduntil, \
         ARRAY(SELECT b.rolname::text FROM pg_catalog.pg_auth_members AS m \
         JOIN pg_catalog.pg_roles AS b ON (m.roleid = b.oid) WHERE m.member = r.oid) AS memberof \
         FROM pg_catalog.pg_roles AS r WHERE r.rolname !~ '^pg_'",
    )? {
        let member_of = match get(&r, "memberof") {
            Json::Null => Json::Array(Vec::new()),
            v => v,
        };
        out.insert(
            name_of(&r, "rolname"),
            obj(vec![
                ("superuser", get(&r, "rolsuper")),
                ("canlogin", get(&r, "rolcanlogin")),
                ("valid_until", text(&r, "rolvaliduntil")),
                ("member_of", member_of),
            ]),
        );
    }
    Ok(Json::Object(out))
}

pub(super) fn repl_slots(s: &mut Session) -> Result<Json, ModuleError> {
    let mut out = Map::new();
    for r in rows(
        s,
        "SELECT slot_name::text AS slot_name, plugin::text AS plugin, slot_type, database::text AS database, active \
         FROM pg_replication_slots",
    )? {
        out.insert(
            name_of(&r, "slot_name"),
            obj(vec![
                ("plugin", get(&r, "plugin")),
                ("slot_type", get(&r, "slot_type")),
                ("database", get(&r, "database")),
                ("active", get(&r, "active")),
            ]),
        );
    }
    Ok(Json::Object(out))
}

pub(super) fn replications(s: &mut Session) -> Result<Json, ModuleError> {
    let mut out = Map::new();
    for r in rows(
        s,
        "SELECT r.pid, pg_catalog.pg_get_userbyid(r.usesysid)::text AS rolname, r.application_name, \
         r.client_addr::text AS client_addr, r.client_hostname, r.backend_start::text AS backend_start, r.state \
         FROM pg_stat_replication AS r",
    )? {
        out.insert(
            get(&r, "pid").to_string(),
            obj(vec![
                ("usename", get(&r, "rolname")),
                ("app_name", text(&r, "application_name")),
                ("client_addr", get(&r, "client_addr")),
                ("client_hostname", text(&r, "client_hostname")),
                ("backend_start", get(&r, "backend_start")),
                ("state", get(&r, "state")),
            ]),
        );
    }
    Ok(Json::Object(out))
}

/// The settings, and the names of those waiting for a restart.
pub(super) fn settings(s: &mut Session) -> Result<(Json, Json), ModuleError> {
    let mut out = Map::new();
    let mut pending = Vec::new();
    for r in rows(
        s,
        "SELECT name, setting, unit, context, vartype, boot_val, min_val, max_val, sourcefile, \
         pending_restart, current_setting(name) AS pretty FROM pg_settings",
    )? {
        let name = name_of(&r, "name");
        let setting = name_of(&r, "setting");
        let unit = name_of(&r, "unit");
        let scale: Option<i64> = match unit.as_str() {
            "kB" => Some(1024),
            "8kB" => Some(8192),
            "MB" => Some(1 << 20),
            _ => None,
        };
        let mut m = Map::new();
        m.insert("setting".into(), setting.clone().into());
        m.insert("unit".into(), unit.into());
        m.insert("context".into(), get(&r, "context"));
        m.insert("vartype".into(), get(&r, "vartype"));
        for k in ["boot_val", "min_val", "max_val", "sourcefile"] {
            m.insert(k.into(), text(&r, k));
        }
        m.insert("pretty_val".into(), get(&r, "pretty"));
        if let Some(scale) = scale {
            let bytes = setting
                .parse::<i64>()
                .unwrap_or(0)
                .saturating_mul(scale)
                .max(0);
            m.insert("val_in_bytes".into(), bytes.into());
        }
        let p = get(&r, "pending_restart");
        if p == Json::Bool(true) {
            pending.push(Json::from(name.clone()));
        }
        m.insert("pending_restart".into(), p);
        out.insert(name, Json::Object(m));
    }
    Ok((Json::Object(out), Json::Array(pending)))
}

/// Extensions of the connected database, their versions split as the collection splits them.
fn extensions(s: &mut Session) -> Result<Json, ModuleError> {
    let mut out = Map::new();
    for r in rows(
        s,
        "SELECT e.extname::text AS extname, e.extversion, n.nspname::text AS nspname, c.description \
         FROM pg_catalog.pg_extension AS e LEFT JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace \
         LEFT JOIN pg_catalog.pg_description AS c ON c.objoid = e.oid \
         AND c.classoid = 'pg_catalog.pg_extension'::pg_catalog.regclass",
    )? {
        let raw = name_of(&r, "extversion");
        let (major, minor) = ext_version(&raw);
        out.insert(
            name_of(&r, "extname"),
            obj(vec![
                (
                    "extversion",
                    obj(vec![
                        ("major", major.map_or(Json::Null, Json::from)),
                        ("minor", minor.map_or(Json::Null, Json::from)),
                        ("raw", raw.into()),
                    ]),
                ),
                ("nspname", get(&r, "nspname")),
                ("description", get(&r, "description")),
            ]),
        );
    }
    Ok(Json::Object(out))
}

/// `1.6` → (1, 6); `2-1.0` → (2, 1); a version not of digits, dots and dashes → none.
pub(super) fn ext_version(raw: &str) -> (Option<u64>, Option<u64>) {
    let ok = !raw.is_empty()
        && raw
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && raw.split('.').all(|p| {
            let p = p.trim_start_matches(|c: char| c.is_ascii_digit());
            let p = p.trim_start_matches('-');
            p.chars().all(|c| c.is_ascii_digit()) && !p.starts_with('-')
        })
        && raw.starts_with(|c: char| c.is_ascii_digit())
        && raw.ends_with(|c: char| c.is_ascii_digit());
    if !ok {
        return (None, None);
    }
    let parts: Vec<&str> = raw.split('.').collect();
    let (a, b): (String, Option<String>) = if parts[0].contains('-') {
        let mut d = parts[0].split('-');
        (
            d.next().unwrap_or_default().to_owned(),
            d.next().map(str::to_owned),
        )
    } else {
        (
            parts[0].to_owned(),
            parts
                .get(1)
                .map(|p| p.split('-').next().unwrap_or_default().to_owned()),
        )
    };
    (
        a.parse().ok(),
        b.filter(|b| !b.is_empty()).and_then(|b| b.parse().ok()),
    )
}

/// `{name: {owner_key: owner, acl_key: acl}}` from rows `n`, `o`, `a`.
fn owned_acl(s: &mut Session, q: &str, owner: &str, acl: &str) -> Result<Json, ModuleError> {
    let mut out = Map::new();
    for r in rows(s, q)? {
        out.insert(
            name_of(&r, "n"),
            obj(vec![(owner, get(&r, "o")), (acl, text(&r, "a"))]),
        );
    }
    Ok(Json::Object(out))
}

fn publications(s: &mut Session) -> Result<Json, ModuleError> {
    let mut out = Map::new();
    for r in rows(
        s,
        "SELECT p.pubname::text AS pubname, r.rolname::text AS ownername, p.puballtables, p.pubinsert, \
         p.pubupdate, p.pubdelete, p.pubtruncate FROM pg_catalog.pg_publication AS p \
         JOIN pg_catalog.pg_roles AS r ON p.pubowner = r.oid",
    )? {
        let mut m = r.clone();
        m.remove("pubname");
        out.insert(name_of(&r, "pubname"), Json::Object(m));
    }
    Ok(Json::Object(out))
}

pub(super) fn databases(
    s: &mut Session,
    login: &Login,
    session_role: Option<&str>,
) -> Result<Json, ModuleError> {
    let mut out = Map::new();
    let list = rows(
        s,
        "SELECT d.datname::text AS datname, pg_catalog.pg_get_userbyid(d.datdba)::text AS username, \
         pg_catalog.pg_encoding_to_char(d.encoding)::text AS encoding, d.datcollate::text AS datcollate, \
         d.datctype::text AS datctype, pg_catalog.array_to_string(d.datacl, E'\\n') AS aclstring, \
         CASE WHEN pg_catalog.has_database_privilege(d.datname, 'CONNECT') \
         THEN pg_catalog.pg_database_size(d.datname)::text ELSE 'No Access' END AS dbsize \
         FROM pg_catalog.pg_database AS d WHERE d.datname != 'template0'",
    )?;
    let subscriptions = rows(
        s,
        "SELECT s.subname::text AS subname, d.datname::text AS dbname, r.rolname::text AS ownername, \
         s.subenabled, s.subconninfo, s.subslotname::text AS subslotname, s.subpublications \
         FROM pg_catalog.pg_subscription s JOIN pg_catalog.pg_database d ON s.subdbid = d.oid \
         JOIN pg_catalog.pg_roles AS r ON s.subowner = r.oid",
    )
    .unwrap_or_default();
    for r in list {
        let db = name_of(&r, "datname");
        let mut m = Map::new();
        m.insert("owner".into(), get(&r, "username"));
        m.insert("encoding".into(), get(&r, "encoding"));
        m.insert("collate".into(), get(&r, "datcollate"));
        m.insert("ctype".into(), get(&r, "datctype"));
        m.insert("access_priv".into(), text(&r, "aclstring"));
        m.insert("size".into(), get(&r, "dbsize"));
        match pg_login::open(login, Some(&db), session_role) {
            Err(_) => {
                for k in ["namespaces", "extensions", "languages"] {
                    m.insert(k.into(), Json::Object(Map::new()));
                }
                m.insert("error".into(), "Could not connect to the database.".into());
            }
            Ok(mut d) => {
                m.insert(
                    "namespaces".into(),
                    owned_acl(
                        &mut d,
                        "SELECT n.nspname::text AS n, pg_catalog.pg_get_userbyid(n.nspowner)::text AS o, \
                         n.nspacl::text AS a FROM pg_catalog.pg_namespace AS n",
                        "nspowner",
                        "nspacl",
                    )?,
                );
                m.insert("extensions".into(), extensions(&mut d)?);
                m.insert(
                    "languages".into(),
                    owned_acl(
                        &mut d,
                        "SELECT l.lanname::text AS n, pg_catalog.pg_get_userbyid(l.lanowner)::text AS o, \
                         l.lanacl::text AS a FROM pg_language AS l",
                        "lanowner",
                        "lanacl",
                    )?,
                );
                m.insert("publications".into(), publications(&mut d)?);
                let mut subs = Map::new();
                for sr in subscriptions
                    .iter()
                    .filter(|sr| name_of(sr, "dbname") == db)
                {
                    let mut x = sr.clone();
                    x.remove("subname");
                    x.remove("dbname");
                    // The connection string can hold a password: never reported.
                    x.remove("subconninfo");
                    subs.insert(name_of(sr, "subname"), Json::Object(x));
                }
                m.insert("subscriptions".into(), Json::Object(subs));
            }
        }
        out.insert(db, Json::Object(m));
    }
    Ok(Json::Object(out))
}

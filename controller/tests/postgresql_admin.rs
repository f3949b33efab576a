//! The native `community.postgresql` administration modules through `dr`: `postgresql_set`,
//! `postgresql_privs`, `postgresql_ext`, `postgresql_pg_hba` and `postgresql_info`. A plan
//! changes nothing and says what would run; an apply converges; a second apply changes
//! nothing; forms dr does not run are refused where they are written. Against a real
//! PostgreSQL started by the test (`apt-get install postgresql`; without it the test fails).

mod util;

use util::pg::Cluster;
use util::{Dr, write_tree};

fn playbook(c: &Cluster, hba: &str) -> String {
    let login = format!(
        "login_unix_socket: {}\n        port: {}",
        c.sock.display(),
        c.port
    );
    format!(
        r#"- name: administration
  hosts: all
  gather_facts: false
  tasks:
    - name: more memory for sorts
      community.postgresql.postgresql_set:
        {login}
        name: work_mem
        value: 32mb
    - name: readers read
      community.postgresql.postgresql_privs:
        {login}
        login_db: shop
        type: table
        objs: ALL_IN_SCHEMA
        privs: SELECT
        roles: reader
    - name: case-blind text
      community.postgresql.postgresql_ext:
        {login}
        login_db: shop
        name: citext
        version: latest
    - name: the app network
      community.postgresql.postgresql_pg_hba:
        dest: {hba}
        contype: host
        databases: shop
        users: reader
        source: 10.20.0.0/16
        method: scram-sha-256
    - name: a file of the cluster's user
      community.postgresql.postgresql_pg_hba:
        dest: {hba}.new
        create: true
        contype: local
        users: postgres
        method: peer
      become: true
      become_user: postgres
    - name: what the server holds
      community.postgresql.postgresql_info:
        {login}
        filter: version,databases,roles,settings
      register: info
    - name: show
      debug:
        msg: "major={{{{ info.version.major }}}} owner={{{{ info.databases.shop.owner }}}} work_mem={{{{ info.settings.work_mem.pretty_val }}}} reader_login={{{{ info.roles.reader.canlogin }}}}"
"#
    )
}

#[test]
fn plan_changes_nothing_apply_converges_and_a_second_apply_changes_nothing() {
    let c = Cluster::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cwd = dir.path();
    let hba = cwd.join("pg_hba.conf");
    let hba_text = "local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n";
    std::fs::write(&hba, hba_text).unwrap_or_else(|e| panic!("{e}"));
    write_tree(
        cwd,
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    db-01:\n      ansible_connection: local\n",
            ),
            ("p.yml", &playbook(&c, &hba.display().to_string())),
        ],
    );
    c.psql_out("CREATE ROLE reader");
    c.psql_out("CREATE DATABASE shop");
    c.psql_out_db("shop", "CREATE TABLE books (id int)");
    let run = |cmd: &str| Dr::new(cwd, &[cmd, "p.yml", "-i", "inv.yml"]).run();
    run("plan")
        .code(2)
        .stdout_has("would run: ALTER SYSTEM SET work_mem = '32MB'; SELECT pg_reload_conf()")
        .stdout_has("would run: GRANT SELECT ON ALL TABLES IN SCHEMA \"public\" TO \"reader\";")
        .stdout_has("would run: CREATE EXTENSION \"citext\"")
        .stdout_has("Adding rule host\tshop\treader\t10.20.0.0/16\tscram-sha-256")
        .stdout_has("work_mem=4MB");
    assert_eq!(c.psql_out("SHOW work_mem"), "4MB");
    assert_eq!(
        c.psql_out_db(
            "shop",
            "SELECT coalesce(relacl::text, '') FROM pg_class WHERE relname = 'books'"
        ),
        ""
    );
    assert_eq!(
        c.psql_out_db(
            "shop",
            "SELECT count(*) FROM pg_extension WHERE extname = 'citext'"
        ),
        "0"
    );
    assert_eq!(
        std::fs::read_to_string(&hba).unwrap_or_default(),
        hba_text,
        "the plan wrote pg_hba.conf"
    );
    assert!(
        !cwd.join("pg_hba.conf.new").exists(),
        "the plan created a file"
    );

    run("apply")
        .code(0)
        .stdout_has("owner=postgres work_mem=32MB reader_login=False");
    assert_eq!(c.psql_out("SHOW work_mem"), "32MB");
    assert!(
        c.psql_out_db(
            "shop",
            "SELECT relacl::text FROM pg_class WHERE relname = 'books'"
        )
        .contains("reader=r/postgres")
    );
    assert!(
        std::fs::read_to_string(&hba)
            .unwrap_or_default()
            .contains("host\tshop\treader\t10.20.0.0/16\tscram-sha-256")
    );

    // Created for `become_user: postgres`, as Ansible would write it.
    use std::os::unix::fs::MetadataExt;
    let new = cwd.join("pg_hba.conf.new");
    let owner = std::fs::metadata(&new).map(|m| m.uid()).unwrap_or(0);
    let postgres = std::process::Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    assert_eq!(owner.to_string(), postgres);
    assert_eq!(
        std::fs::read_to_string(&new).unwrap_or_default(),
        "local\tall\tpostgres\tpeer"
    );

    let json = Dr::new(
        cwd,
        &["apply", "p.yml", "-i", "inv.yml", "--format", "json"],
    )
    .run()
    .json();
    let changed = json.to_string().matches("\"changed\":true").count();
    assert_eq!(changed, 0, "a second apply changed something: {json}");
}

#[test]
fn privilege_types_dr_does_not_run_are_refused_where_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cwd = dir.path();
    write_tree(
        cwd,
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    db-01:\n      ansible_connection: local\n",
            ),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - community.postgresql.postgresql_privs:\n        login_db: shop\n        type: language\n        objs: plpgsql\n        privs: USAGE\n        roles: reader\n",
            ),
        ],
    );
    Dr::new(cwd, &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("`type: language` is not supported by dr's postgresql_privs")
        .stderr_has("--> p.yml:6:15");
}

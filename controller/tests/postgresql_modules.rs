//! The native `community.postgresql` modules through `dr`: a plan connects but sends no SQL
//! and says what would run; an apply runs it and a second apply changes nothing; options dr
//! does not support are refused where they are written. Against a real PostgreSQL started
//! by the test (`apt-get install postgresql`; without it the test fails).

mod util;

use util::pg::Cluster;
use util::{Dr, write_tree};

fn playbook(c: &Cluster) -> String {
    let sock = c.sock.display();
    let port = c.port;
    format!(
        r#"- name: database for the app
  hosts: all
  gather_facts: false
  tasks:
    - name: the role
      community.postgresql.postgresql_user:
        login_unix_socket: {sock}
        port: {port}
        name: cdr_app
        role_attr_flags: LOGIN
    - name: the database
      community.postgresql.postgresql_db:
        login_unix_socket: {sock}
        port: {port}
        name: cdr
        owner: cdr_app
    - name: the table
      community.postgresql.postgresql_query:
        login_unix_socket: {sock}
        port: {port}
        db: cdr
        query: CREATE TABLE IF NOT EXISTS calls (id int PRIMARY KEY)
      changed_when: false
    - name: a row
      community.postgresql.postgresql_query:
        login_unix_socket: {sock}
        port: {port}
        db: cdr
        query: INSERT INTO calls VALUES (%s) ON CONFLICT DO NOTHING
        positional_args: [1]
    - name: reachable
      community.postgresql.postgresql_ping:
        login_unix_socket: {sock}
        port: {port}
      register: ping
    - name: show
      debug:
        msg: "available={{{{ ping.is_available }}}} major={{{{ ping.server_version.major }}}}"
"#
    )
}

#[test]
fn plan_sends_nothing_apply_converges_and_a_second_apply_changes_nothing() {
    let c = Cluster::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cwd = dir.path();
    write_tree(
        cwd,
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    db-01:\n      ansible_connection: local\n",
            ),
            ("p.yml", &playbook(&c)),
        ],
    );
    let base = ["p.yml", "-i", "inv.yml"];
    let with = |cmd: &str| {
        let mut a = vec![cmd];
        a.extend(base);
        Dr::new(cwd, &a).run()
    };
    // The database exists, owned by `postgres` (a plan's queries need it: as in Ansible's
    // check mode, nothing creates it before they connect).
    c.psql_out("CREATE DATABASE cdr");
    // The plan: the role would be created, the owner changed, the INSERT run; nothing is.
    with("plan")
        .code(2)
        .stdout_has("would run: CREATE USER \"cdr_app\" LOGIN")
        .stdout_has("would run: ALTER DATABASE \"cdr\" OWNER TO \"cdr_app\"")
        .stdout_has("would run: INSERT INTO calls VALUES (1) ON CONFLICT DO NOTHING");
    assert_eq!(
        c.psql_out("SELECT count(*) FROM pg_roles WHERE rolname = 'cdr_app'"),
        "0"
    );
    with("apply").code(0).stdout_has("available=True major=15");
    assert_eq!(c.psql_out_db("cdr", "SELECT count(*) FROM calls"), "1");
    let again = with("apply");
    again.code(0);
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
fn unsupported_options_are_refused_where_written() {
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
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - community.postgresql.postgresql_query:\n        path_to_script: /tmp/x.sql\n",
            ),
        ],
    );
    Dr::new(cwd, &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has(
            "module `community.postgresql.postgresql_query` has no argument `path_to_script` in dr",
        )
        .stderr_has("--> p.yml:5:9");
}

/// `become_user: X` on a PostgreSQL task (how Ansible roles reach a server whose
/// `pg_hba.conf` says `peer`): the server sees X as the socket's peer, as it sees the
/// module's user in Ansible. With a password and no `become_user`, root stays root and the
/// server refuses it.
#[test]
fn become_user_is_the_peer_the_server_authenticates() {
    assert!(
        util::pg::is_root(),
        "this test switches identities: run it as root (CI does)"
    );
    let c = Cluster::start();
    c.psql_out("CREATE ROLE nobody LOGIN PASSWORD 'unused'");
    c.hba_first("local all nobody peer");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let task = |extra: &str| {
        format!(
            "    - community.postgresql.postgresql_query:\n        login_unix_socket: {}\n        port: {}\n        login_user: nobody\n        login_password: unused\n        db: postgres\n        query: SELECT session_user AS who\n      register: q\n{extra}    - debug: {{msg: \"who={{{{ q.query_result[0].who }}}}\"}}\n",
            c.sock.display(),
            c.port
        )
    };
    let play = |tasks: String| format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}");
    write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    db-01:\n      ansible_connection: local\n",
            ),
            (
                "as.yml",
                &play(task("      become: true\n      become_user: nobody\n")),
            ),
            ("root.yml", &play(task(""))),
        ],
    );
    Dr::new(dir.path(), &["apply", "as.yml", "-i", "inv.yml"])
        .run()
        .code(0)
        .stdout_has("who=nobody");
    Dr::new(dir.path(), &["apply", "root.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has("Peer authentication failed for user \"nobody\"");
}

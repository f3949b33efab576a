//! The akira topology: which hosts exist, what they run, their fixed addresses.

/// What a host runs when the test bed comes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The PostgreSQL primary.
    DbPrimary,
    /// A streaming replica of the host named.
    DbReplica {
        /// The primary it replicates from.
        primary: &'static str,
    },
    /// The management host with the compose project `/opt/akira`.
    Management,
    /// The signaling host.
    Signaling,
    /// The backup host: PostgreSQL's client tools and the dump directory
    /// [`BACKUP_DIR`], empty until a backup runs.
    Backup,
}

/// One host of the topology.
#[derive(Debug, Clone, Copy)]
pub struct HostSpec {
    /// Its name: host name, DNS name on the test bed network, inventory name.
    pub name: &'static str,
    /// What it runs.
    pub role: Role,
    /// The last octet of its address in the test bed's /24.
    pub octet: u8,
    /// Its inventory groups.
    pub groups: &'static [&'static str],
}

/// Primary database host.
pub const DB_01: &str = "akira-db-01";
/// Replica database host.
pub const DB_02: &str = "akira-db-02";
/// Management host.
pub const MGMT_01: &str = "akira-mgmt-01";
/// Signaling host.
pub const SIG_01: &str = "akira-sig-01";
/// Backup host.
pub const BACKUP_01: &str = "akira-backup-01";
/// Where the backup host keeps the akira database's dumps, one directory per dump.
pub const BACKUP_DIR: &str = "/srv/backup/akira";

/// The hosts, in start order.
pub const HOSTS: &[HostSpec] = &[
    HostSpec {
        name: DB_01,
        role: Role::DbPrimary,
        octet: 11,
        groups: &["database"],
    },
    HostSpec {
        name: DB_02,
        role: Role::DbReplica { primary: DB_01 },
        octet: 12,
        groups: &["database"],
    },
    HostSpec {
        name: MGMT_01,
        role: Role::Management,
        octet: 21,
        groups: &["management"],
    },
    HostSpec {
        name: SIG_01,
        role: Role::Signaling,
        octet: 31,
        groups: &["signaling"],
    },
    HostSpec {
        name: BACKUP_01,
        role: Role::Backup,
        octet: 41,
        groups: &["backup"],
    },
];

/// Inventory groups in recovery order; `stateful` has no host in this topology. The
/// backup host is restored from nothing: it holds only what later backups write.
/// `pgbouncer` is empty unless a drill puts PgBouncer in front of the primary; the
/// `pg_auto_failover_*` groups unless a drill builds a pg_auto_failover formation.
pub const GROUPS: &[&str] = &[
    "database",
    "stateful",
    "management",
    "signaling",
    "backup",
    PGBOUNCER_GROUP,
    PGAF_MONITOR_GROUP,
    PGAF_NODES_GROUP,
];

/// The last octet of the apt mirror's address.
pub const APT_MIRROR_OCTET: u8 = 5;

/// Database and user names and the test passwords.
pub mod db {
    /// The application database.
    pub const DATABASE: &str = "akira";
    /// The application user.
    pub const APP_USER: &str = "app";
    /// The application user's password.
    pub const APP_PASSWORD: &str = "akira-app-secret";
    /// The replication user.
    pub const REPLICATION_USER: &str = "replicator";
    /// The replication user's password.
    pub const REPLICATION_PASSWORD: &str = "akira-replication-secret";
    /// PostgreSQL's port.
    pub const PORT: u16 = 5432;
}

/// Where the compose project lives on the management host.
pub const COMPOSE_DIR: &str = "/opt/akira";
/// The backend's HTTP port.
pub const BACKEND_PORT: u16 = 8080;

/// The spec of the host named `name`.
pub fn spec(name: &str) -> Option<&'static HostSpec> {
    HOSTS.iter().find(|h| h.name == name)
}

/// `DATABASE_URL` pointing at `host`.
pub fn database_url(host: &str) -> String {
    format!(
        "postgres://{}:{}@{host}:{}/{}",
        db::APP_USER,
        db::APP_PASSWORD,
        db::PORT,
        db::DATABASE
    )
}

/// The inventory group of the PgBouncer hosts (none unless a drill deploys one).
pub const PGBOUNCER_GROUP: &str = "pgbouncer";
/// PgBouncer's port (`pgbouncer_port`).
pub const PGBOUNCER_PORT: u16 = 6432;
/// The inventory group of the pg_auto_failover monitor (none unless a drill builds the
/// formation).
pub const PGAF_MONITOR_GROUP: &str = "pg_auto_failover_monitor";
/// The inventory group of the pg_auto_failover data nodes, the first one primary at
/// creation (none unless a drill builds the formation).
pub const PGAF_NODES_GROUP: &str = "pg_auto_failover_nodes";
/// The port of the formation's PostgreSQL instances, monitor and nodes (`pgaf_port`),
/// beside the hosts' own clusters on 5432.
pub const PGAF_PORT: u16 = 5433;

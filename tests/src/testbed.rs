//! A running akira topology: bring it up, break hosts, query it, tear it down.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::cache::Cache;
use crate::docker::Docker;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::http;
use crate::images::{self, APT_MIRROR_HOST, Images};
use crate::inventory;
use crate::topology::{self, HOSTS, HostSpec, Role, db};
use crate::wait;

/// Label carrying the run id on every container and network of a run.
pub const RUN_LABEL: &str = "dr.testbed.run";
/// Label carrying the host a container belongs to (compose services carry their
/// management host's name).
pub const HOST_LABEL: &str = "dr.testbed.host";
/// Set to keep a run's containers and network after it ends, for debugging.
pub const KEEP_ENV: &str = "DR_TESTBED_KEEP";

/// How long a host may take to answer SSH after its container starts.
const SSH_TIMEOUT: Duration = Duration::from_secs(60);

/// How [`Testbed::up`] brings the topology up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Start the compose stack on the management host (`docker compose up -d`)
    /// and wait for the backend's health check.
    pub start_app: bool,
    /// The docker program; `None` means `$DR_TESTBED_DOCKER` or `docker`.
    pub docker: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            start_app: true,
            docker: None,
        }
    }
}

/// A running test bed. Dropping it removes every container (compose services
/// included) and the network, also while a failed test unwinds.
#[derive(Debug)]
pub struct Testbed {
    docker: Docker,
    images: Images,
    run_id: String,
    network: String,
    /// The first three octets of the test bed's /24.
    prefix: [u8; 3],
    hosts: Vec<Host>,
    /// How long `up` took, from images ready to everything answering.
    start_time: Duration,
}

impl Testbed {
    /// Builds missing images, then starts the topology on a new network with
    /// names unique to this run, and waits until every host answers SSH, the
    /// replica streams from the primary and (with `start_app`) the backend is
    /// healthy.
    pub fn up(options: Options) -> Result<Testbed> {
        let docker = match &options.docker {
            Some(program) => Docker::connect_with(program.clone())?,
            None => Docker::connect()?,
        };
        let cache = Cache::open()?;
        let images = images::ensure(&docker, &cache)?;
        let started = Instant::now();
        let run_id = run_id();
        let network = format!("drtb-{run_id}");
        let prefix = create_network(&docker, &network, &run_id)?;
        let mut testbed = Testbed {
            docker,
            images,
            run_id,
            network,
            prefix,
            hosts: Vec::new(),
            start_time: Duration::ZERO,
        };
        testbed.start_topology(&options)?;
        testbed.start_time = started.elapsed();
        Ok(testbed)
    }

    fn start_topology(&mut self, options: &Options) -> Result<()> {
        let mirror_name = format!("drtb-{}-{APT_MIRROR_HOST}", self.run_id);
        let mirror_image = self.images.apt_mirror.clone();
        let mirror_address = self.address(topology::APT_MIRROR_OCTET);
        self.run_container(
            &mirror_name,
            APT_MIRROR_HOST,
            mirror_address,
            &mirror_image,
            &[],
        )?;
        for spec in HOSTS {
            let host = Host {
                name: spec.name.to_owned(),
                container: format!("drtb-{}-{}", self.run_id, spec.name),
                address: self.address(spec.octet),
                groups: spec.groups.iter().map(|g| (*g).to_owned()).collect(),
            };
            self.hosts.push(host.clone());
            let (image, args) = self.role_args(spec);
            self.run_container(&host.container, &host.name, host.address, &image, &args)?;
            if spec.role == Role::DbPrimary {
                // The replica's first start copies the primary: wait for it.
                self.wait_postgres(spec.name, false)?;
            }
        }
        for spec in HOSTS {
            self.wait_ssh(spec.name)?;
            match spec.role {
                Role::DbPrimary => self.wait_postgres(spec.name, false)?,
                Role::DbReplica { .. } => self.wait_postgres(spec.name, true)?,
                Role::Management | Role::Signaling | Role::Backup => {}
            }
        }
        if options.start_app {
            self.compose(&["up", "-d"])?;
            self.wait_backend()?;
        }
        Ok(())
    }

    /// The image and extra `docker run` arguments of a host's role.
    fn role_args(&self, spec: &HostSpec) -> (String, Vec<String>) {
        let env = |k: &str, v: &str| vec!["-e".to_owned(), format!("{k}={v}")];
        let passwords = [
            env("PG_APP_PASSWORD", db::APP_PASSWORD),
            env("PG_REPLICATION_PASSWORD", db::REPLICATION_PASSWORD),
        ]
        .concat();
        match spec.role {
            Role::DbPrimary => (
                self.images.db.clone(),
                [env("PG_ROLE", "primary"), passwords].concat(),
            ),
            Role::DbReplica { primary } => (
                self.images.db.clone(),
                [
                    env("PG_ROLE", "replica"),
                    env("PG_PRIMARY", primary),
                    passwords,
                ]
                .concat(),
            ),
            Role::Management => (
                self.images.mgmt.clone(),
                [
                    vec![
                        "-v".to_owned(),
                        "/var/run/docker.sock:/var/run/docker.sock".to_owned(),
                    ],
                    env(
                        "AKIRA_COMPOSE_PROJECT",
                        &format!("drtb-{}-akira", self.run_id),
                    ),
                    env("AKIRA_APP_IMAGE", &self.images.app),
                    env(
                        "AKIRA_DATABASE_URL",
                        &topology::database_url(topology::DB_01),
                    ),
                    env("TESTBED_NETWORK", &self.network),
                    env("TESTBED_RUN", &self.run_id),
                ]
                .concat(),
            ),
            Role::Signaling => (self.images.signaling.clone(), Vec::new()),
            Role::Backup => (self.images.backup.clone(), Vec::new()),
        }
    }

    /// `docker run -d` of one host container with its name, address and labels. Root
    /// keeps `CAP_SYS_PTRACE`, as on a server: init scripts that find their daemon by
    /// `start-stop-daemon --exec` (PgBouncer's reload and stop) read another user's
    /// `/proc/PID/exe`, which Docker's default capabilities forbid.
    fn run_container(
        &self,
        container: &str,
        name: &str,
        address: Ipv4Addr,
        image: &str,
        extra: &[String],
    ) -> Result<()> {
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--name",
            container,
            "--hostname",
            name,
            "--network",
            &self.network,
            "--ip",
            &address.to_string(),
            "--network-alias",
            name,
            "--label",
            &self.run_label(),
            "--label",
            &format!("{HOST_LABEL}={name}"),
            "--cap-add",
            "SYS_PTRACE",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend_from_slice(extra);
        args.push(image.to_owned());
        self.docker.run(args)?;
        Ok(())
    }

    fn address(&self, octet: u8) -> Ipv4Addr {
        let [a, b, c] = self.prefix;
        Ipv4Addr::new(a, b, c, octet)
    }

    /// This run's id, part of every container and network name.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The Docker network of this run.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// How long [`Testbed::up`] took once the images were ready.
    pub fn start_time(&self) -> Duration {
        self.start_time
    }

    /// The images this run uses.
    pub fn images(&self) -> &Images {
        &self.images
    }

    /// Every host of the topology.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The host named `name` (e.g. `akira-db-01`).
    pub fn host(&self, name: &str) -> Result<&Host> {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| Error::UnknownHost {
                name: name.to_owned(),
                known: self
                    .hosts
                    .iter()
                    .map(|h| format!("`{}`", h.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The private key every host authorizes for root.
    pub fn private_key_path(&self) -> &Path {
        &self.images.private_key
    }

    /// The containers that go down with host `name`: its own, and for the
    /// management host the compose services it runs.
    /// The label (`key=value`) every container of this run carries.
    fn run_label(&self) -> String {
        format!("{RUN_LABEL}={}", self.run_id)
    }

    fn containers_of(&self, name: &str) -> Result<Vec<String>> {
        let host = self.host(name)?;
        let mut containers = vec![host.container.clone()];
        let of_host = format!("{HOST_LABEL}={name}");
        for c in self
            .docker
            .containers_with_labels(&[&self.run_label(), &of_host])?
        {
            if c != host.container {
                containers.push(c);
            }
        }
        Ok(containers)
    }

    /// Host lost: `docker kill` (SIGKILL, no shutdown) of the host and what it runs.
    pub fn kill(&self, name: &str) -> Result<()> {
        let mut args = vec!["kill".to_owned()];
        args.extend(self.containers_of(name)?);
        self.docker.run(args)?;
        Ok(())
    }

    /// Clean shutdown: `docker stop` of the host and what it runs.
    pub fn stop(&self, name: &str) -> Result<()> {
        let mut args = vec!["stop".to_owned()];
        args.extend(self.containers_of(name)?);
        self.docker.run(args)?;
        Ok(())
    }

    /// Starts a killed or stopped host (and what it ran) again, and waits for SSH.
    pub fn start(&self, name: &str) -> Result<()> {
        let mut args = vec!["start".to_owned()];
        args.extend(self.containers_of(name)?);
        self.docker.run(args)?;
        self.wait_ssh(name)
    }

    /// Host replaced from scratch: removes the host's container (and what it ran)
    /// and starts a bare `base` container with the same name and address. It has a
    /// new host key and nothing of its role (no PostgreSQL, no /opt/akira); apt
    /// installs from the test bed mirror. Waits for SSH.
    pub fn replace_bare(&self, name: &str) -> Result<()> {
        let host = self.host(name)?.clone();
        self.docker.remove_containers(&self.containers_of(name)?)?;
        let image = self.images.base.clone();
        // A rebuilt management host installs docker from the mirror; the engine's socket
        // stands in for the daemon a fresh VM would run itself.
        let extra: Vec<String> = if host.groups.iter().any(|g| g == "management") {
            vec![
                "-v".into(),
                "/var/run/docker.sock:/var/run/docker.sock".into(),
            ]
        } else {
            Vec::new()
        };
        self.run_container(&host.container, &host.name, host.address, &image, &extra)?;
        self.wait_ssh(name)
    }

    /// Runs `argv` on the host (`docker exec`, as root); its trimmed stdout.
    pub fn exec(&self, host: &str, argv: &[&str]) -> Result<String> {
        let container = &self.host(host)?.container;
        let mut args = vec!["exec", container.as_str()];
        args.extend_from_slice(argv);
        self.docker.run(args)
    }

    /// Runs SQL as the `postgres` superuser in database `akira` on a db host;
    /// psql's unaligned, tuples-only output (`|` between columns), trimmed.
    pub fn sql(&self, host: &str, query: &str) -> Result<String> {
        let container = &self.host(host)?.container;
        self.docker.run([
            "exec",
            "-u",
            "postgres",
            container,
            "psql",
            "-X",
            "-qAt",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            db::DATABASE,
            "-c",
            query,
        ])
    }

    /// The host's ed25519 host key as a known_hosts line (`ADDRESS ssh-ed25519 KEY`).
    pub fn known_hosts_line(&self, name: &str) -> Result<String> {
        let host = self.host(name)?;
        let public = self.exec(name, &["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])?;
        let mut words = public.split_whitespace();
        match (words.next(), words.next()) {
            (Some(kind), Some(key)) => Ok(format!("{} {kind} {key}", host.address)),
            _ => Err(Error::Unexpected {
                command: format!("cat /etc/ssh/ssh_host_ed25519_key.pub on `{name}`"),
                detail: format!("not a public key: {public:?}"),
            }),
        }
    }

    /// Writes a known_hosts file with every host's current key.
    pub fn write_known_hosts(&self, path: &Path) -> Result<()> {
        let mut text = String::new();
        for host in &self.hosts {
            text.push_str(&self.known_hosts_line(&host.name)?);
            text.push('\n');
        }
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }

    /// Writes the Ansible YAML inventory of this run (see [`inventory::render`]).
    pub fn write_inventory(&self, path: &Path) -> Result<()> {
        let text = inventory::render(&self.hosts, self.private_key_path(), &self.run_id);
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }

    /// The `DATABASE_URL` in the management host's `/opt/akira/.env`.
    pub fn database_url(&self) -> Result<String> {
        let env = self.exec(
            topology::MGMT_01,
            &["cat", &format!("{}/.env", topology::COMPOSE_DIR)],
        )?;
        env.lines()
            .find_map(|l| l.strip_prefix("DATABASE_URL="))
            .map(|v| v.trim().trim_matches('"').to_owned())
            .ok_or_else(|| Error::Unexpected {
                command: format!(
                    "cat {}/.env on `{}`",
                    topology::COMPOSE_DIR,
                    topology::MGMT_01
                ),
                detail: "no DATABASE_URL line".to_owned(),
            })
    }

    /// Runs `docker compose ARGS` (compose v2) in `/opt/akira` on the management host.
    pub fn compose(&self, args: &[&str]) -> Result<String> {
        let container = &self.host(topology::MGMT_01)?.container;
        let mut argv = vec!["exec", "-w", topology::COMPOSE_DIR, container.as_str()];
        argv.extend(["docker", "compose"]);
        argv.extend_from_slice(args);
        self.docker.run(argv)
    }

    /// Where the compose service `backend` listens.
    pub fn backend_addr(&self) -> Result<SocketAddr> {
        let containers = self.docker.run([
            "ps",
            "--filter",
            &format!("label={}", self.run_label()),
            "--filter",
            "label=com.docker.compose.service=backend",
            "--format",
            "{{.Names}}",
        ])?;
        let container = containers.lines().next().ok_or_else(|| Error::Unexpected {
            command: "docker ps".to_owned(),
            detail: format!("no running backend container in run {}", self.run_id),
        })?;
        let ip = self.docker.container_ip(container, &self.network)?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| Error::Unexpected {
            command: format!("docker inspect {container}"),
            detail: format!("not an IPv4 address: {ip}"),
        })?;
        Ok(SocketAddr::from((ip, topology::BACKEND_PORT)))
    }

    /// `GET /healthz` from the backend.
    pub fn backend_health(&self) -> Result<http::Response> {
        http::get(self.backend_addr()?, "/healthz")
    }

    fn wait_backend(&self) -> Result<()> {
        wait::until(
            "the backend's health check",
            Duration::from_secs(60),
            Duration::from_millis(300),
            || Ok((self.backend_health()?.status == 200).then_some(())),
        )
    }

    /// Waits until the host's sshd sends its banner.
    pub fn wait_ssh(&self, name: &str) -> Result<()> {
        let addr = self.host(name)?.ssh_addr();
        wait::until(
            &format!("sshd on `{name}` ({addr})"),
            SSH_TIMEOUT,
            Duration::from_millis(200),
            || {
                let io = |source| Error::Spawn {
                    command: format!("connect to {addr}"),
                    source,
                };
                let mut stream =
                    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(io)?;
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .map_err(io)?;
                let mut banner = [0u8; 4];
                stream.read_exact(&mut banner).map_err(io)?;
                Ok((&banner == b"SSH-").then_some(()))
            },
        )
    }

    /// Waits until PostgreSQL on `name` accepts queries, in recovery (a replica)
    /// or not (a primary).
    pub fn wait_postgres(&self, name: &str, in_recovery: bool) -> Result<()> {
        let want = if in_recovery { "t" } else { "f" };
        wait::until(
            &format!(
                "PostgreSQL on `{name}` as {}",
                if in_recovery { "replica" } else { "primary" }
            ),
            Duration::from_secs(120),
            Duration::from_millis(300),
            || Ok((self.sql(name, "SELECT pg_is_in_recovery()")? == want).then_some(())),
        )
    }

    /// Removes every container and the network of this run now.
    pub fn down(mut self) -> Result<()> {
        self.teardown()
    }

    fn teardown(&mut self) -> Result<()> {
        if self.network.is_empty() {
            return Ok(());
        }
        let containers = self.docker.containers_with_labels(&[&self.run_label()])?;
        self.docker.remove_containers(&containers)?;
        self.docker.run(["network", "rm", &self.network])?;
        self.network.clear();
        Ok(())
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if std::env::var_os(KEEP_ENV).is_some() {
            eprintln!(
                "dr-testbed: keeping run {} ({KEEP_ENV} is set): remove it with \
                 `docker rm -f $(docker ps -aq --filter label={RUN_LABEL}={}) && docker network rm {}`",
                self.run_id, self.run_id, self.network
            );
            return;
        }
        if let Err(e) = self.teardown() {
            eprintln!("dr-testbed: tearing down run {} failed: {e}", self.run_id);
        }
    }
}

/// A short id unique to this process and call.
fn run_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut hasher = DefaultHasher::new();
    std::process::id().hash(&mut hasher);
    COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut hasher);
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
        .hash(&mut hasher);
    format!("{:08x}", hasher.finish() as u32)
}

/// Creates the run's network on a free /24 of 10.213.0.0/16; fixed host addresses
/// sit below .128, Docker's own allocations (compose services) above.
fn create_network(docker: &Docker, network: &str, run_id: &str) -> Result<[u8; 3]> {
    let start = u8::from_str_radix(&run_id[..2], 16).unwrap_or(0);
    let mut last = None;
    for i in 0..32u8 {
        let third = start.wrapping_add(i.wrapping_mul(37));
        let prefix = [10, 213, third];
        let result = docker.run([
            "network",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            &format!("10.213.{third}.0/24"),
            "--ip-range",
            &format!("10.213.{third}.128/25"),
            "--label",
            &format!("{RUN_LABEL}={run_id}"),
            network,
        ]);
        match result {
            Ok(_) => return Ok(prefix),
            Err(e) if e.to_string().contains("overlap") => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(Error::Unexpected {
        command: "docker network create".to_owned(),
        detail: "no free subnet".to_owned(),
    }))
}

//! The test bed's images: built here (there is no registry), cached by a hash of
//! their inputs, which is part of each image's tag.
//!
//! `rootfs` is a debootstrap'd Debian bookworm imported with `docker import`; the
//! `apt-mirror` image serves the .debs the roles need; `base` is a bare host, and
//! `db`, `mgmt`, `app`, `signaling` and `backup` are built on it, installing their packages
//! from the mirror as a host would from an internal mirror.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::cache::{BuildLock, Cache};
use crate::command;
use crate::debian_mirror::debian_mirror;
use crate::docker::Docker;
use crate::error::{Error, Result};
use crate::{http, wait};

/// Label every test bed image carries: its role.
pub const IMAGE_LABEL: &str = "dr.testbed.image";
/// Label carrying the full hash of an image's inputs.
pub const HASH_LABEL: &str = "dr.testbed.hash";
/// Network alias (and host name in apt's sources) of the apt mirror.
pub const APT_MIRROR_HOST: &str = "apt-mirror";

/// Bump to rebuild every image even though no input file changed.
const SCHEME: &str = "dr-testbed images v1";

/// The built images' references (`dr-testbed/<role>:<hash>`).
#[derive(Debug, Clone)]
pub struct Images {
    /// Bare Debian bookworm with sshd and python3, as debootstrap made it.
    pub rootfs: String,
    /// The local apt mirror.
    pub apt_mirror: String,
    /// A bare host: what a replaced host starts as.
    pub base: String,
    /// PostgreSQL 15.
    pub db: String,
    /// Docker CLI and compose, with the compose project /opt/akira.
    pub mgmt: String,
    /// The akira services run by compose (backend, cdr-worker).
    pub app: String,
    /// The signaling service.
    pub signaling: String,
    /// PostgreSQL's client tools and an empty dump directory.
    pub backup: String,
    /// The private key whose public half every host authorizes for root.
    pub private_key: PathBuf,
}

/// The directory of the build assets (`tests/testbed`).
pub fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testbed")
}

/// What one image is built from.
struct Recipe {
    role: &'static str,
    hash: String,
    reference: String,
}

impl Recipe {
    fn new(role: &'static str, parent: Option<&Recipe>, extra: &[(&str, &[u8])]) -> Result<Recipe> {
        let dir = if role == "rootfs" {
            assets_dir().join("rootfs")
        } else {
            assets_dir().join("images").join(role)
        };
        let mut hasher = Sha256::new();
        hasher.update(SCHEME.as_bytes());
        hasher.update(role.as_bytes());
        if let Some(parent) = parent {
            hasher.update(parent.hash.as_bytes());
        }
        hash_dir(&mut hasher, &dir, &dir)?;
        for (name, bytes) in extra {
            hasher.update(name.as_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
        let hash = hex(&hasher.finalize());
        let reference = format!("dr-testbed/{role}:{}", &hash[..16]);
        Ok(Recipe {
            role,
            hash,
            reference,
        })
    }

    fn dir(&self) -> PathBuf {
        assets_dir().join("images").join(self.role)
    }
}

/// Feeds every file under `dir` (sorted, with its relative path) into `hasher`.
fn hash_dir(hasher: &mut Sha256, root: &Path, dir: &Path) -> Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect::<Result<_>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            hash_dir(hasher, root, &path)?;
        } else {
            let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let relative = path.strip_prefix(root).unwrap_or(&path);
            hasher.update(relative.to_string_lossy().as_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes sure every test bed image exists, building what is missing or stale.
/// Takes the cache's build lock, so concurrent test processes build once.
pub fn ensure(docker: &Docker, cache: &Cache) -> Result<Images> {
    let lock = cache.lock_builds()?;
    let private_key = cache.ssh_key(&lock)?;
    let public_key_path = private_key.with_extension("pub");
    let public_key = fs::read(&public_key_path).map_err(|e| Error::io(&public_key_path, e))?;

    let rootfs = Recipe::new("rootfs", None, &[])?;
    let apt_mirror = Recipe::new("apt-mirror", Some(&rootfs), &[])?;
    let base = Recipe::new("base", Some(&rootfs), &[("authorized_keys", &public_key)])?;
    let db = Recipe::new("db", Some(&base), &[])?;
    let mgmt = Recipe::new("mgmt", Some(&base), &[])?;
    let app = Recipe::new("app", Some(&base), &[])?;
    let signaling = Recipe::new("signaling", Some(&base), &[])?;
    let backup = Recipe::new("backup", Some(&base), &[])?;

    let mut builder = Builder {
        docker,
        cache,
        _lock: &lock,
        mirror: None,
    };
    builder.rootfs(&rootfs, &apt_mirror)?;
    builder.build(&base, &rootfs, &[("authorized_keys", &public_key)], false)?;
    builder.build(&db, &base, &[], true)?;
    builder.build(&mgmt, &base, &[], true)?;
    builder.build(&app, &base, &[], true)?;
    builder.build(&signaling, &base, &[], false)?;
    builder.build(&backup, &base, &[], true)?;
    builder.stop_mirror();

    Ok(Images {
        rootfs: rootfs.reference,
        apt_mirror: apt_mirror.reference,
        base: base.reference,
        db: db.reference,
        mgmt: mgmt.reference,
        app: app.reference,
        signaling: signaling.reference,
        backup: backup.reference,
        private_key,
    })
}

/// Builds images in dependency order while holding the build lock.
struct Builder<'a> {
    docker: &'a Docker,
    cache: &'a Cache,
    _lock: &'a BuildLock,
    /// The apt mirror serving builds: (network, container, address), started on
    /// the first build that installs packages.
    mirror: Option<(String, String, String)>,
}

impl Builder<'_> {
    /// The root filesystem image and the apt mirror image, from one debootstrap run.
    fn rootfs(&mut self, rootfs: &Recipe, apt_mirror: &Recipe) -> Result<()> {
        let have_rootfs = self.docker.image_exists(&rootfs.reference);
        let have_mirror = self.docker.image_exists(&apt_mirror.reference);
        if have_rootfs && have_mirror {
            return Ok(());
        }
        let out = self
            .cache
            .dir()
            .join(format!("rootfs-{}", &rootfs.hash[..16]));
        let done = out.join(".done");
        let tree = out.join("rootfs");
        if !done.exists() || (!have_rootfs && !tree.exists()) {
            self.debootstrap(&out)?;
            fs::write(&done, &rootfs.hash).map_err(|e| Error::io(&done, e))?;
        }
        if !have_rootfs {
            self.import(&tree, rootfs)?;
            // The image holds the tree now; the mirror's packages stay for rebuilds.
            fs::remove_dir_all(&tree).map_err(|e| Error::io(&tree, e))?;
        }
        if !have_mirror {
            self.build(apt_mirror, rootfs, &[], false)?;
        }
        Ok(())
    }

    /// Runs `testbed/rootfs/build.sh` into `out`.
    fn debootstrap(&self, out: &Path) -> Result<()> {
        if Command::new("debootstrap")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            return Err(Error::Spawn {
                command: "debootstrap --version".to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the test bed's root filesystem needs debootstrap \
                     (`apt-get install debootstrap dpkg-dev`) and root",
                ),
            });
        }
        let mirror = debian_mirror()?;
        if out.exists() {
            fs::remove_dir_all(out).map_err(|e| Error::io(out, e))?;
        }
        fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        command::run(
            Command::new("bash")
                .arg(assets_dir().join("rootfs").join("build.sh"))
                .arg(out)
                .arg(&mirror),
        )?;
        Ok(())
    }

    /// `tar -C tree -c . | docker import - reference`.
    fn import(&self, tree: &Path, recipe: &Recipe) -> Result<()> {
        let mut tar = Command::new("tar");
        tar.arg("-C")
            .arg(tree)
            .args(["--numeric-owner", "-c", "."])
            .stdout(Stdio::piped());
        let mut tar_child = tar.spawn().map_err(|source| Error::Spawn {
            command: command::describe(&tar),
            source,
        })?;
        let stdout = tar_child.stdout.take().ok_or_else(|| Error::Unexpected {
            command: command::describe(&tar),
            detail: "no stdout pipe".to_owned(),
        })?;
        let mut import = self.docker.command([
            "import".to_owned(),
            "--change".to_owned(),
            format!(
                "LABEL {IMAGE_LABEL}={} {HASH_LABEL}={}",
                recipe.role, recipe.hash
            ),
            "-".to_owned(),
            recipe.reference.clone(),
        ]);
        import.stdin(stdout);
        let result = import.output();
        let tar_status = tar_child.wait();
        let output = result.map_err(|source| Error::Spawn {
            command: command::describe(&import),
            source,
        })?;
        if !output.status.success() {
            return Err(command::failure(&import, &output));
        }
        match tar_status {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(Error::Command {
                command: command::describe(&tar),
                status: status.to_string(),
                stderr: String::new(),
            }),
            Err(source) => Err(Error::Spawn {
                command: command::describe(&tar),
                source,
            }),
        }
    }

    /// `docker build` of `recipe` on `parent`, unless its image exists. `extra`
    /// files join the context; `needs_mirror` puts the build on the apt mirror's
    /// network.
    fn build(
        &mut self,
        recipe: &Recipe,
        parent: &Recipe,
        extra: &[(&str, &[u8])],
        needs_mirror: bool,
    ) -> Result<()> {
        if self.docker.image_exists(&recipe.reference) {
            return Ok(());
        }
        let context = tempfile::Builder::new()
            .prefix("build-")
            .tempdir_in(self.cache.dir())
            .map_err(|e| Error::io(self.cache.dir(), e))?;
        copy_dir(&recipe.dir(), context.path())?;
        for (name, bytes) in extra {
            let path = context.path().join(name);
            fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        }
        if recipe.role == "apt-mirror" {
            let repo = self
                .cache
                .dir()
                .join(format!("rootfs-{}", &parent.hash[..16]))
                .join("repo");
            copy_dir(&repo, &context.path().join("repo"))?;
        }
        let mut args = vec![
            "build".to_owned(),
            "--force-rm".to_owned(),
            "--build-arg".to_owned(),
            format!("PARENT={}", parent.reference),
            "--label".to_owned(),
            format!("{IMAGE_LABEL}={}", recipe.role),
            "--label".to_owned(),
            format!("{HASH_LABEL}={}", recipe.hash),
            "-t".to_owned(),
            recipe.reference.clone(),
        ];
        if needs_mirror {
            let (network, _, address) = self.mirror()?;
            args.extend([
                "--network".to_owned(),
                network,
                "--add-host".to_owned(),
                format!("{APT_MIRROR_HOST}:{address}"),
            ]);
        }
        args.push(context.path().to_string_lossy().into_owned());
        self.docker.run(args)?;
        Ok(())
    }

    /// The apt mirror for builds, started on first use.
    fn mirror(&mut self) -> Result<(String, String, String)> {
        if let Some(mirror) = &self.mirror {
            return Ok(mirror.clone());
        }
        let apt_mirror = Recipe::new("apt-mirror", Some(&Recipe::new("rootfs", None, &[])?), &[])?;
        let name = format!("drtb-build-{}", std::process::id());
        let _ = self.docker.remove_containers(std::slice::from_ref(&name));
        let _ = self.docker.run(["network", "rm", &name]);
        self.docker.run(["network", "create", &name])?;
        // Recorded before the container starts, so a failed start is cleaned up too.
        self.mirror = Some((name.clone(), name.clone(), String::new()));
        self.docker.run([
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &name,
            "--network-alias",
            APT_MIRROR_HOST,
            "--label",
            "dr.testbed.build=mirror",
            &apt_mirror.reference,
        ])?;
        let address = self.docker.container_ip(&name, &name)?;
        // The server listens a moment after the container starts: a build started before
        // that finds no packages at all.
        let socket: SocketAddr =
            format!("{address}:80")
                .parse()
                .map_err(|_| Error::Unexpected {
                    command: format!("docker inspect {name}"),
                    detail: format!("not an IP address: {address:?}"),
                })?;
        wait::until(
            "the apt mirror to serve its index",
            Duration::from_secs(60),
            Duration::from_millis(200),
            || {
                Ok(http::get(socket, "/Packages")?
                    .status
                    .eq(&200)
                    .then_some(()))
            },
        )?;
        let mirror = (name.clone(), name, address);
        self.mirror = Some(mirror.clone());
        Ok(mirror)
    }

    fn stop_mirror(&mut self) {
        if let Some((network, container, _)) = self.mirror.take() {
            let _ = self.docker.remove_containers(&[container]);
            let _ = self.docker.run(["network", "rm", &network]);
        }
    }
}

impl Drop for Builder<'_> {
    fn drop(&mut self) {
        self.stop_mirror();
    }
}

/// Copies the files under `from` into `to` (hard links where possible).
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for entry in fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        if source.is_dir() {
            copy_dir(&source, &target)?;
        } else if fs::hard_link(&source, &target).is_err() {
            fs::copy(&source, &target).map_err(|e| Error::io(&source, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_hash_follows_its_parent() {
        let rootfs = Recipe::new("rootfs", None, &[]).expect("rootfs recipe");
        let base_a =
            Recipe::new("base", Some(&rootfs), &[("authorized_keys", b"a")]).expect("base");
        let base_b =
            Recipe::new("base", Some(&rootfs), &[("authorized_keys", b"b")]).expect("base");
        assert_ne!(base_a.hash, base_b.hash, "the key is an input of base");
        let db_a = Recipe::new("db", Some(&base_a), &[]).expect("db");
        let db_b = Recipe::new("db", Some(&base_b), &[]).expect("db");
        assert_ne!(db_a.hash, db_b.hash, "a new base means a new db");
        let again = Recipe::new("db", Some(&base_a), &[]).expect("db");
        assert_eq!(db_a.reference, again.reference, "same inputs, same image");
        assert!(db_a.reference.starts_with("dr-testbed/db:"));
    }
}

#!/bin/bash
# Builds the test bed's Debian bookworm root filesystem and its local apt mirror.
#
# usage: build.sh OUT_DIR DEBIAN_MIRROR_URI
#
# OUT_DIR/rootfs  a minbase bookworm tree with sshd and python3, ready for `docker import`
# OUT_DIR/repo    the .debs that hosts built from that tree need to install the
#                 test bed's roles (PostgreSQL 15, pgBackRest, PgBouncer, pg_auto_failover,
#                 docker CLI, compose v1 and v2 from trixie), with a
#                 Packages index, served to the test bed network by the apt-mirror image
set -euo pipefail

out=${1:?usage: build.sh OUT_DIR DEBIAN_MIRROR_URI}
mirror=${2:?usage: build.sh OUT_DIR DEBIAN_MIRROR_URI}

# Packages every host has, bare or not: what a freshly installed server has.
base_packages=openssh-server,python3,procps,iproute2,netbase,less
# Packages the roles install from the local mirror (with their dependencies).
mirror_packages="postgresql-15 postgresql-client-15 pgbackrest pgbouncer \
    postgresql-15-auto-failover pg-auto-failover-cli docker.io docker-compose"
# Compose v2 (the `docker compose` plugin) is Debian trixie's `docker-compose` 2.x: it needs
# only glibc >= 2.34 and runs on bookworm. Bookworm's own `docker-compose` (v1, 1.29) stays
# in the mirror beside it: `docker-compose` installs v2, `docker-compose=1.29.2-3` v1.
trixie_packages="docker-compose/trixie"

rootfs=$out/rootfs
repo=$out/repo
rm -rf "$rootfs" "$repo"
mkdir -p "$out" "$repo"

debootstrap --variant=minbase --include="$base_packages" bookworm "$rootfs" "$mirror"

# Download (never install) what the roles need, resolved against the bare tree,
# so the mirror holds exactly the packages a bare host is missing.
chroot "$rootfs" apt-get -qq update
chroot "$rootfs" apt-get -qq install --no-install-recommends --download-only -y $mirror_packages
echo "deb $mirror trixie main" > "$rootfs"/etc/apt/sources.list.d/trixie.list
chroot "$rootfs" apt-get -qq update
chroot "$rootfs" apt-get -qq install --no-install-recommends --download-only -y $trixie_packages
rm "$rootfs"/etc/apt/sources.list.d/trixie.list
mv "$rootfs"/var/cache/apt/archives/*.deb "$repo"/
(cd "$repo" && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null && gzip -9kf Packages)

# Leave nothing in the tree that belongs to one machine or to the build host.
chroot "$rootfs" apt-get -qq clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/etc/ssh/ssh_host_* \
    "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname
echo "rootfs: $(du -sh "$rootfs" | cut -f1), mirror: $(ls "$repo"/*.deb | wc -l) packages, $(du -sh "$repo" | cut -f1)"

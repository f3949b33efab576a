#!/usr/bin/env bash
# Wall time of `dr plan` and `dr apply` over SSH on N = 1, 10, 50 hosts: real OpenSSH sshd
# servers on 127.0.0.1 (one per "host", each with its own agent cache), a 2-play playbook.
# Not a test: it prints a table. Needs /usr/sbin/sshd (apt-get install -y openssh-server).
#
#   bench/ssh_fanout.sh                  # release build, N = 1 10 50
#   PROFILE=debug SIZES="1 10" bench/ssh_fanout.sh
#   FORKS=20 bench/ssh_fanout.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFILE=${PROFILE:-release}
SIZES=${SIZES:-1 10 50}
FORKS=${FORKS:-50}
SSHD=${SSHD:-/usr/sbin/sshd}

[ -x "$SSHD" ] || { echo "error: $SSHD is missing: apt-get install -y openssh-server" >&2; exit 1; }
command -v ssh-keygen >/dev/null || { echo "error: ssh-keygen is missing: apt-get install -y openssh-client" >&2; exit 1; }

if [ "$PROFILE" = release ]; then
    (cd "$ROOT" && cargo build --release -q -p dr -p dr-agent)
else
    (cd "$ROOT" && cargo build -q -p dr -p dr-agent)
fi
DR="$ROOT/target/$PROFILE/dr"
export DR_AGENT="$ROOT/target/$PROFILE/dr-agent"
export SSH_AUTH_SOCK=
export NO_COLOR=1

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p /run/sshd

ssh-keygen -q -t ed25519 -N '' -C bench -f "$WORK/client_key"
ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$WORK/host_key"
HOST_PUB=$(cut -d' ' -f1,2 "$WORK/host_key.pub")

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
next_port=$((20000 + RANDOM % 20000))
# start_host DIR: starts one sshd; sets PORT.
start_host() {
    local dir=$1 port
    mkdir -p "$dir"
    while ! port_free "$next_port"; do next_port=$((next_port + 1)); done
    port=$next_port
    next_port=$((next_port + 1))
    cat > "$dir/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $WORK/host_key
AuthorizedKeysFile $WORK/client_key.pub
PidFile $dir/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxSessions 100
MaxStartups 200
LogLevel ERROR
SetEnv XDG_CACHE_HOME=$dir/cache
CFG
    "$SSHD" -D -e -f "$dir/sshd_config" </dev/null >/dev/null 2>"$dir/sshd.log" &
    PIDS+=($!)
    PORT=$port
}

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "error: sshd on port $1 did not start" >&2
    exit 1
}

now() { date +%s.%N; }
# timed LABEL CMD...: runs CMD, prints its wall seconds (exit 0 or 2 expected).
timed() {
    local start end code=0
    start=$(now)
    "$@" >"$WORK/last.out" 2>&1 || code=$?
    end=$(now)
    if [ "$code" -ne 0 ] && [ "$code" -ne 2 ]; then
        echo "error: $* exited $code:" >&2
        tail -30 "$WORK/last.out" >&2
        exit 1
    fi
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}

printf '%-6s %-14s %-14s %-14s %-14s %s\n' hosts "plan (cold)" "apply" "apply (again)" "plan" "agent pushes"
for N in $SIZES; do
    dir="$WORK/n$N"
    mkdir -p "$dir"
    : > "$dir/known_hosts"
    {
        echo "all:"
        echo "  vars:"
        echo "    ansible_user: ${USER:-root}"
        echo "    ansible_ssh_private_key_file: $WORK/client_key"
        echo "    ansible_ssh_common_args: \"-F /dev/null -o UserKnownHostsFile=$dir/known_hosts -o GlobalKnownHostsFile=/dev/null\""
        echo "  children:"
        echo "    fleet:"
        echo "      hosts:"
    } > "$dir/inventory.yml"
    ports=()
    for i in $(seq -f '%03g' "$N"); do
        start_host "$dir/h$i"
        ports+=("$PORT")
        echo "[127.0.0.1]:$PORT $HOST_PUB" >> "$dir/known_hosts"
        printf '        h%s: {ansible_host: 127.0.0.1, ansible_port: %s, root_dir: %s}\n' \
            "$i" "$PORT" "$dir/h$i/root" >> "$dir/inventory.yml"
    done
    for p in "${ports[@]}"; do wait_port "$p"; done
    cat > "$dir/site.yml" <<'YML'
- name: base
  hosts: fleet
  tasks:
    - command: mkdir -p {{ root_dir }}/etc
      args: {creates: '{{ root_dir }}/etc'}
    - shell: echo 'managed by dr' > {{ root_dir }}/etc/motd
      args: {creates: '{{ root_dir }}/etc/motd'}
    - debug: {msg: 'hello from {{ inventory_hostname }}'}
- name: app
  hosts: fleet
  tasks:
    - shell: hostname > {{ root_dir }}/etc/app
      args: {creates: '{{ root_dir }}/etc/app'}
YML
    cd "$dir"
    plan1=$(timed "$DR" -v plan -i inventory.yml -f "$FORKS" site.yml)
    pushes=$(grep -c 'pushed dr-agent' "$WORK/last.out" || true)
    apply1=$(timed "$DR" apply -i inventory.yml -f "$FORKS" site.yml)
    apply2=$(timed "$DR" -v apply -i inventory.yml -f "$FORKS" site.yml)
    again=$(grep -c 'pushed dr-agent' "$WORK/last.out" || true)
    plan2=$(timed "$DR" plan -i inventory.yml -f "$FORKS" site.yml)
    cd - >/dev/null
    printf '%-6s %-14s %-14s %-14s %-14s %s\n' "$N" "${plan1}s" "${apply1}s" "${apply2}s" "${plan2}s" "$pushes then $again"
done

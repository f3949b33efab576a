#!/usr/bin/env bash
# Every benchmark of the README's Performance section, in one run, on the same binaries: the
# release `dr` and the portable agent (tests/build-agent) with its zstd copy, as a user
# installs them. In order: the agent's size and glibc floor, the four-tool run
# (bench/run.py), first contact at 10 and 50 hosts and the controller's cost per host at 300
# (bench/first_contact.py), inventory size (bench/inventory.py), vault files
# (bench/vault.py). Each prints its tables; the load average is printed between them.
#
# Usage: bench/all.sh [--quick]
#   --quick  N = 1 and 10 only, fewer repetitions (~10 min instead of ~1 h on 2 cores)
# Needs what the scripts need: root, openssh-server, openssh-client, zstd, xz-utils,
# python3 with venv.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
case "${1:-}" in
  --quick) quick=true ;;
  "") ;;
  *) echo "bench/all.sh: unknown argument \`$1\` (see the usage at the top of this file)" >&2; exit 2 ;;
esac

target="${CARGO_TARGET_DIR:-target}"
cargo build -q --release -p dr -p dr-agent
agent=$(tests/build-agent)
dr="$target/release/dr"

section() { printf '\n## %s (%s, load average %s)\n\n' "$1" "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)"; }

echo "# dr benchmarks: commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d), $(nproc) CPUs"

section "Agent size"
raw=$(stat -c %s "$agent")
size() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1e6 }'; }
echo "| agent | raw | gzip -1 | zstd -3 | zstd -19 (sent) | xz -9 | newest glibc symbol |"
echo "|---|--:|--:|--:|--:|--:|---|"
glibc=$(objdump -T "$agent" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
echo "| $(basename "$agent") | $(size "$raw") | $(size "$(gzip -1 -c "$agent" | wc -c)") | $(size "$(zstd -3 -c "$agent" | wc -c)") | $(size "$(stat -c %s "$agent.zst")") | $(size "$(xz -9 -c "$agent" | wc -c)") | $glibc |"

if $quick; then
  section "Four tools (bench/run.py, N = 1, 10)"
  bench/run.py --dr "$dr" --agent "$agent" --hosts 1,10 --reps 1
  section "First contact (bench/first_contact.py, N = 10)"
  bench/first_contact.py --dr "$dr" --agent "$agent" --hosts 10 --reps 3
  section "Controller cost per host (30 hosts on 10 sshds)"
  bench/first_contact.py --dr "$dr" --agent "$agent" --per-host 30 --ports 10 --reps 1
  section "Inventory size"
  bench/inventory.py --dr "$dr" --sizes 1000,10000 --plan-sizes 10000 --reps 1
  section "Vault files"
  bench/vault.py --dr "$dr" --reps 1
else
  section "Four tools (bench/run.py, N = 1, 10, 50)"
  bench/run.py --dr "$dr" --agent "$agent" --reps 3,3,1
  section "First contact (bench/first_contact.py, N = 10, 50)"
  bench/first_contact.py --dr "$dr" --agent "$agent"
  section "Controller cost per host (300 hosts on 10 sshds)"
  bench/first_contact.py --dr "$dr" --agent "$agent" --per-host 300 --ports 10 --reps 3
  section "Inventory size"
  bench/inventory.py --dr "$dr"
  section "Vault files"
  bench/vault.py --dr "$dr"
fi
section "Done"

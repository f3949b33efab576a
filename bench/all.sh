#!/usr/bin/env bash
# Every benchmark of the README's Performance section, in one run, on the same binaries: the
# release `dr` and the portable agent (tests/build-agent) with its zstd copy, as a user
# installs them. In order: the agent's size and glibc floor, the four-tool run
# (bench/run.py), first contact at 10 and 50 hosts and the controller's cost per host at 300
# (bench/first_contact.py, each with one more run under `perf record`: where the CPU goes),
# inventory size (bench/inventory.py), vault files (bench/vault.py). Each prints its tables;
# the load average is printed between them.
#
# Usage: bench/all.sh [--quick] [--from SECTION]
#   --quick         N = 1 and 10 only, fewer repetitions (~6 min instead of ~45 on 2 cores)
#   --from SECTION  start at SECTION (tools, first, per-host, inventory, vault; the agent's
#                   size is always printed), to finish a run that stopped part way
# Needs what the scripts need: root, openssh-server, openssh-client, zstd, xz-utils, binutils,
# linux-perf, python3 with venv.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
from=tools
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=true; shift ;;
    --from) from=${2:-}; shift 2 ;;
    *) echo "bench/all.sh: unknown argument \`$1\` (see the usage at the top of this file)" >&2; exit 2 ;;
  esac
done
sections=(tools first per-host inventory vault)
case " ${sections[*]} " in
  *" $from "*) ;;
  *) echo "bench/all.sh: --from \`$from\`: one of ${sections[*]}" >&2; exit 2 ;;
esac
# Whether section $1 runs: it is --from's or comes after it.
started=false
run() { [ "$1" = "$from" ] && started=true; $started; }

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

if run tools; then
  if $quick; then
    section "Four tools (bench/run.py, N = 1, 10)"
    bench/run.py --dr "$dr" --agent "$agent" --hosts 1,10 --reps 1
  else
    section "Four tools (bench/run.py, N = 1, 10, 50)"
    bench/run.py --dr "$dr" --agent "$agent" --reps 3,3,1
  fi
fi
if run first; then
  if $quick; then
    section "First contact (bench/first_contact.py, N = 10)"
    bench/first_contact.py --dr "$dr" --agent "$agent" --hosts 10 --reps 3 --profile
  else
    section "First contact (bench/first_contact.py, N = 10, 50)"
    bench/first_contact.py --dr "$dr" --agent "$agent" --profile
  fi
fi
if run per-host; then
  if $quick; then
    section "Controller cost per host (30 hosts on 10 sshds)"
    bench/first_contact.py --dr "$dr" --agent "$agent" --per-host 30 --ports 10 --reps 1 --profile
  else
    section "Controller cost per host (300 hosts on 10 sshds)"
    bench/first_contact.py --dr "$dr" --agent "$agent" --per-host 300 --ports 10 --reps 3 --profile
  fi
fi
if run inventory; then
  section "Inventory size"
  if $quick; then
    bench/inventory.py --dr "$dr" --sizes 1000,10000 --plan-sizes 10000 --reps 1
  else
    bench/inventory.py --dr "$dr"
  fi
fi
if run vault; then
  section "Vault files"
  if $quick; then
    bench/vault.py --dr "$dr" --reps 1
  else
    bench/vault.py --dr "$dr"
  fi
fi
section "Done"

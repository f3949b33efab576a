"""Where the CPU goes while one command runs, from a `perf record` sample of it: what the
README's Performance section gives as "what limits it".

- `machine(cmd)`: every CPU of the machine (`perf record -a`), samples grouped by the process
  that ran: the `dr` controller itself (by its pid), the hosts' sshd, their unpacker, the
  agent running the play, their shell and its utilities, the rest of the machine, and idle.
  On the benchmark's loopback hosts, which share the controller's cores, this is what a wall
  time is made of.
- `controller(cmd)`: the `dr` process alone, samples grouped by what its code was doing: the
  SSH cipher (ChaCha20, Poly1305, AES), copying, the allocator, the kernel, and the rest.

Samples are `cpu-clock` at `FREQ` per second per CPU (a software event: it works in VMs with
no hardware counters), so a group's samples / FREQ is its CPU seconds. Needs `perf`
(Debian: linux-perf) and root, as the benchmarks do.
"""

import os
import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

FREQ = 999

# Groups of `machine`, in the order printed.
CONTROLLER = "dr (the controller)"
SSHD = "sshd (hosts)"
UNPACKING = "unpacking the agent (hosts: zstd, gzip)"
AGENT = "the agent running the play (hosts)"
SHELL_GROUP = "shell and utilities (hosts: sh, mkdir, chmod, mv, uname, ...)"
ELSEWHERE = "rest of the machine (perf, other processes)"
MACHINE_GROUPS = (CONTROLLER, SSHD, UNPACKING, AGENT, SHELL_GROUP, ELSEWHERE)
UNPACKERS = {"zstd", "unzstd", "gzip", "gunzip"}
SHELL = {"sh", "dash", "bash", "mkdir", "chmod", "mv", "uname", "rm", "cat", "mktemp", "sha256sum"}

# Groups of `controller`, in the order printed (`_controller_group` tells a sample's).
CIPHER = "SSH cipher (ChaCha20-Poly1305, AES)"
COPYING = "copying (memmove, memcpy)"
ALLOCATOR = "allocator (malloc, free, realloc)"
KERNEL = "kernel (TCP over loopback, both ends; syscalls; page faults)"
REST = "the rest (dr, russh, tokio)"
CONTROLLER_GROUPS = (CIPHER, COPYING, ALLOCATOR, KERNEL, REST)


def available():
    return shutil.which("perf") is not None


def _record(cmd, env, cwd, system_wide):
    """Runs `cmd` under `perf record`; returns (exit code, output, the perf data file, the
    command's pid, the work directory to remove)."""
    tmp = Path(tempfile.mkdtemp(prefix="dr-perf-"))
    data, pidfile = tmp / "perf.data", tmp / "pid"
    # `sh` writes its pid and becomes the command, so the controller's samples are told apart
    # from its children's and the hosts' by pid.
    wrapped = ["sh", "-c", 'echo $$ > "$0"; exec "$@"', str(pidfile), *map(str, cmd)]
    perf = ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(FREQ), "-o", str(data)]
    if system_wide:
        perf.append("-a")
    proc = subprocess.run(perf + ["--", *wrapped], env=env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pid = int(pidfile.read_text()) if pidfile.is_file() else -1
    return proc.returncode, proc.stdout, data, pid, tmp


def _samples(data, fields):
    out = subprocess.run(["perf", "script", "-i", str(data), "-F", fields],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True)
    return out.stdout.splitlines()


def _kernel(line):
    # Kernel addresses the symbol table does not name show as `[unknown]` at 0xffff....
    return "[kernel." in line or ("([unknown])" in line and " ffffffff" in line)


MACHINE_LINE = re.compile(r"^\s*(.*?)\s+(\d+)\s+[0-9a-f]+\s+\(.*\)\s*$")


def _machine_group(comm, is_controller):
    if is_controller:
        return CONTROLLER
    if comm.startswith("sshd"):
        return SSHD
    if comm in UNPACKERS:
        return UNPACKING
    if comm.startswith("dr-agent"):
        return AGENT
    if comm in SHELL:
        return SHELL_GROUP
    return ELSEWHERE


def machine(cmd, env=None, cwd=None):
    """CPU seconds by process group over the whole machine while `cmd` runs: returns
    (exit code, output, {group: (user s, kernel s)}, idle s)."""
    code, out, data, pid, tmp = _record(cmd, env, cwd, system_wide=True)
    try:
        groups = defaultdict(lambda: [0, 0])
        idle = 0
        for line in _samples(data, "comm,pid,ip,dso"):
            # "<comm> <pid> <ip> (<dso>)": comm may hold spaces, the dso parentheses (a
            # binary replaced while it runs is "(/path (deleted))").
            m = MACHINE_LINE.match(line)
            if not m:
                continue
            comm, p = m.group(1), int(m.group(2))
            if p == 0:
                idle += 1
                continue
            groups[_machine_group(comm, p == pid)][1 if _kernel(line) else 0] += 1
        seconds = {g: (u / FREQ, k / FREQ) for g, (u, k) in groups.items()}
        return code, out, seconds, idle / FREQ
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


CONTROLLER_LINE = re.compile(r"^\s*\d+\s+[0-9a-f]+\s+(.*?)\s+\(.*\)\s*$")
CIPHER_SYMBOL = re.compile(r"chacha|poly1305|aes_|gcm_|ghash", re.I)
COPY_SYMBOL = re.compile(r"memmove|memcpy")
ALLOC_SYMBOL = re.compile(r"^(__libc_|_int_)?(malloc|free|realloc|calloc)\b|^cfree|malloc_consolidate|^tcache|^unlink_chunk")


def _controller_group(line):
    if _kernel(line):
        return KERNEL
    # "<pid> <ip> <symbol> (<dso>)"
    m = CONTROLLER_LINE.match(line)
    symbol = m.group(1) if m else ""
    if CIPHER_SYMBOL.search(symbol):
        return CIPHER
    if COPY_SYMBOL.search(symbol):
        return COPYING
    if ALLOC_SYMBOL.search(symbol):
        return ALLOCATOR
    return REST


def controller(cmd, env=None, cwd=None):
    """CPU seconds of the `dr` process alone (children excluded) while it runs `cmd`, by
    what its code was doing: returns (exit code, output, {group: s})."""
    code, out, data, pid, tmp = _record(cmd, env, cwd, system_wide=False)
    try:
        groups = defaultdict(int)
        for line in _samples(data, "pid,ip,sym,dso"):
            head = line.split()
            if not head or not head[0].isdigit() or int(head[0]) != pid:
                continue
            groups[_controller_group(line)] += 1
        return code, out, {g: n / FREQ for g, n in groups.items()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def print_machine(title, runs):
    """`runs`: [(name, {group: (user s, kernel s)}, idle s)], printed side by side."""
    cpus = os.cpu_count() or 1
    busy = [sum(u + k for u, k in seconds.values()) for _, seconds, _ in runs]
    spans = ", ".join(f"{name} {(b + idle) / cpus:.3f} s sampled, {b:.3f} CPU s busy"
                      for (name, _, idle), b in zip(runs, busy))
    print(f"\n{title}: `perf record -a` on {cpus} CPUs ({spans})\n")
    head = " | ".join(f"{name} CPU s | of which kernel | share" for name, _, _ in runs)
    print(f"| process | {head} |")
    print("|---|" + "--:|--:|--:|" * len(runs))
    for group in MACHINE_GROUPS:
        cells = []
        for (_, seconds, _), b in zip(runs, busy):
            u, k = seconds.get(group, (0.0, 0.0))
            cells.append(f"{u + k:.3f} | {k:.3f} | {100 * (u + k) / b if b else 0:.0f}%")
        print(f"| {group} | {' | '.join(cells)} |")


def print_controller(title, seconds, hosts):
    total = sum(seconds.values())
    print(f"\n{title}: `perf record` of the `dr` process, {total:.3f} CPU s in all\n")
    print("| where | CPU s | ms per host | share |")
    print("|---|--:|--:|--:|")
    for group in CONTROLLER_GROUPS:
        s = seconds.get(group, 0.0)
        print(f"| {group} | {s:.3f} | {s * 1000 / hosts:.2f} | {100 * s / total if total else 0:.0f}% |")

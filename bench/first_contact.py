#!/usr/bin/env python3
"""dr's first contact with bare hosts (no agent cached) against the SSH floor, and the
controller's cost per host.

Starts sshd "hosts" on 127.0.0.1 as bench/run.py does (same login user, same playbook,
each host with its own agent cache) and, for each N, alternates in every repetition:

- floor: N parallel fresh OpenSSH `ssh host true` (curve25519-sha256, the key exchange dr
  negotiates), as in bench/run.py;
- cold: `dr apply` of bench/playbook.yml on empty hosts with every agent cache emptied, so
  the agent is pushed to every host before its play runs;
- warm: the same first run with the agent already cached.

It prints the medians and the ratios cold/floor and warm/floor (ratios hold up on a loaded
machine better than seconds do), plus the controller's CPU and peak RSS for the cold run.

`--per-host N` measures the controller's cost per host instead: N hosts served by
`--ports` sshd instances (hosts are spread over them round robin, each host with its own
root directory; hosts on one sshd share its agent cache), a converged run and a first run
(cold caches), controller CPU (user + system, its whole process tree) and peak RSS, each
divided by N, and the marginal cost per host between N/10 and N hosts.

`--profile` adds runs under `perf record` (bench/cpu_profile.py), not counted in the medians:
for each N, one more cold and one more warm first run, the whole machine's CPU by process (the
controller, the hosts' sshd, unpacker, agent, shell); with --per-host, one more cold run at N
hosts, dr's own CPU by what it was doing (the cipher, copying, the allocator, the kernel).

Usage: bench/first_contact.py [--hosts 10,50] [--reps 5] [--release] [--agent PATH] [--dr PATH] [--profile]
       bench/first_contact.py --per-host 300 --ports 10 [--reps 3] [--release] [--profile]
Needs what bench/run.py needs (root, openssh-server, openssh-client).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpu_profile as perf  # noqa: E402  (bench/cpu_profile.py: where the CPU goes)
import run as bench  # noqa: E402  (bench/run.py: Hosts, timed, check_output)

REPO = bench.REPO
PLAY = str(bench.BENCH / "playbook.yml")


class SharedHosts(bench.Hosts):
    """`n` inventory hosts served by `ports` sshd instances (host i on sshd i % ports)."""

    def __init__(self, n, ports, work):
        self.hosts_n = n
        super().__init__(ports, work)

    def inventory(self, path, tool, roots):
        lines = ["all:", "  hosts:"]
        for i in range(self.hosts_n):
            port = self.ports[i % len(self.ports)]
            lines += [
                f"    h{i:03d}:",
                "      ansible_host: 127.0.0.1",
                f"      ansible_port: {port}",
                f"      ansible_user: {bench.USER}",
                f"      ansible_ssh_private_key_file: {self.client_key}",
                f"      root: {roots}/h{i:03d}",
                f"      dr_host_key: \"{' '.join(self.host_pub)}\"",
            ]
        path.write_text("\n".join(lines) + "\n")


AGENT_ENV = {}
# Whether to profile more runs (`--profile`), and how to print the profiles taken.
PROFILE = {"on": False, "printed": []}


def dr_command(dr, inv, forks, extra=()):
    return [str(dr), "apply", PLAY, "-i", str(inv), "--forks", str(forks), *extra]


def dr_env():
    return dict(os.environ, NO_COLOR="1", **AGENT_ENV)


def check_dr(code, out, n, want, how=""):
    """Stops the benchmark unless `dr apply` on `n` hosts exited 0 and reported `want`."""
    if code != 0:
        raise SystemExit(f"dr apply on {n} hosts{how}: exit {code}:\n{out[-3000:]}")
    bench.check_output("dr", want, n, out)


def dr_run(dr, inv, forks, work, n, want="first", extra=()):
    cmd = dr_command(dr, inv, forks, extra)
    wall, user, system, rss, code, out = bench.timed_split(cmd, env=dr_env(), cwd=work)
    check_dr(code, out, n, want)
    # CPU is user + system; the system part (the kernel's TCP work on dr's behalf, which on
    # loopback includes the receiving side's protocol processing) is reported on its own too.
    return wall, user + system, rss, system


def upload_floor(hosts, payload):
    """N parallel fresh OpenSSH connections, each uploading `payload` (the agent as dr sends
    it, zstd -3) into `zstd -d` writing a file in the host's cache, then removing it: what
    the push alone costs with OpenSSH on both ends."""
    start = time.perf_counter()
    procs = []
    for p in hosts.ports:
        with open(payload, "rb") as stdin:
            procs.append(subprocess.Popen(
                ["ssh", "-F", "/dev/null", "-i", str(hosts.client_key), "-p", str(p), "-o",
                 f"UserKnownHostsFile={hosts.known_hosts}", "-o", "StrictHostKeyChecking=yes", "-o", "ControlMaster=no",
                 "-o", "BatchMode=yes", "-o", "KexAlgorithms=curve25519-sha256", f"{bench.USER}@127.0.0.1",
                 't="$XDG_CACHE_HOME/up.$$"; zstd -q -d -c > "$t"; rm -f "$t"'],
                stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    if any(p.wait() for p in procs):
        raise SystemExit("OpenSSH upload failed: is zstd installed?")
    return time.perf_counter() - start


def first_contact(n, reps, dr, work, payload):
    hosts = bench.Hosts(n, work)
    try:
        inv, roots = work / "inv.yml", work / "roots"
        hosts.inventory(inv, "dr", roots)
        floor, upload, cold, warm = [], [], [], []
        hosts.floor("curve25519-sha256")  # warms the page cache for ssh and sshd
        for _ in range(reps):
            floor.append(hosts.floor("curve25519-sha256"))
            hosts.clear_caches()
            upload.append(upload_floor(hosts, payload))
            shutil.rmtree(roots, ignore_errors=True)
            cold.append(dr_run(dr, inv, n, work, n))
            shutil.rmtree(roots)
            warm.append(dr_run(dr, inv, n, work, n))
        if PROFILE["on"]:
            runs = []
            for name in ("cold", "warm"):
                shutil.rmtree(roots)
                if name == "cold":
                    hosts.clear_caches()
                code, out, seconds, idle = perf.machine(dr_command(dr, inv, n), env=dr_env(), cwd=work)
                check_dr(code, out, n, "first", " under perf")
                runs.append((name, seconds, idle))
            PROFILE["printed"].append(lambda n=n, runs=runs: perf.print_machine(
                f"Where the CPU goes, one more first run on {n} hosts, cold and warm", runs))
        return {"n": n, "floor": floor, "upload": upload, "cold": cold, "warm": warm}
    finally:
        hosts.stop()


def med(xs, i=None):
    return statistics.median(x if i is None else x[i] for x in xs)


def report_first(results, reps):
    print(f"\ndr first contact vs the SSH floor; medians of {reps}; wall and CPU in seconds, RSS in MiB")
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs\n")
    print("| N | floor | OpenSSH upload | upload/floor | cold (agent pushed) | cold/floor | warm (agent cached) | warm/floor | cold CPU | cold RSS |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        f = med(r["floor"])
        c, w = med(r["cold"], 0), med(r["warm"], 0)
        # The ratio of each repetition's pair (measured back to back), then the median.
        ratio = lambda xs: statistics.median((a[0] if isinstance(a, tuple) else a) / b for a, b in zip(xs, r["floor"]))
        print(f"| {r['n']} | {f:.3f} | {med(r['upload']):.3f} | {ratio(r['upload']):.2f}× | {c:.3f} | {ratio(r['cold']):.2f}× "
              f"| {w:.3f} | {ratio(r['warm']):.2f}× | {med(r['cold'], 1):.3f} | {med(r['cold'], 2):.1f} |")
    print("\nfloor = N parallel fresh OpenSSH `ssh host true` (curve25519-sha256); OpenSSH upload = N parallel")
    print("fresh OpenSSH connections each sending the agent as dr sends it (zstd) into `zstd -d` writing a")
    print("file on the host: the push alone, with OpenSSH at both ends. Ratios are the median of each")
    print("repetition's figure over the floor measured just before it.")
    for printed in PROFILE["printed"]:
        printed()


def per_host(n, ports, reps, dr, work):
    rows = []
    for size in (max(n // 10, 1), n):
        hosts = SharedHosts(size, min(ports, size), work / f"p{size}")
        try:
            inv, roots = work / f"p{size}" / "inv.yml", work / f"p{size}" / "roots"
            hosts.inventory(inv, "dr", roots)
            cold, conv = [], []
            for _ in range(reps):
                hosts.clear_caches()
                shutil.rmtree(roots, ignore_errors=True)
                # Hundreds of local sshds handshaking at once on a shared machine can take
                # longer than the default 10 s; the cost measured does not depend on it.
                slow = ("--connect-timeout", "60")
                cold.append(dr_run(dr, inv, size, work, size, extra=slow))
                conv.append(dr_run(dr, inv, size, work, size, "converged", extra=slow))
            rows.append((size, cold, conv))
            if PROFILE["on"] and size == n:
                hosts.clear_caches()
                shutil.rmtree(roots, ignore_errors=True)
                code, out, seconds = perf.controller(dr_command(dr, inv, size, slow), env=dr_env(), cwd=work)
                check_dr(code, out, size, "first", " under perf")
                PROFILE["printed"].append(lambda n=size, s=seconds: perf.print_controller(
                    f"Where dr's CPU goes, one more cold first run on {n} hosts", s, n))
        finally:
            hosts.stop()
    print(f"\ndr controller cost per host, {n} hosts over {ports} sshd ports; medians of {reps}")
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs\n")
    print("| hosts | run | wall s | CPU s | of which system | peak RSS MiB | CPU ms/host | system ms/host | RSS KiB/host |")
    print("|--:|---|--:|--:|--:|--:|--:|--:|--:|")
    for size, cold, conv in rows:
        for name, xs in (("first (cold)", cold), ("converged", conv)):
            cpu, rss, system = med(xs, 1), med(xs, 2), med(xs, 3)
            print(f"| {size} | {name} | {med(xs, 0):.3f} | {cpu:.3f} | {system:.3f} | {rss:.1f} "
                  f"| {cpu * 1000 / size:.2f} | {system * 1000 / size:.2f} | {rss * 1024 / size:.0f} |")
    (s1, c1, v1), (s2, c2, v2) = rows
    print(f"\nmarginal cost of a host ({s1} → {s2} hosts):")
    for name, a, b in (("first (cold)", c1, c2), ("converged", v1, v2)):
        cpu = (med(b, 1) - med(a, 1)) * 1000 / (s2 - s1)
        rss = (med(b, 2) - med(a, 2)) * 1024 / (s2 - s1)
        print(f"  {name}: {cpu:.2f} ms CPU and {rss:.0f} KiB RSS per host")
    for printed in PROFILE["printed"]:
        printed()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", default="10,50", help="comma-separated host counts (default 10,50)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    ap.add_argument("--release", action="store_true", help="build and use the release binaries")
    ap.add_argument("--per-host", type=int, metavar="N", help="measure the per-host cost at N hosts instead")
    ap.add_argument("--ports", type=int, default=10, help="sshd instances for --per-host (default 10)")
    ap.add_argument("--dr", type=Path, help="the dr binary to run (default: build it); its agent is the dr-agent beside it")
    ap.add_argument("--agent", type=Path, help="the agent binary to push (default: the dr-agent built beside dr)")
    ap.add_argument("--profile", action="store_true",
                    help="more runs under `perf record` (bench/cpu_profile.py): where the machine's CPU goes in a cold "
                         "and a warm first run per N, or dr's in a cold run (--per-host); needs perf")
    args = ap.parse_args()
    if args.profile:
        if not perf.available():
            raise SystemExit("--profile needs `perf` (Debian: apt-get install linux-perf)")
        PROFILE["on"] = True
    if args.agent:
        AGENT_ENV["DR_AGENT"] = str(args.agent.resolve())
    if args.dr:
        dr = args.dr.resolve()
    else:
        profile = "release" if args.release else "debug"
        subprocess.run(["cargo", "build", "-q", "-p", "dr", "-p", "dr-agent"] + (["--release"] if args.release else []),
                       cwd=REPO, check=True)
        dr = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / profile / "dr"
    agent = args.agent or dr.with_name("dr-agent")
    print(f"agent pushed: {agent} ({agent.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="dr-first-"))
    os.chmod(work, 0o755)
    try:
        if args.per_host:
            per_host(args.per_host, args.ports, args.reps, dr, work)
        else:
            # What dr sends a host with zstd: the copy made at build time beside the agent
            # (tests/build-agent), else the agent compressed at level 3 as dr does per run.
            payload = work / "agent.zst"
            prebuilt = agent.with_name(agent.name + ".zst")
            if prebuilt.is_file():
                shutil.copyfile(prebuilt, payload)
            else:
                subprocess.run(["zstd", "-q", "-3", "-f", "-o", str(payload), str(agent)], check=True)
            os.chmod(payload, 0o644)
            print(f"agent as sent: {payload.stat().st_size / 1e6:.2f} MB "
                  f"({'zstd -19, made at build time' if prebuilt.is_file() else 'zstd -3'})", file=sys.stderr)
            results = []
            for n in [int(x) for x in args.hosts.split(",")]:
                results.append(first_contact(n, args.reps, dr, work / f"n{n}", payload))
                r = results[-1]
                print(f"N = {n}: floor {med(r['floor']):.3f} s, cold {med(r['cold'], 0):.3f} s, "
                      f"warm {med(r['warm'], 0):.3f} s", file=sys.stderr, flush=True)
            report_first(results, args.reps)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

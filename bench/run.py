#!/usr/bin/env python3
"""Side-by-side benchmark: dr against ansible-playbook on the same hosts, in one run.

Starts N OpenSSH sshd instances on 127.0.0.1 (each "host" has its own root directory),
installs ansible-core from PyPI into a venv, and runs bench/playbook.yml with both tools,
alternating, several repetitions each: first run (everything changes), converged run
(nothing changes), and check/plan with diff. Prints median wall time, controller CPU time and
peak RSS, the dr/ansible ratios, dr's cold (first contact) against warm agent push, and the
physical floor: N parallel fresh `ssh true` connections. Checks that both tools leave
byte-identical files.

Usage: bench/run.py [--hosts 1,10,50] [--reps 3] [--release]
Needs: openssh-server and openssh-client (apt), python3 with venv, root (sshd as root).
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd, env=None, cwd=None):
    """Runs cmd; returns (wall seconds, controller CPU seconds, peak RSS MiB, exit code, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024.0, code, out.decode(errors="replace")


class Hosts:
    """N sshd instances on loopback sharing one host key and one client key."""

    def __init__(self, n, work):
        self.n, self.work = n, work
        self.ports = []
        self.procs = []
        keys = work / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        self.client_key = keys / "client"
        self.host_key = keys / "host"
        if not self.client_key.exists():
            sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key)])
            sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.host_key)])
        (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
        self.host_pub = (keys / "host.pub").read_text().split()[:2]
        Path("/run/sshd").mkdir(exist_ok=True)
        for i in range(n):
            port = free_port()
            cfg = work / f"sshd-{i}.conf"
            cfg.write_text(
                f"Port {port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\n"
                f"AuthorizedKeysFile {keys}/authorized_keys\nPidFile {work}/sshd-{i}.pid\n"
                "StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication no\n"
                "MaxStartups 200:30:400\nMaxSessions 200\nLogLevel ERROR\n"
            )
            self.procs.append(subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)], stderr=subprocess.DEVNULL))
            self.ports.append(port)
        for port in self.ports:
            deadline = time.time() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise SystemExit(f"sshd on port {port} did not start")
                    time.sleep(0.05)
        known = work / "known_hosts"
        known.write_text("".join(f"[127.0.0.1]:{p} {' '.join(self.host_pub)}\n" for p in self.ports))
        self.known_hosts = known

    def stop(self):
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.wait()

    def inventory(self, path, tool, roots):
        lines = ["all:", "  hosts:"]
        for i, port in enumerate(self.ports):
            lines += [
                f"    h{i:02d}:",
                "      ansible_host: 127.0.0.1",
                f"      ansible_port: {port}",
                "      ansible_user: root",
                f"      ansible_ssh_private_key_file: {self.client_key}",
                f"      root: {roots}/h{i:02d}",
            ]
            if tool == "dr":
                lines.append(f"      dr_host_key: \"{' '.join(self.host_pub)}\"")
        lines += [
            "  vars:",
            "    ansible_python_interpreter: /usr/bin/python3",
            f"    ansible_ssh_common_args: \"-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes\"",
        ]
        path.write_text("\n".join(lines) + "\n")

    def floor(self):
        """N parallel fresh ssh connections running `true`."""
        start = time.perf_counter()
        procs = [
            subprocess.Popen(
                ["ssh", "-i", str(self.client_key), "-p", str(p), "-o", f"UserKnownHostsFile={self.known_hosts}",
                 "-o", "StrictHostKeyChecking=yes", "-o", "ControlMaster=no", "-o", "BatchMode=yes", "root@127.0.0.1", "true"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for p in self.ports
        ]
        codes = [p.wait() for p in procs]
        if any(codes):
            raise SystemExit("ssh floor measurement failed: is openssh-client installed?")
        return time.perf_counter() - start


def tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            rel = p.relative_to(root)
            if rel.name == "RELEASE":
                continue
            out[str(rel)] = (p.read_bytes(), p.stat().st_mode & 0o7777)
    return out


def ensure_ansible(work):
    venv = work / "ansible-venv"
    if not (venv / "bin" / "ansible-playbook").exists():
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "pip"), "install", "-q", "ansible-core>=2.16,<2.18"])
    return venv / "bin"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", default="1,10,50")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--release", action="store_true", help="build and use the release binaries")
    args = ap.parse_args()
    profile = "release" if args.release else "debug"
    cargo = ["cargo", "build", "-q", "-p", "dr", "-p", "dr-agent"] + (["--release"] if args.release else [])
    sh(cargo, cwd=REPO)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    dr = target / profile / "dr"
    work = Path(tempfile.mkdtemp(prefix="dr-bench-"))
    ansible_bin = ensure_ansible(target)
    env_ans = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="1", ANSIBLE_HOST_KEY_CHECKING="True",
                   ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s", ANSIBLE_FORKS="50",
                   ANSIBLE_GATHERING="explicit", ANSIBLE_CALLBACK_RESULT_FORMAT="yaml")
    results = []
    try:
        for n in [int(x) for x in args.hosts.split(",")]:
            hosts = Hosts(n, work / f"n{n}")
            try:
                results.append(bench_n(n, hosts, work / f"n{n}", dr, ansible_bin, env_ans, args.reps))
            finally:
                hosts.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, profile)


def bench_n(n, hosts, work, dr, ansible_bin, env_ans, reps):
    inv = {t: work / f"inv-{t}.yml" for t in ("dr", "ansible")}
    roots = {t: work / f"roots-{t}" for t in ("dr", "ansible")}
    for t in ("dr", "ansible"):
        hosts.inventory(inv[t], t, roots[t])
    play = str(BENCH / "playbook.yml")
    env_ans = dict(env_ans, ANSIBLE_FORKS=str(max(n, 5)))
    cmds = {
        "ansible": {
            "apply": [str(ansible_bin / "ansible-playbook"), "-i", str(inv["ansible"]), play],
            "plan": [str(ansible_bin / "ansible-playbook"), "-i", str(inv["ansible"]), play, "--check", "--diff"],
        },
        "dr": {
            "apply": [str(dr), "apply", play, "-i", str(inv["dr"]), "--forks", str(max(n, 1))],
            "plan": [str(dr), "plan", play, "-i", str(inv["dr"]), "--forks", str(max(n, 1))],
        },
    }
    env = {"ansible": env_ans, "dr": dict(os.environ, NO_COLOR="1")}
    ok_codes = {"apply": (0,), "plan": (0, 2)}
    samples = {(t, phase): [] for t in ("dr", "ansible") for phase in ("first", "converged", "plan")}
    cold = []
    for rep in range(reps):
        order = ("dr", "ansible") if rep % 2 == 0 else ("ansible", "dr")
        for t in order:
            shutil.rmtree(roots[t], ignore_errors=True)
            if t == "dr":
                shutil.rmtree(Path.home() / ".cache" / "dr", ignore_errors=True)
            for phase, cmd in (("first", "apply"), ("converged", "apply"), ("plan", "plan")):
                wall, cpu, rss, code, out = timed(cmds[t][cmd], env=env[t], cwd=work)
                if code not in ok_codes[cmd] or (phase == "plan" and t == "dr" and code != 0):
                    raise SystemExit(f"{t} {phase} failed (exit {code}):\n{out[-3000:]}")
                samples[(t, phase)].append((wall, cpu, rss))
                if t == "dr" and phase == "first":
                    cold.append(wall)
        a, b = tree(roots["dr"]), tree(roots["ansible"])
        if a != b:
            diff = sorted(set(a) ^ set(b)) or [k for k in a if a[k] != b.get(k)]
            raise SystemExit(f"dr and ansible-playbook left different files: {diff[:10]}")
    floor = statistics.median(hosts.floor() for _ in range(3))
    return {"n": n, "samples": samples, "floor": floor}


def report(results, profile):
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    print(f"\ndr vs ansible-playbook ({profile} build of dr), medians; times in seconds, RSS in MiB")
    print(f"{'N':>3} {'phase':<10} {'dr wall':>8} {'ans wall':>9} {'speedup':>8} {'dr cpu':>7} {'ans cpu':>8} {'dr rss':>7} {'ans rss':>8} {'floor':>6} {'dr/floor':>8}")
    for r in results:
        for phase in ("first", "converged", "plan"):
            d, a = r["samples"][("dr", phase)], r["samples"][("ansible", phase)]
            dw, aw = med(d, 0), med(a, 0)
            print(f"{r['n']:>3} {phase:<10} {dw:>8.3f} {aw:>9.3f} {aw / dw:>7.1f}x {med(d, 1):>7.3f} {med(a, 1):>8.3f} {med(d, 2):>7.1f} {med(a, 2):>8.1f} {r['floor']:>6.3f} {dw / r['floor']:>7.2f}x")
    print("\n'first' includes dr's cold agent push (the agent cache is removed before each first run);")
    print("'converged' and 'plan' are warm. floor = N parallel fresh OpenSSH connections running `true`.")
    print("Both tools left byte-identical files in every repetition.")
    print(json.dumps([{"n": r["n"], "floor": r["floor"], **{f"{t}_{p}": [list(x) for x in v] for (t, p), v in r["samples"].items()}} for r in results]), file=sys.stderr)


if __name__ == "__main__":
    main()

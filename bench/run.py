#!/usr/bin/env python3
"""Side-by-side benchmark: dr against ansible-playbook, Ansible with Mitogen and pyinfra on the
same hosts, in one run.

Starts N OpenSSH sshd instances on 127.0.0.1 (each "host" has its own root directory),
installs ansible-core, Mitogen and pyinfra from PyPI into venvs (see bench/peers.py), and runs
bench/playbook.yml with dr, ansible-playbook and ansible-playbook + Mitogen, and its pyinfra
rewrite bench/pyinfra_deploy.py with pyinfra, alternating, several repetitions each: first run
(everything changes), converged run (nothing changes), and check/plan with diff. Prints median
wall time, controller CPU time and peak RSS, the tool/dr ratios, dr's cold (first contact)
against warm agent push, and the physical floor: N parallel fresh `ssh true` connections.
Checks that every tool leaves byte-identical files and reports the changes it made.

Usage: bench/run.py [--hosts 1,10,50] [--reps 3 | --reps 3,3,1] [--release] [--dr PATH] [--agent PATH]
Needs: openssh-server and openssh-client (apt), python3 with venv, root (sshd as root).

Every tool logs in as the user `drbench` (created if missing, login shell /bin/sh, home
/var/lib/drbench). Not as root on purpose: Debian's bash sources ~/.bashrc for commands run
by sshd, and a developer's root .bashrc (pyenv init, ...) adds ~0.25 s to every SSH command,
which would charge a cost that real hosts don't have to every Ansible task.
"""

import argparse
import json
import re
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

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import peers  # noqa: E402

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
    wall, user, system, rss, code, out = timed_split(cmd, env, cwd)
    return wall, user + system, rss, code, out


def timed_split(cmd, env=None, cwd=None):
    """Runs cmd; returns (wall seconds, user CPU seconds, system CPU seconds, peak RSS MiB,
    exit code, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    return (wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024.0, code,
            out.decode(errors="replace"))


USER = "drbench"


def ensure_user():
    """The login user on the benchmark hosts: a plain /bin/sh account (see the module doc)."""
    if subprocess.run(["id", "-u", USER], capture_output=True).returncode != 0:
        sh(["useradd", "--system", "--create-home", "--home-dir", f"/var/lib/{USER}", "--shell", "/bin/sh", USER])
        # A locked password (`!`) makes sshd without PAM refuse even key logins; `*` is no password.
        sh(["usermod", "-p", "*", USER])
    import pwd
    entry = pwd.getpwnam(USER)
    return entry.pw_uid, entry.pw_gid


def chown_tree(path, ids):
    for dirpath, dirs, files in os.walk(path):
        os.chown(dirpath, *ids)
        for f in files:
            os.chown(os.path.join(dirpath, f), *ids)


class Hosts:
    """N sshd instances on loopback sharing one host key and one client key."""

    def __init__(self, n, work):
        self.n, self.work = n, work
        self.ids = ensure_user()
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
        # The hosts' root dirs and agent caches live under work, owned by the login user (the
        # caller makes work's parent, a private temp dir, traversable: see main).
        chown_tree(work, self.ids)
        for i in range(n):
            port = free_port()
            cfg = work / f"sshd-{i}.conf"
            cfg.write_text(
                f"Port {port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\n"
                f"AuthorizedKeysFile {keys}/authorized_keys\nPidFile {work}/sshd-{i}.pid\n"
                "StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication no\n"
                "MaxStartups 200:30:400\nMaxSessions 200\nLogLevel ERROR\n"
                # pyinfra uploads files over SFTP; Debian's sshd_config enables it the same way.
                "Subsystem sftp /usr/lib/openssh/sftp-server\n"
                f"SetEnv XDG_CACHE_HOME={self.cache(i)}\n"
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

    def cache(self, i):
        """Host i's agent cache: each sshd sets its own XDG_CACHE_HOME, so hosts do not share it."""
        return self.work / f"cache-{i}"

    def clear_caches(self):
        for i in range(self.n):
            shutil.rmtree(self.cache(i), ignore_errors=True)
            self.cache(i).mkdir()
            os.chown(self.cache(i), *self.ids)

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
                f"      ansible_user: {USER}",
                f"      ansible_ssh_private_key_file: {self.client_key}",
                f"      root: {roots}/h{i:02d}",
            ]
            if tool == "dr":
                lines.append(f"      dr_host_key: \"{' '.join(self.host_pub)}\"")
        lines += [
            "  vars:",
            "    ansible_python_interpreter: /usr/bin/python3",
            f"    ansible_ssh_common_args: \"-F /dev/null -o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes\"",
        ]
        path.write_text("\n".join(lines) + "\n")

    def floor(self, kex=None):
        """N parallel fresh ssh connections running `true`. `kex` picks the key exchange:
        OpenSSH 9.2 defaults to sntrup761x25519, which costs client and server ~0.1 s of CPU
        each here; dr (russh) negotiates curve25519-sha256, so that floor is the fair one."""
        extra = ["-o", f"KexAlgorithms={kex}"] if kex else []
        start = time.perf_counter()
        procs = [
            subprocess.Popen(
                ["ssh", "-F", "/dev/null", "-i", str(self.client_key), "-p", str(p), "-o", f"UserKnownHostsFile={self.known_hosts}",
                 "-o", "StrictHostKeyChecking=yes", "-o", "ControlMaster=no", "-o", "BatchMode=yes", *extra,
                 f"{USER}@127.0.0.1", "true"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for p in self.ports
        ]
        codes = [p.wait() for p in procs]
        if any(codes):
            raise SystemExit("ssh floor measurement failed: is openssh-client installed?")
        return time.perf_counter() - start


def tree(root):
    """Every file and directory under root: relative path → (mode, bytes or None for a directory)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mode, None if p.is_dir() else p.read_bytes())
    return out


def ensure_ansible(target):
    venv = target / "ansible-venv"
    if not (venv / "bin" / "ansible-playbook").exists():
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "pip"), "install", "-q", "ansible-core==2.19.14"])
    return venv / "bin"


PHASES = ("first", "converged", "plan")
TOOLS = ("dr", "ansible", "mitogen", "pyinfra")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", default="1,10,50", help="comma-separated host counts (default 1,10,50)")
    ap.add_argument("--reps", default="3",
                    help="repetitions per tool and phase: one number, or one per host count (3,3,1); default 3")
    ap.add_argument("--release", action="store_true", help="build and use the release binaries")
    ap.add_argument("--dr", type=Path, help="use this dr binary (its dr-agent next to it) instead of building")
    ap.add_argument("--agent", type=Path,
                    help="the agent binary dr pushes (default: the dr-agent beside dr); a .zst beside it is sent as it is")
    ap.add_argument("--json", type=Path, help="also write every sample to this file")
    args = ap.parse_args()
    if args.agent:
        os.environ["DR_AGENT"] = str(args.agent.resolve())
    counts = [int(x) for x in args.hosts.split(",")]
    reps = [int(x) for x in args.reps.split(",")]
    if len(reps) == 1:
        reps *= len(counts)
    if len(reps) != len(counts) or min(reps) < 1:
        raise SystemExit(f"--reps {args.reps}: give one count, or one per host count ({args.hosts})")
    profile = "release" if args.release else "debug"
    # The binaries come from CARGO_TARGET_DIR when it is set, as cargo builds them there.
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if args.dr:
        dr, profile = args.dr.resolve(), str(args.dr)
    else:
        cargo = ["cargo", "build", "-q", "-p", "dr", "-p", "dr-agent"] + (["--release"] if args.release else [])
        sh(cargo, cwd=REPO)
        dr = target / profile / "dr"
    bins = {"ansible": ensure_ansible(target), "mitogen": peers.ensure_mitogen(target), "pyinfra": peers.ensure_pyinfra(target)}
    version = subprocess.run([str(bins["ansible"] / "ansible-playbook"), "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    version += f", {peers.MITOGEN.replace('==', ' ')}, {peers.PYINFRA.replace('==', ' ')}"
    work = Path(tempfile.mkdtemp(prefix="dr-bench-"))
    os.chmod(work, 0o755)  # mkdtemp makes it 0700; the login user must reach the hosts' dirs
    load_before = os.getloadavg()
    results = []
    try:
        for n, r in zip(counts, reps):
            hosts = Hosts(n, work / f"n{n}")
            try:
                results.append(bench_n(n, hosts, work / f"n{n}", dr, bins, r))
                # A run with N = 50 takes a while (Ansible): show each N as soon as it is done.
                print(f"N = {n} done: {progress(results[-1])}", file=sys.stderr, flush=True)
            finally:
                hosts.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, profile, version, load_before, os.getloadavg())
    if args.json:
        args.json.write_text(json.dumps([
            {"n": r["n"], "reps": r["reps"], "floor": r["floor"], "floor_samples": r["floor_samples"],
             "floor_default": r["floor_default"], "cold": r["cold"], "warm": r["warm"], "load": r["load"],
             **{f"{t}_{p}": r["samples"][(t, p)] for t in TOOLS for p in PHASES}}
            for r in results], indent=1))


def bench_n(n, hosts, work, dr, bins, reps):
    inv = {t: work / f"inv-{t}.yml" for t in ("dr", "ansible", "mitogen")}
    inv["pyinfra"] = work / "inv-pyinfra.py"
    roots = {t: work / f"roots-{t}" for t in TOOLS}
    for t in ("dr", "ansible", "mitogen"):
        hosts.inventory(inv[t], t, roots[t])
    peers.pyinfra_inventory(inv["pyinfra"], hosts, USER, roots["pyinfra"])
    play = str(BENCH / "playbook.yml")
    # The plan/check phase asks for a failover: DATABASE_URL would move to another host, so
    # every tool computes and prints a diff on every host.
    failover = ["-e", f"db_host={FAILOVER}"]

    def ansible(t):
        ap = str(bins[t] / "ansible-playbook")
        return {
            "first": [ap, "-i", str(inv[t]), play],
            "converged": [ap, "-i", str(inv[t]), play],
            "plan": [ap, "-i", str(inv[t]), play, "--check", "--diff"] + failover,
        }

    cmds = {
        "ansible": ansible("ansible"),
        "mitogen": ansible("mitogen"),
        "pyinfra": peers.pyinfra_cmds(bins["pyinfra"], inv["pyinfra"], n, FAILOVER),
        "dr": {
            "first": [str(dr), "apply", play, "-i", str(inv["dr"]), "--forks", str(n)],
            "converged": [str(dr), "apply", play, "-i", str(inv["dr"]), "--forks", str(n)],
            "plan": [str(dr), "plan", play, "-i", str(inv["dr"]), "--forks", str(n)] + failover,
        },
    }
    # ansible-playbook at its best: one fork per host, pipelining, ControlPersist, no facts.
    env_ans = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="1", ANSIBLE_HOST_KEY_CHECKING="True",
                   ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s",
                   ANSIBLE_SSH_CONTROL_PATH_DIR=str(work / "cp"), ANSIBLE_FORKS=str(n),
                   ANSIBLE_GATHERING="explicit", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCAL_TEMP=str(work / "ans-tmp"))
    env = {"ansible": env_ans, "mitogen": peers.mitogen_env(env_ans, bins["mitogen"], work),
           "pyinfra": peers.pyinfra_env(), "dr": dict(os.environ, NO_COLOR="1")}
    # `dr plan` exits 2 when it finds changes; the others exit 0.
    expect = {(t, p): (2,) if (t, p) == ("dr", "plan") else (0,) for t in TOOLS for p in PHASES}
    samples = {(t, p): [] for t in TOOLS for p in PHASES}
    cold, warm = [], []
    load = [os.getloadavg()[0]]

    def run(t, phase):
        wall, cpu, rss, code, out = timed(cmds[t][phase], env=env[t], cwd=work)
        if code not in expect[(t, phase)]:
            raise SystemExit(f"{t} {phase} with {n} hosts: exit {code}, expected {expect[(t, phase)]}:\n{out[-3000:]}")
        check_output(t, phase, n, out)
        return wall, cpu, rss

    for rep in range(reps):
        # Alternating directions, so that load from outside hits every tool alike.
        order = TOOLS if rep % 2 == 0 else TOOLS[::-1]
        for t in order:
            shutil.rmtree(roots[t], ignore_errors=True)
            if t == "dr":
                hosts.clear_caches()
            for phase in PHASES:
                samples[(t, phase)].append(run(t, phase))
            if t == "dr":
                cold.append(samples[("dr", "first")][-1][0])
                # The same first run again with the agent already cached on every host.
                shutil.rmtree(roots["dr"])
                warm.append(run("dr", "first")[0])
        load.append(os.getloadavg()[0])
        a = tree(roots["dr"])
        if len(a) != n * 17:
            raise SystemExit(f"dr left {len(a)} entries, expected {n * 17}")
        for t in TOOLS[1:]:
            b = tree(roots[t])
            if a != b:
                diff = sorted(set(a) ^ set(b)) or sorted(k for k in a if a[k] != b.get(k))
                raise SystemExit(f"dr and {t} left different files ({len(a)} vs {len(b)} entries): {diff[:10]}")
    floors = [hosts.floor("curve25519-sha256") for _ in range(max(reps, 3))]
    default_floors = [hosts.floor() for _ in range(max(reps, 3))]
    return {"n": n, "reps": reps, "samples": samples, "floor": statistics.median(floors), "floor_samples": floors,
            "floor_default": statistics.median(default_floors), "cold": cold, "warm": warm, "load": load}


FAILOVER = "akira-db-03"


def check_output(tool, phase, n, out):
    """Every tool must report what really happened. dr and Ansible (with or without Mitogen)
    in their summaries (`changed=K` per host, counted per task by both): every task changed on
    the first run, nothing on the converged run, only the DATABASE_URL line, with its diff, on
    the plan. pyinfra per operation and host: see peers.check_pyinfra."""
    if tool == "pyinfra":
        ok, what = peers.check_pyinfra(phase, n, out, FAILOVER)
        if not ok:
            raise SystemExit(f"pyinfra {phase} with {n} hosts did not report {what}:\n{out[-3000:]}")
        return
    want = {"first": 11, "converged": 0, "plan": 1}[phase]
    changed = [int(c) for c in re.findall(r"^\s*h\d+\s.*?changed=(\d+)", out, re.M)]
    ok = len(changed) == n and all(c == want for c in changed)
    if phase == "plan":
        # dr masks the password inside the URL, Ansible prints it.
        diffs = re.findall(r"^\s*\+DATABASE_URL=postgres://app:\S+@akira-db-03:5432/akira$", out, re.M)
        ok = ok and len(diffs) == n
    if not ok:
        raise SystemExit(f"{tool} {phase} with {n} hosts did not report {want} changed task(s) per host:\n{out[-3000:]}")


def progress(r):
    med = lambda t, p: statistics.median(x[0] for x in r["samples"][(t, p)])
    return "; ".join(f"{p} " + ", ".join(f"{t} {med(t, p):.3f} s" for t in TOOLS) for p in PHASES) + \
        f"; floor {r['floor']:.3f} s"


def ratio(x):
    return f"{x:.1f}×" if x < 10 else f"{x:.0f}×"


def report(results, profile, version, load_before, load_after):
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    reps = ", ".join(f"{r['reps']} at N = {r['n']}" for r in results)
    print(f"\ndr ({profile} build) vs {version}; medians of {reps}; wall and CPU in seconds, peak RSS in MiB")
    if os.environ.get("DR_AGENT"):
        agent = Path(os.environ["DR_AGENT"])
        zst = agent.with_name(agent.name + ".zst")
        sent = f"{zst.stat().st_size / 1e6:.1f} MB as its zstd -19 copy" if zst.is_file() else "compressed per run"
        print(f"agent pushed: {agent.name}, {agent.stat().st_size / 1e6:.1f} MB, sent {sent}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
          + "; ".join(f"N = {r['n']}: {min(r['load']):.1f}–{max(r['load']):.1f}" for r in results)
          + f" (sampled between repetitions); {os.cpu_count()} CPUs\n")
    print("| N | phase | dr | ansible | mitogen | pyinfra | ansible/dr | mitogen/dr | pyinfra/dr | floor | dr/floor |")
    print("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        for phase in PHASES:
            w = {t: med(r["samples"][(t, phase)], 0) for t in TOOLS}
            ratios = " | ".join(ratio(w[t] / w["dr"]) for t in TOOLS[1:])
            print(f"| {r['n']} | {phase} | {w['dr']:.3f} | {w['ansible']:.2f} | {w['mitogen']:.2f} | {w['pyinfra']:.2f} "
                  f"| {ratios} | {r['floor']:.3f} | {w['dr'] / r['floor']:.2f}× |")
    print("\nController CPU (s) and peak RSS (MiB):\n")
    print("| N | phase | " + " | ".join(f"{t} CPU" for t in TOOLS) + " | " + " | ".join(f"{t} RSS" for t in TOOLS) + " |")
    print("|--:|---|" + "--:|" * (2 * len(TOOLS)))
    for r in results:
        for phase in PHASES:
            s = {t: r["samples"][(t, phase)] for t in TOOLS}
            print(f"| {r['n']} | {phase} | " + " | ".join(f"{med(s[t], 1):.3f}" for t in TOOLS) + " | "
                  + " | ".join(f"{med(s[t], 2):.1f}" for t in TOOLS) + " |")
    print("\n| N | dr first run, cold agent push | cold/floor | dr first run, agent cached | cached/floor | floor (curve25519) | floor (OpenSSH default kex) |")
    print("|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        cold, warm = statistics.median(r["cold"]), statistics.median(r["warm"])
        print(f"| {r['n']} | {cold:.3f} | {cold / r['floor']:.2f}× | {warm:.3f} | {warm / r['floor']:.2f}× "
              f"| {r['floor']:.3f} | {r['floor_default']:.3f} |")
    print("\nfirst = empty hosts, every task changes (dr: agent cache removed first, so it includes the push);")
    print("converged = nothing changes; plan = `dr plan` / `ansible-playbook --check --diff` (with and without")
    print("Mitogen) / `pyinfra --dry --diff` of a failover (db_host=akira-db-03: one DATABASE_URL diff per host).")
    print("floor = N parallel fresh OpenSSH connections running `true` with the key exchange dr negotiates")
    print("(curve25519-sha256; OpenSSH's default sntrup761 one is dearer, shown apart). CPU and RSS are the")
    print("controller's (its process tree; RSS = largest single process). All four tools left byte-identical")
    print("files (content, mode) in every repetition and reported the changes they made.")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Vault cost: passphrase vault files against vault files sealed to the team key.

Builds N = 1 and N = 10 vault files in both schemes in a temporary project (dr.toml naming a
password file, one local host, a play whose vars_files are the N vaults and whose one task
templates every secret into a file), then times `dr plan` on it: median wall time and peak
RSS (the child's ru_maxrss) over several runs, with the targets and the ratios.

- passphrase: `dr vault encrypt` with the password; age calibrates scrypt to about one
  second on this machine (log2 N = 18 or more: 256 MiB or more), and every file pays it.
- team key: `dr vault keygen` (scrypt log2 N = 15, 32 MiB, once per run), then
  `dr vault migrate`: every file is sealed to the key's X25519 public key.

Usage: bench/vault.py [--dr target/release/dr] [--reps 3] [--counts 1,10]
Build first: cargo build --release -p dr --bin dr
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_WALL = 0.3  # seconds, 10 team-key vault files
TARGET_RSS_MB = 64


def run(dr, cwd, args):
    """Runs dr for setup; exits with its output if it fails."""
    proc = subprocess.run(
        [dr, *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    if proc.returncode != 0:
        sys.exit(
            f"dr {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout.decode()}\n{proc.stderr.decode()}"
        )


def measure(dr, cwd, args):
    """Wall time and peak RSS (MB) of one dr run, from wait4's rusage."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.chdir(cwd)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.environ["NO_COLOR"] = "1"
        try:
            os.execv(dr, [dr, *args])
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    # `dr plan` exits 2 when it would change something (the bench's play always would).
    if os.waitstatus_to_exitcode(status) not in (0, 2):
        run(dr, cwd, args)  # re-run to show the output, then exit
        sys.exit(f"dr {' '.join(args)} failed")
    return wall, usage.ru_maxrss / 1024


def scrypt_log_n(path):
    """The scrypt work factor in an armored age passphrase file's header, or None."""
    import base64

    lines = path.read_text().strip().splitlines()[1:-1]
    header = base64.b64decode("".join(lines))
    for line in header.split(b"\n"):
        if line.startswith(b"-> scrypt "):
            return int(line.split()[-1])
        if line.startswith(b"---"):
            return None
    return None


def project(dr, root, n, scheme):
    """A project with n vault files in `scheme` ("passphrase" or "team key")."""
    root.mkdir(parents=True)
    (root / "dr.toml").write_text('vault_password_file = "pw"\n')
    (root / "pw").write_text("correct horse battery staple\n")
    (root / "inv.yml").write_text(
        "all:\n  hosts:\n    local-01:\n      ansible_connection: local\n"
    )
    (root / "vault").mkdir()
    files = [f"vault/v{i}.yml" for i in range(n)]
    content = "".join(f"{{{{ secret_{i} }}}}\\n" for i in range(n))
    (root / "p.yml").write_text(
        "- name: vaults\n  hosts: all\n  gather_facts: false\n"
        f"  vars_files: [{', '.join(files)}]\n  tasks:\n"
        f'    - name: secrets\n      copy:\n        content: "{content}"\n'
        f'        dest: "{root}/out.txt"\n'
    )
    for i, f in enumerate(files):
        (root / f).write_text(f'secret_{i}: "s3cret-{i}"\n')
        run(dr, root, ["vault", "encrypt", f])
    factors = sorted({scrypt_log_n(root / f) for f in files})
    if scheme == "team key":
        run(dr, root, ["vault", "keygen"])
        run(dr, root, ["vault", "migrate", *files])
        factors = [scrypt_log_n(root / "vault/.key.age")]
    return files, factors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dr", default=str(REPO / "target/release/dr"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--counts", default="1,10")
    a = ap.parse_args()
    dr = os.path.abspath(a.dr)
    if not os.access(dr, os.X_OK):
        sys.exit(f"{dr} not found: cargo build --release -p dr --bin dr (or pass --dr)")
    counts = [int(c) for c in a.counts.split(",")]
    results = {}
    with tempfile.TemporaryDirectory(prefix="dr-vault-bench-") as tmp:
        for n in counts:
            for scheme in ("passphrase", "team key"):
                root = Path(tmp) / f"{scheme.replace(' ', '-')}-{n}"
                files, factors = project(dr, root, n, scheme)
                plan = [measure(dr, root, ["plan", "p.yml", "-i", "inv.yml"]) for _ in range(a.reps)]
                view = [measure(dr, root, ["vault", "view", files[0]]) for _ in range(a.reps)]
                results[(n, scheme)] = {
                    "log_n": ",".join(str(f) for f in factors),
                    "plan": (statistics.median(w for w, _ in plan), max(r for _, r in plan)),
                    "view": (statistics.median(w for w, _ in view), max(r for _, r in view)),
                }
    print(f"dr vault benchmark: median wall / peak RSS of {a.reps} runs, `dr plan` reading N vault files")
    print(
        f"{'N':>3}  {'scheme':<11} {'scrypt log2 N':>13} {'plan wall':>10} {'plan RSS':>9} "
        f"{'view wall':>10} {'view RSS':>9}"
    )
    for (n, scheme), r in results.items():
        (pw, pr), (vw, vr) = r["plan"], r["view"]
        print(
            f"{n:>3}  {scheme:<11} {r['log_n']:>13} {pw:>9.3f}s {pr:>7.0f}MB "
            f"{vw:>9.3f}s {vr:>7.0f}MB"
        )
    for n in counts:
        p, t = results[(n, "passphrase")]["plan"], results[(n, "team key")]["plan"]
        print(f"N={n}: team key is {p[0] / t[0]:.0f}x faster, {p[1] / t[1]:.0f}x less memory")
    if 10 in counts:
        w, r = results[(10, "team key")]["plan"]
        ok = w < TARGET_WALL and r < TARGET_RSS_MB
        print(
            f"target (10 team-key vaults): < {TARGET_WALL} s and < {TARGET_RSS_MB} MB: "
            f"{w:.3f} s, {r:.0f} MB -> {'met' if ok else 'NOT met'}"
        )


if __name__ == "__main__":
    main()

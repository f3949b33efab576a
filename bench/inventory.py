#!/usr/bin/env python3
"""Inventory scaling benchmark: how long dr takes to read big inventories and to plan a
1-host play against them.

Generates YAML and INI inventories of N hosts (1k, 10k, 100k by default) with a realistic
shape: `prod`/`staging` environments whose children are role groups (`prod_web`, ...), role
groups (`web`, `db`, ...) whose children are the same role groups, 8 datacenters whose
children are racks of 40 hosts, a `monitoring` group holding every 10th host, vars on every
group, inline vars on every host, `group_vars/` files and a `host_vars/` file. Every host is
in 2 or 3 groups directly and 5 or 6 with ancestry. The two formats describe the same
inventory, so `dr inventory list` prints the same lines for both.

Then times, for each N and format:
- **load**: `dr inventory list -i INV` (read the inventory, resolve every host's groups,
  print one line per host);
- **plan**: `dr plan -i INV play.yml` where the play targets one host (`hosts: <host>`,
  `ansible_connection: local` from its `host_vars/` file) and runs one `debug` task.

Prints wall seconds, CPU seconds and peak RSS (MiB) of dr, the median over `--reps`, the
ratio to the target (below 1 is met) and a digest of `dr inventory list`'s output, so two
builds can be checked to print the same hosts in the same order. A run that fails (dr's YAML
reader refuses a file of more than 250,000 nodes, so the 100k YAML inventory) or passes
`--timeout` is shown as such and the others go on.

Usage: bench/inventory.py [--sizes 1000,10000,100000] [--formats yaml,ini] [--reps 3]
                          [--timeout 120] [--dr PATH] [--json FILE] [--keep DIR]
Builds `cargo build --release -p dr` first unless `--dr` names a binary.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

ROLES = ["web", "app", "db", "cache", "queue", "search", "lb", "worker"]
ENVS = ["prod", "staging"]
DCS = [f"dc{i}" for i in range(1, 9)]
RACK_SIZE = 40

# Seconds: (what, hosts) -> target. Release build, this machine.
TARGETS = {("load", 10_000): 0.3, ("load", 100_000): 3.0, ("plan", 10_000): 0.5}


class Shape:
    """The inventory of `n` hosts, as plain data both writers share."""

    def __init__(self, n):
        self.n = n
        self.hosts = [f"{ROLES[i % len(ROLES)]}-{i:06d}" for i in range(n)]
        # The play's one host: in the middle, so nothing favours the first or last host.
        self.target = self.hosts[n // 2]

    def env(self, i):
        return ENVS[0] if i % 5 else ENVS[1]

    def role(self, i):
        return ROLES[i % len(ROLES)]

    def dc(self, i):
        return DCS[(i // RACK_SIZE) % len(DCS)]

    def rack(self, i):
        return f"{self.dc(i)}_r{i // RACK_SIZE:05d}"

    def host_vars(self, i):
        return {
            "ansible_host": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
            "serial_no": f"SN{i:08d}",
            "rack_unit": i % RACK_SIZE + 1,
        }

    def leaf_groups(self):
        """`prod_web`, ...: environment × role, each with its hosts in order."""
        leaves = {f"{e}_{r}": [] for e in ENVS for r in ROLES}
        for i, h in enumerate(self.hosts):
            leaves[f"{self.env(i)}_{self.role(i)}"].append(i)
        return leaves

    def racks(self):
        """Rack name -> host indices, grouped by datacenter, in first-seen order."""
        by_dc = {dc: {} for dc in DCS}
        for i in range(self.n):
            by_dc[self.dc(i)].setdefault(self.rack(i), []).append(i)
        return by_dc

    def monitoring(self):
        return [i for i in range(self.n) if i % 10 == 0]


def group_vars(name):
    return {"group_label": name, "owner": f"team-{name.split('_')[-1]}"}


def yaml_scalar(v):
    return str(v) if isinstance(v, int) else json.dumps(v)


def write_yaml(shape, path):
    out = ["all:", "  vars:", "    ntp_server: ntp.example.com", "    domain: example.com", "  children:"]

    def vars_block(indent, name):
        out.append(f"{indent}vars:")
        for k, v in group_vars(name).items():
            out.append(f"{indent}  {k}: {yaml_scalar(v)}")

    def hosts_block(indent, indices, with_vars):
        out.append(f"{indent}hosts:")
        for i in indices:
            if with_vars:
                inline = ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in shape.host_vars(i).items())
                out.append(f"{indent}  {shape.hosts[i]}: {{{inline}}}")
            else:
                out.append(f"{indent}  {shape.hosts[i]}:")

    leaves = shape.leaf_groups()
    for env in ENVS:
        out.append(f"    {env}:")
        vars_block("      ", env)
        out.append("      children:")
        for role in ROLES:
            leaf = f"{env}_{role}"
            out.append(f"        {leaf}:")
            vars_block("          ", leaf)
            hosts_block("          ", leaves[leaf], True)
    for role in ROLES:
        out.append(f"    {role}:")
        vars_block("      ", role)
        out.append("      children:")
        for env in ENVS:
            out.append(f"        {env}_{role}:")
    for dc, racks in shape.racks().items():
        out.append(f"    {dc}:")
        vars_block("      ", dc)
        out.append("      children:")
        for rack, indices in racks.items():
            out.append(f"        {rack}:")
            vars_block("          ", rack)
            hosts_block("          ", indices, False)
    out.append("    monitoring:")
    vars_block("      ", "monitoring")
    hosts_block("      ", shape.monitoring(), False)
    path.write_text("\n".join(out) + "\n")


def ini_value(v):
    return str(v) if isinstance(v, int) else v


def write_ini(shape, path):
    out = ["[all:vars]", "ntp_server=ntp.example.com", "domain=example.com", ""]

    def section_vars(name):
        out.append(f"[{name}:vars]")
        for k, v in group_vars(name).items():
            out.append(f"{k}={ini_value(v)}")
        out.append("")

    leaves = shape.leaf_groups()
    for env in ENVS:
        for role in ROLES:
            leaf = f"{env}_{role}"
            out.append(f"[{leaf}]")
            for i in leaves[leaf]:
                inline = " ".join(f"{k}={ini_value(v)}" for k, v in shape.host_vars(i).items())
                out.append(f"{shape.hosts[i]} {inline}")
            out.append("")
            section_vars(leaf)
        out.append(f"[{env}:children]")
        out.extend(f"{env}_{role}" for role in ROLES)
        out.append("")
        section_vars(env)
    for role in ROLES:
        out.append(f"[{role}:children]")
        out.extend(f"{env}_{role}" for env in ENVS)
        out.append("")
        section_vars(role)
    for dc, racks in shape.racks().items():
        for rack, indices in racks.items():
            out.append(f"[{rack}]")
            out.extend(shape.hosts[i] for i in indices)
            out.append("")
            section_vars(rack)
        out.append(f"[{dc}:children]")
        out.extend(racks)
        out.append("")
        section_vars(dc)
    out.append("[monitoring]")
    out.extend(shape.hosts[i] for i in shape.monitoring())
    out.append("")
    section_vars("monitoring")
    path.write_text("\n".join(out))


def write_case(shape, fmt, root):
    """Inventory directory (file + group_vars/ + host_vars/) and the play; returns paths."""
    inv_dir = root / f"inv-{fmt}-{shape.n}"
    inv_dir.mkdir(parents=True)
    inv = inv_dir / ("hosts.yml" if fmt == "yaml" else "hosts.ini")
    (write_yaml if fmt == "yaml" else write_ini)(shape, inv)
    (inv_dir / "group_vars").mkdir()
    (inv_dir / "group_vars" / "all.yml").write_text("timezone: UTC\nbackup_window: '02:00'\n")
    (inv_dir / "group_vars" / "web.yml").write_text("http_port: 8080\n")
    (inv_dir / "group_vars" / "prod").mkdir()
    (inv_dir / "group_vars" / "prod" / "main.yml").write_text("alerting: pager\n")
    (inv_dir / "host_vars").mkdir()
    (inv_dir / "host_vars" / f"{shape.target}.yml").write_text("ansible_connection: local\n")
    play_dir = root / f"play-{fmt}-{shape.n}"
    play_dir.mkdir()
    play = play_dir / "play.yml"
    play.write_text(
        f"- name: one host of {shape.n}\n"
        f"  hosts: {shape.target}\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: say where\n"
        "      debug:\n"
        "        msg: \"{{ inventory_hostname }} in {{ group_names | join(',') }}\"\n"
    )
    return inv, play


def timed(cmd, cwd, timeout):
    """(wall s, CPU s, peak RSS MiB, exit code, stdout bytes); wall None on timeout."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                env={**os.environ, "NO_COLOR": "1"})
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                return None, None, None, None, b""
            time.sleep(0.005)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, proc.returncode, text


def measure(cmd, cwd, reps, timeout, ok_codes):
    samples = []
    for _ in range(reps):
        wall, cpu, rss, code, text = timed(cmd, cwd, timeout)
        if wall is None:
            return {"timeout": timeout}
        if code not in ok_codes:
            message = text.decode(errors="replace").strip()
            sys.stderr.write(f"error: {' '.join(map(str, cmd))} exited {code}:\n{message[-2000:]}\n")
            return {"error": message.splitlines()[0] if message else f"exit {code}"}
        samples.append((wall, cpu, rss))
        if wall > timeout / 2:
            break  # one slow sample is figure enough
    return {
        "wall": statistics.median(s[0] for s in samples),
        "cpu": statistics.median(s[1] for s in samples),
        "rss": max(s[2] for s in samples),
        "samples": [s[0] for s in samples],
        "digest": hashlib.sha256(text).hexdigest()[:12],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--formats", default="yaml,ini")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a run is abandoned")
    ap.add_argument("--dr", help="dr binary to measure (default: build and use target/release/dr)")
    ap.add_argument("--plan-sizes", default="1000,10000,100000", help="sizes to plan against")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--keep", help="generate into this directory and keep it")
    args = ap.parse_args()

    if args.dr:
        dr = Path(args.dr).resolve()
    else:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "dr"], cwd=REPO, check=True)
        dr = REPO / "target" / "release" / "dr"
    sizes = [int(s) for s in args.sizes.split(",")]
    plan_sizes = {int(s) for s in args.plan_sizes.split(",")}
    formats = args.formats.split(",")

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dr-inv-bench-"))
    if args.keep and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for n in sizes:
            shape = Shape(n)
            for fmt in formats:
                inv, play = write_case(shape, fmt, root)
                row = {"hosts": n, "format": fmt, "bytes": inv.stat().st_size}
                row["load"] = measure([dr, "inventory", "list", "-i", inv.parent], root,
                                      args.reps, args.timeout, {0})
                if n in plan_sizes:
                    row["plan"] = measure([dr, "plan", "-i", inv.parent, play], play.parent,
                                          args.reps, args.timeout, {0, 2})
                results.append(row)
                print_row(row, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps({"dr": str(dr), "results": results}, indent=2))


def cell(m):
    if m is None:
        return "-", "-", "-", "-"
    if "timeout" in m:
        return f"> {m['timeout']:.0f}", "-", "-", "-"
    if "error" in m:
        return "failed", "-", "-", "-"
    return f"{m['wall']:.3f}", f"{m['cpu']:.3f}", f"{m['rss']:.1f}", m["digest"]


def ratio(what, n, m):
    target = TARGETS.get((what, n))
    if target is None or m is None:
        return "-"
    if "timeout" in m:
        return f"> {m['timeout'] / target:.0f}× (target {target} s)"
    if "error" in m:
        return f"failed: {m['error'][:60]}"
    verdict = "met" if m["wall"] < target else "MISSED"
    return f"{m['wall'] / target:.2f}× of {target} s: {verdict}"


def print_row(row, flush=False):
    for what in ("load", "plan"):
        if what in row:
            wall, cpu, rss, digest = cell(row[what])
            print(f"{row['hosts']:>7} {row['format']:<4} {what}: wall {wall} s, cpu {cpu} s, "
                  f"rss {rss} MiB, output {digest}", flush=flush)


def print_table(results):
    print("| hosts | format | what | wall s | CPU s | peak RSS MiB | against target | output digest |")
    print("|--:|---|---|--:|--:|--:|---|---|")
    for row in results:
        for what in ("load", "plan"):
            if what not in row:
                continue
            wall, cpu, rss, digest = cell(row[what])
            print(f"| {row['hosts']} | {row['format']} | {what} | {wall} | {cpu} | {rss} | "
                  f"{ratio(what, row['hosts'], row[what])} | {digest if what == 'load' else '-'} |")


if __name__ == "__main__":
    main()

"""What ansible-test gives a `needs/ssh` target: testhost reached over SSH as root on this
machine, not through the local connection, so a script can log in as another user too
(`fetch` runs a playbook as an unprivileged user with `-e ansible_user=...`).

Here that is an sshd of its own on port 22 inside the run's network namespace (loopback
only), with a host key and a client key made for it under target/ansible-ssh/. The client
key is authorized for root while the targets run (a line added to root's authorized_keys,
removed afterwards: a machine change, so only with --allow-destructive). The inventory names
a known_hosts file holding the host key: ansible-test turns host key checking off, dr
checks host keys always, and both connect to the right server.
"""

import os
import shutil
import subprocess
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
MARK = "dr-ansible-targets"


def possible():
    """Whether this machine can run an sshd in a network namespace of its own."""
    return os.geteuid() == 0 and SSHD.exists() and bool(shutil.which("ssh-keygen")) and \
        bool(shutil.which("unshare")) and \
        subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def ensure(d):
    """The keys, sshd's configuration and the known_hosts file under `d`."""
    d.mkdir(parents=True, exist_ok=True)
    for name in ("ssh_host_ed25519_key", "id_ed25519"):
        if not (d / name).exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", MARK, "-f", d / name],
                           check=True)
    host_key = (d / "ssh_host_ed25519_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"localhost,127.0.0.1,::1 {host_key[0]} {host_key[1]}\n")
    (d / "sshd_config").write_text(
        "Port 22\nListenAddress 127.0.0.1\nListenAddress ::1\n"
        f"HostKey {d / 'ssh_host_ed25519_key'}\nPidFile none\nUsePAM yes\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nAuthorizedKeysFile .ssh/authorized_keys\n"
        "Subsystem sftp internal-sftp\n")
    # sshd's privilege separation directory (the openssh-server service makes it at start).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    return d


def host_vars(d):
    """testhost's connection variables, as ansible-test's inventory for `needs/ssh`."""
    return {"ansible_connection": "ssh", "ansible_host": "localhost", "ansible_port": 22,
            "ansible_user": "root", "ansible_ssh_private_key_file": str(d / "id_ed25519"),
            "ansible_ssh_extra_args": f"-o UserKnownHostsFile={d / 'known_hosts'}"}


def jail(d, log):
    """A prefix running a command in its own network namespace with the sshd up on loopback;
    the sshd stops when the command ends. sshd's messages go to `log`."""
    # When the command ends, every process left in the namespace goes too: sshd's session
    # processes, which ControlPersist masters of ansible-playbook's ssh would keep a minute.
    script = ('ip link set lo up 2>/dev/null\n'
              f'{SSHD} -D -e -f {d / "sshd_config"} 2>>{log} & sshd=$!\n'
              'for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null && break; sleep 0.05; done\n'
              '"$@"; rc=$?\nkill $sshd\n'
              'ns=$(readlink /proc/$$/ns/net)\n'
              'for p in /proc/[0-9]*; do pid=${p#/proc/}\n'
              '  [ "$pid" != $$ ] && [ "$(readlink $p/ns/net 2>/dev/null)" = "$ns" ] && kill $pid 2>/dev/null\n'
              'done\nexit $rc\n')
    return ["unshare", "-n", "bash", "-c", script, "bash"]


class Authorized:
    """The client key in root's authorized_keys while the targets run (made with the file's
    directory when missing), taken out afterwards."""

    def __init__(self, d, enabled):
        self.enabled = enabled
        self.line = (d / "id_ed25519.pub").read_text().strip() if enabled else ""
        self.keys = Path.home() / ".ssh" / "authorized_keys"
        self.made = []

    def __enter__(self):
        if self.enabled:
            self.made = [p for p in (self.keys.parent, self.keys) if not p.exists()]
            self.keys.parent.mkdir(mode=0o700, exist_ok=True)
            with open(self.keys, "a") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(self.line + "\n")
        return self

    def __exit__(self, *exc):
        if not self.enabled:
            return
        if self.keys.exists():
            kept = [l for l in self.keys.read_text().splitlines() if l.strip() != self.line]
            self.keys.write_text("".join(l + "\n" for l in kept))
        for p in reversed(self.made):
            if p == self.keys and p.exists() and p.stat().st_size == 0:
                p.unlink()
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()

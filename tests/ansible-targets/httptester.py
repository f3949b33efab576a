#!/usr/bin/env python3
"""A local stand-in for ansible-test's httptester container, for targets with `needs/httptester`.

ansible-test links its http-test-container (nginx in front of httpbin) under the names below and
sets HTTPTESTER=1; prepare_http_tests then fetches the container's CA and client certificate and
installs the CA into the system trust store. This serves the same sites on ADDRESS, loopback:

  http://ansible.http.tests (port 80) and https:// (443, a cert from CA 1 for that name, optional
      client certificates checked against CA 1): httpbin, plus /cacert.pem (CA 1), /ca2cert.pem
      (CA 2), /client.pem, /client.key (a client cert from CA 1) and /ssl_client_verify
      ("ansible.http.tests:SUCCESS" with a valid client certificate, ":NONE" without one)
  https://sni1.ansible.http.tests, sni2 (443, chosen by SNI, their own certs from CA 1): their name
  https://fail.ansible.http.tests (443): the ansible.http.tests cert, so the name does not match;
      on port 80 a 301 to https://
  https://self-signed.ansible.http.tests:444: a cert from CA 2, which the system does not trust

As a command, `httptester.py --certs DIR --state DIR -- CMD...` must run as root in fresh network
and mount namespaces (`unshare -n -m`, which run.py provides): it brings loopback up, bind-mounts
copies of /etc/hosts (the names above pointing at ADDRESS), /etc/ssl/certs,
/usr/local/share/ca-certificates and /etc/ca-certificates.conf from the state dir over the real
ones, so what prepare_http_tests installs (`update-ca-certificates`) lands in the copies and the
machine's trust store stays as it was, then serves the sites on threads and runs CMD. The
namespaces end with CMD. Needs httpbin (and its Werkzeug) on the Python running it.

Kerberos (`/gssapi`, the container's KDC) is not provided: targets run those parts only when
KRB5_PASSWORD is set, which run.py never sets.
"""

import argparse
import logging
import shutil
import ssl
import subprocess
import sys
import threading
from pathlib import Path

ADDRESS = "127.0.0.2"
HOST = "ansible.http.tests"
SNI_HOSTS = ["sni1.ansible.http.tests", "sni2.ansible.http.tests"]
FAIL_HOST = "fail.ansible.http.tests"
SELF_SIGNED_HOST = "self-signed.ansible.http.tests"
NAMES = [HOST, *SNI_HOSTS, FAIL_HOST, SELF_SIGNED_HOST]
SUBJECT = "/C=US/ST=North Carolina/L=Durham/O=Ansible/CN="
# The system paths the state dir's copies are mounted over: prepare_http_tests writes to them.
TRUST_STORE = ["/etc/ssl/certs", "/usr/local/share/ca-certificates", "/etc/ca-certificates.conf"]


def openssl(*argv):
    subprocess.run(["openssl", *argv], check=True, capture_output=True)


def make_ca(d, name):
    d.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", SUBJECT + name,
            "-keyout", d / "cakey.pem", "-out", d / "cacert.pem",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def make_cert(ca, name, usage):
    """A certificate for `name` (subject and subjectAltName) signed by `ca`: ca/NAME-{cert,key}.pem."""
    ext = ca / f"{name}.ext"
    ext.write_text(f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                   f"extendedKeyUsage={usage}\nsubjectAltName=DNS:{name}\n")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", SUBJECT + name,
            "-keyout", ca / f"{name}-key.pem", "-out", ca / f"{name}.csr")
    openssl("x509", "-req", "-in", ca / f"{name}.csr", "-CA", ca / "cacert.pem", "-CAkey", ca / "cakey.pem",
            "-CAcreateserial", "-days", "3650", "-extfile", ext, "-out", ca / f"{name}-cert.pem")


def ensure_certs(d):
    """The container's two CAs and their certificates, made once under d (ca/, ca2/)."""
    d = Path(d)
    if (d / "done").exists():
        return d
    shutil.rmtree(d, ignore_errors=True)
    make_ca(d / "ca", HOST)
    make_ca(d / "ca2", "ca2." + HOST)
    for name in [HOST, *SNI_HOSTS]:
        make_cert(d / "ca", name, "serverAuth")
    make_cert(d / "ca", "client." + HOST, "clientAuth")
    make_cert(d / "ca2", SELF_SIGNED_HOST, "serverAuth")
    (d / "done").write_text("")
    return d


def isolate(state):
    """Loopback up; copies of /etc/hosts and the trust store mounted over the real ones."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    state.mkdir(parents=True, exist_ok=True)
    hosts = state / "hosts"
    hosts.write_text(Path("/etc/hosts").read_text() + f"\n{ADDRESS} {' '.join(NAMES)}\n")
    mounts = [(hosts, "/etc/hosts")]
    for real in TRUST_STORE:
        copy = state / real.strip("/").replace("/", "_")
        if Path(real).is_dir():
            shutil.copytree(real, copy, symlinks=True)
        else:
            shutil.copy(real, copy)
        mounts.append((copy, real))
    for copy, real in mounts:
        subprocess.run(["mount", "--bind", str(copy), real], check=True)


def text(start_response, status, body, headers=()):
    data = body.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(data))), *headers])
    return [data]


def site(certs):
    """nginx.sites.conf of the container as one WSGI app: vhosts by Host header and port."""
    import httpbin

    files = {"/cacert.pem": certs / "ca" / "cacert.pem", "/ca2cert.pem": certs / "ca2" / "cacert.pem",
             "/client.pem": certs / "ca" / f"client.{HOST}-cert.pem",
             "/client.key": certs / "ca" / f"client.{HOST}-key.pem"}

    def app(environ, start_response):
        host = environ.get("HTTP_HOST", "").split(":")[0].lower()
        https = environ["wsgi.url_scheme"] == "https"
        path = environ.get("PATH_INFO", "")
        if environ["SERVER_PORT"] == "444" or host == SELF_SIGNED_HOST:
            return text(start_response, "200 OK", SELF_SIGNED_HOST)
        if host in SNI_HOSTS:
            return text(start_response, "200 OK", host)
        if host == FAIL_HOST and not https:
            query = environ.get("QUERY_STRING")
            location = f"https://{host}{path}" + (f"?{query}" if query else "")
            return text(start_response, "301 Moved Permanently", "", [("Location", location)])
        if path in files:
            data = files[path].read_bytes()
            start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data)))])
            return [data]
        if path == "/ssl_client_verify":
            peer = environ["werkzeug.socket"].getpeercert() if https else None
            return text(start_response, "200 OK", f"{HOST}:{'SUCCESS' if peer else 'NONE'}")
        return httpbin.app(environ, start_response)

    return app


def tls(certs, ca, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / ca / f"{name}-cert.pem", certs / ca / f"{name}-key.pem")
    # nginx's `ssl_verify_client optional`: a certificate is asked for, checked when given.
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(certs / "ca" / "cacert.pem")
    return ctx


def serve(certs, log):
    """The three listeners, each on its own thread."""
    from werkzeug.serving import make_server

    logging.basicConfig(filename=log, level=logging.INFO)
    app = site(certs)
    main = tls(certs, "ca", HOST)
    by_name = {name: tls(certs, "ca", name) for name in SNI_HOSTS}

    def choose(sock, name, _ctx):
        if name in by_name:
            sock.context = by_name[name]

    main.sni_callback = choose
    servers = [make_server(ADDRESS, 80, app, threaded=True),
               make_server(ADDRESS, 443, app, threaded=True, ssl_context=main),
               make_server(ADDRESS, 444, app, threaded=True, ssl_context=tls(certs, "ca2", SELF_SIGNED_HOST))]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--certs", type=Path, required=True, help="where the CAs and certificates are (made if missing)")
    ap.add_argument("--state", type=Path, required=True, help="a fresh dir for the copies and the server log")
    ap.add_argument("cmd", nargs="+", help="the command to run with the sites up")
    args = ap.parse_args()
    certs = ensure_certs(args.certs)
    isolate(args.state)
    serve(certs, args.state / "httptester.log")
    return subprocess.run(args.cmd).returncode


if __name__ == "__main__":
    sys.exit(main())

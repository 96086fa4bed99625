"""
RDO's keystone and placement httpd sites (tests/unit/data/rdo: as the EL9
packages ship them), rewritten as ha_openstack.httpd_listen rewrites them
(bound to the node's address, WSGIDaemonProcess sized, placement's script
directory granted), served by Debian's apache2 with mod_wsgi under EL9's
default ``<Directory /> Require all denied``: each API answers 200. The
packaged placement site answers 403 there, as on EL9. (Issue 16's offline
proof; apache2 and libapache2-mod-wsgi-py3 are host packages of make venv.)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import REPO, load_module

ha_openstack = load_module("_modules/ha_openstack.py", "ha_openstack_for_httpd")

RDO = REPO / "tests" / "unit" / "data" / "rdo"
APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
# EL9's httpd.conf denies every directory; a site grants what it serves.
HTTPD_CONF = """ServerRoot {root}
ServerName localhost
DefaultRuntimeDir {root}
PidFile {root}/httpd.pid
ErrorLog {root}/error.log
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule alias_module {modules}/mod_alias.so
LoadModule wsgi_module {modules}/mod_wsgi.so
User nobody
Group nogroup
WSGISocketPrefix {root}/wsgi
<Directory />
    AllowOverride none
    Require all denied
</Directory>
{sites}
"""
APP = """def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"versions": []}']
"""
DAEMON = {"processes": 2, "threads": 1}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_on_this_host(site: str, root: Path) -> str:
    """The site with EL9's paths and service users replaced by the test's: scripts in ROOT/bin, logs in ROOT,
    the daemons run as nobody (the host has no keystone or placement user)."""
    return (site.replace("/usr/bin", str(root / "bin")).replace("/var/log/httpd", str(root))
            .replace("/var/log/placement", str(root))
            .replace("user=keystone group=keystone", "user=nobody group=nogroup")
            .replace("user=placement group=placement", "user=nobody group=nogroup"))


@pytest.fixture
def httpd():
    """Starts Debian's apache2 on a config of its own (``start(sites)``, sites as text); returns the GET status of
    a URL (``status(url)``); stops every apache2 it started."""
    if not (Path(APACHE).exists() and Path(MODULES, "mod_wsgi.so").exists()):
        pytest.fail("apache2 and libapache2-mod-wsgi-py3 are missing: make host-packages installs them")
    # Not pytest's tmp_path: apache2's daemons run as nobody and must reach the scripts and the WSGI sockets.
    root = Path(tempfile.mkdtemp(prefix="ha-httpd-"))
    root.chmod(0o755)
    (root / "bin").mkdir(mode=0o755)
    for script in ("keystone-wsgi-public", "placement-api"):
        (root / "bin" / script).write_text(APP)
        (root / "bin" / script).chmod(0o644)
    started: list[subprocess.Popen] = []

    class Httpd:
        def __init__(self):
            self.root = root

        def start(self, sites: str, ports: list[int]) -> None:
            conf = root / f"httpd-{len(started)}.conf"
            conf.write_text(HTTPD_CONF.format(root=root, modules=MODULES, sites=sites))
            checked = subprocess.run([APACHE, "-t", "-f", str(conf)], capture_output=True, text=True, check=False)
            assert checked.returncode == 0, checked.stderr
            started.append(subprocess.Popen([APACHE, "-f", str(conf), "-DFOREGROUND"], stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, text=True))
            deadline = time.monotonic() + 20
            while any(self.status(f"http://127.0.0.1:{port}/", timeout=2) is None for port in ports):
                assert started[-1].poll() is None, started[-1].stdout.read()
                assert time.monotonic() < deadline, (root / "error.log").read_text()
                time.sleep(0.2)

        @staticmethod
        def status(url: str, timeout: float = 10) -> int | None:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - a local test URL
                    return answer.status
            except urllib.error.HTTPError as error:
                return error.code
            except OSError:
                return None

    try:
        yield Httpd()
    finally:
        for process in started:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)


def test_rdo_sites_as_the_formula_rewrites_them_answer_under_el9s_denial(httpd):
    keystone_port, placement_port = free_port(), free_port()
    keystone = ha_openstack.httpd_sized(ha_openstack.httpd_bound(
        (RDO / "wsgi-keystone.conf").read_text(), "127.0.0.1", keystone_port), DAEMON)
    placement = ha_openstack.httpd_granted(ha_openstack.httpd_sized(ha_openstack.httpd_bound(
        (RDO / "00-placement-api.conf").read_text(), "127.0.0.1", placement_port), DAEMON), "/usr/bin")
    assert f"<VirtualHost 127.0.0.1:{placement_port}>" in placement and "processes=2 threads=1" in placement
    httpd.start(as_on_this_host(keystone + placement, httpd.root), [keystone_port, placement_port])
    assert httpd.status(f"http://127.0.0.1:{keystone_port}/") == 200
    assert httpd.status(f"http://127.0.0.1:{placement_port}/") == 200


def test_rdo_placement_site_as_packaged_is_denied(httpd):
    port = free_port()
    packaged = ha_openstack.httpd_bound((RDO / "00-placement-api.conf").read_text(), "127.0.0.1", port)
    httpd.start(as_on_this_host(packaged, httpd.root), [port])
    assert httpd.status(f"http://127.0.0.1:{port}/") == 403

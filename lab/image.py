"""
The node image: a Debian 12 root file system with systemd and a salt-minion,
as a freshly provisioned server would have, plus a local package mirror.

The nodes have no route to the outside, so every package the formula installs
on them comes from a flat apt repository that is built here from the host's
own Debian sources and bind-mounted read-only into every node. The image is
built once and cached under CACHE, keyed by everything that goes into it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

from lab import config
from lab.util import run, step, warn

SUITE_COMPONENTS = "main"
# What a freshly provisioned server has; everything else is installed by the
# formula from the lab's mirror.
BASE_PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "iproute2", "python3", "python3-venv",
    "ca-certificates", "procps", "less",
)
# The OpenStack services' Python libraries (several hundred packages) come
# preinstalled, as on a golden image: three controllers unpacking them at
# once on two cores would make most of a deploy. The service packages of the
# formula's map (keystone, nova-api, ...: users, units, configs) are still
# installed by the formula from the mirror.
PRESEEDED = ("python3-keystone", "python3-glance", "python3-placement", "python3-nova",
             "python3-openstackclient", "uwsgi-plugin-python3")
PACKAGE_LIST = config.REPO / "lab" / "node-packages.txt"
SALT_REQUIREMENTS = config.REPO / "requirements-salt.txt"

MINION_UNIT = f"""\
[Unit]
Description=The Salt Minion
After=network.target

[Service]
ExecStart={config.MINION_VENV}/bin/salt-minion
KillMode=process
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
"""

MINION_CONFIG = f"""\
# Written by the lab's image builder.
master: {config.MASTER_ADDRESS}
# Keys are preseeded by the lab, so the minion need not wait long between tries.
acceptance_wait_time: 2
acceptance_wait_time_max: 10
"""

HOSTS = """\
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def node_packages() -> list[str]:
    """Packages of the lab's mirror: lab/node-packages.txt without comments."""
    names = []
    for line in PACKAGE_LIST.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.extend(line.split())
    return names


def image_key() -> str:
    """A digest of everything the image is built from."""
    digest = hashlib.sha256()
    for path in (Path(__file__), PACKAGE_LIST, SALT_REQUIREMENTS):
        digest.update(path.read_bytes())
    digest.update(codename().encode())
    return digest.hexdigest()[:16]


def image_dir(key: str) -> Path:
    return config.CACHE / "images" / key


def codename() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("lab: cannot tell the host's Debian release from /etc/os-release")


def _deb822_stanzas(text: str) -> list[dict[str, str]]:
    stanzas, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
            current = {}
        elif not line.startswith("#") and ":" in line and not line[0].isspace():
            key, value = line.split(":", 1)
            current[key.strip()] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def debian_sources() -> list[tuple[str, str]]:
    """
    The host's Debian mirrors as (uri, suite) pairs for this release, its
    updates and its security suite, read from the host's apt configuration so
    that the lab uses whatever mirror this machine is set up with.
    """
    release = codename()
    wanted = {release, f"{release}-updates", f"{release}-security"}
    found: list[tuple[str, str]] = []
    apt = Path("/etc/apt")
    for path in sorted(apt.glob("sources.list.d/*.sources")):
        for stanza in _deb822_stanzas(path.read_text()):
            if "deb" not in stanza.get("Types", "").split():
                continue
            if "main" not in stanza.get("Components", "").split():
                continue
            for uri in stanza.get("URIs", "").split():
                for suite in stanza.get("Suites", "").split():
                    if suite in wanted:
                        found.append((uri, suite))
    for path in [apt / "sources.list", *sorted(apt.glob("sources.list.d/*.list"))]:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) >= 4 and words[0] == "deb" and not words[1].startswith("["):
                if words[2] in wanted and "main" in words[3:]:
                    found.append((words[1], words[2]))
    if not any(suite == release for _, suite in found):
        raise SystemExit(f"lab: the host's apt sources have no '{release} main' suite to build the node image from")
    return found


def _chroot(root: Path, *cmd: str) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
    run(["chroot", str(root), *cmd], env=env, capture=True)


def _build_wheels(dest: Path) -> None:
    # The minion's Python is Debian's python3; build on the host only when the
    # host's Python has the same minor version, so the wheels' tags match.
    if sys.version_info[:2] != (3, 11):
        raise SystemExit(f"lab: the image's minion needs Python 3.11 wheels; this venv runs {sys.version.split()[0]}")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "-w", str(dest), "-r", str(SALT_REQUIREMENTS)], capture=True)


def _build_mirror(root: Path, repo: Path) -> None:
    """Download every node package and its dependencies into a flat repository."""
    archives = root / "var/cache/apt/archives"
    _chroot(root, "apt-get", "update", "-qq")
    _chroot(root, "apt-get", "install", "--download-only", "-y", "-qq", *node_packages())
    repo.mkdir(parents=True)
    for deb in archives.glob("*.deb"):
        shutil.move(str(deb), repo / deb.name)
    packages = run(["dpkg-scanpackages", "--multiversion", "."], cwd=repo, capture=True).stdout
    (repo / "Packages").write_text(packages)


def _install_minion(root: Path, wheels: Path) -> None:
    staged = root / "tmp/wheels"
    shutil.copytree(wheels, staged)
    try:
        _chroot(root, "python3", "-m", "venv", "--system-site-packages", config.MINION_VENV)
        _chroot(root, f"{config.MINION_VENV}/bin/pip", "install", "--quiet", "--no-index",
                "--find-links", "/tmp/wheels", "-r", "/tmp/wheels/requirements-salt.txt")
    finally:
        shutil.rmtree(staged)
    for tool in ("salt-call", "salt-minion"):
        link = root / "usr/local/bin" / tool
        link.unlink(missing_ok=True)
        link.symlink_to(f"{config.MINION_VENV}/bin/{tool}")
    (root / "etc/systemd/system/salt-minion.service").write_text(MINION_UNIT)
    minion_d = root / "etc/salt/minion.d"
    minion_d.mkdir(parents=True, exist_ok=True)
    (minion_d / "lab.conf").write_text(MINION_CONFIG)


def _point_apt_at_mirror(root: Path, repo: Path) -> None:
    """Nodes install from the mirror only; the preseeded libraries come from it too."""
    (root / "etc/apt/sources.list").write_text(f"deb [trusted=yes] file:{config.NODE_REPO_MOUNT} ./\n")
    mount = root / config.NODE_REPO_MOUNT.lstrip("/")
    mount.mkdir(parents=True, exist_ok=True)
    run(["mount", "--bind", "-o", "ro", str(repo), str(mount)])
    try:
        _chroot(root, "apt-get", "update", "-qq")
        run(["mount", "-t", "proc", "proc", str(root / "proc")])
        try:
            _chroot(root, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *PRESEEDED)
        finally:
            run(["umount", str(root / "proc")])
        _chroot(root, "apt-get", "clean")
    finally:
        run(["umount", str(mount)])


def build(key: str) -> Path:
    """Build the image for ``key`` unless it is cached; return its directory."""
    final = image_dir(key)
    if (final / "rootfs").is_dir():
        return final
    work = final.with_name(key + ".tmp")
    if work.exists():
        shutil.rmtree(work)
    root, repo, wheels = work / "rootfs", work / "repo", work / "wheels"
    step(f"building node image {key} (Debian {codename()}, once per machine)")
    sources = debian_sources()
    run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
         codename(), str(root), sources[0][0]], capture=True)
    (root / "etc/apt/sources.list").write_text(
        "".join(f"deb {uri} {suite} {SUITE_COMPONENTS}\n" for uri, suite in sources)
    )
    # As Debian's container images do: dpkg does not fsync every file it
    # unpacks. The nodes' disks are overlays on the host, whose page cache
    # outlives a node's power loss, so nothing is lost; installs get faster.
    (root / "etc/dpkg/dpkg.cfg.d/halab-unsafe-io").write_text("force-unsafe-io\n")
    # The host's mirror may be a snapshot whose Release files are past their date.
    (root / "etc/apt/apt.conf.d/90halab").write_text('Acquire::Check-Valid-Until "false";\n')
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    step("downloading the formula's packages into the lab's mirror")
    _build_mirror(root, repo)
    step("installing the salt-minion into the image")
    _build_wheels(wheels)
    shutil.copy(SALT_REQUIREMENTS, wheels / "requirements-salt.txt")
    _install_minion(root, wheels)
    step("installing the OpenStack libraries into the image")
    _point_apt_at_mirror(root, repo)
    (root / "etc/resolv.conf").unlink()
    (root / "etc/hosts").write_text(HOSTS)
    (root / "etc/machine-id").write_text("")
    _chroot(root, "systemctl", "enable", "systemd-networkd", "salt-minion")
    shutil.rmtree(wheels)
    os.rename(work, final)
    prune(keep=key)
    return final


def prune(keep: str) -> None:
    """Remove cached images other than ``keep`` that no node is using."""
    mounts = Path("/proc/self/mountinfo").read_text()
    for path in (config.CACHE / "images").iterdir():
        if path.name != keep and str(path) not in mounts:
            warn(f"removing the outdated node image {path.name}")
            shutil.rmtree(path)

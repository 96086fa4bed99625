"""Where the lab lives and what it looks like: paths, network and topology."""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Everything a running lab owns (node disks, master state, generated pillar)
# lives under STATE; the node image is a cache that survives `bin/lab down`.
STATE = Path(os.environ.get("HALAB_STATE", "/var/lib/halab"))
CACHE = Path(os.environ.get("HALAB_CACHE", "/var/cache/halab"))

BRIDGE = "halab0"
NETWORK = ipaddress.IPv4Network("10.10.10.0/24")
# The salt-master listens on the host's side of the bridge.
MASTER_ADDRESS = ipaddress.IPv4Address("10.10.10.1")
FIRST_NODE_ADDRESS = ipaddress.IPv4Address("10.10.10.51")
VIP = ipaddress.IPv4Address("10.10.10.69")
CONTROLLER_NAME = "openstack-controller{:02d}"
COMPUTE_NAME = "openstack-compute{:02d}"
# Where the node image's package mirror is mounted inside every node.
NODE_REPO_MOUNT = "/srv/halab-repo"
MINION_VENV = "/opt/saltstack"

TOPOLOGY_FILE = STATE / "topology.json"
NODES_DIR = STATE / "nodes"
MASTER_DIR = STATE / "master"
PILLAR_DIR = STATE / "pillar"


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    role: str

    @property
    def dir(self) -> Path:
        return NODES_DIR / self.name

    @property
    def root(self) -> Path:
        return self.dir / "merged"


@dataclass(frozen=True)
class Topology:
    nodes: tuple[Node, ...]
    image: str

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes)
        raise SystemExit(f"lab: no node named {name!r}; nodes: {known}")

    def save(self) -> None:
        TOPOLOGY_FILE.parent.mkdir(parents=True, exist_ok=True)
        data = {"image": self.image, "nodes": [asdict(n) for n in self.nodes]}
        TOPOLOGY_FILE.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls) -> Topology | None:
        if not TOPOLOGY_FILE.exists():
            return None
        data = json.loads(TOPOLOGY_FILE.read_text())
        return cls(nodes=tuple(Node(**n) for n in data["nodes"]), image=data["image"])


def make_topology(controllers: int, computes: int, image: str) -> Topology:
    """The reference site's naming and addressing, for any node counts."""
    if controllers < 3:
        raise SystemExit("lab: an HA control plane needs at least 3 controllers")
    if computes < 0:
        raise SystemExit("lab: --computes cannot be negative")
    total = controllers + computes
    last = FIRST_NODE_ADDRESS + total - 1
    if last >= VIP:
        raise SystemExit(f"lab: {total} nodes would run into the VIP {VIP}; use fewer nodes")
    names = [(CONTROLLER_NAME.format(i), "controller") for i in range(1, controllers + 1)]
    names += [(COMPUTE_NAME.format(i), "compute") for i in range(1, computes + 1)]
    nodes = tuple(
        Node(name=name, address=str(FIRST_NODE_ADDRESS + i), role=role)
        for i, (name, role) in enumerate(names)
    )
    return Topology(nodes=nodes, image=image)


ROLES = ("controller", "compute")
NAME_PATTERNS = {"controller": CONTROLLER_NAME, "compute": COMPUTE_NAME}


def grow_topology(current: Topology, controllers: int | None, computes: int | None) -> Topology:
    """
    ``current`` with nodes added up to ``controllers`` and ``computes``
    (None: as many as it has): the nodes it has keep their names and
    addresses, as a running site's do; each new one gets its role's next
    free name and the lowest free address. It never removes a node: bin/lab
    remove takes one out.
    """
    have = {role: [n for n in current.nodes if n.role == role] for role in ROLES}
    wanted = {"controller": len(have["controller"]) if controllers is None else controllers,
              "compute": len(have["compute"]) if computes is None else computes}
    for role in ROLES:
        if wanted[role] < len(have[role]):
            raise SystemExit(f"lab: the lab has {len(have[role])} {role}s and bin/lab up never removes a node; "
                             "bin/lab remove NODE takes one out")
    names = {n.name for n in current.nodes}
    used = {n.address for n in current.nodes}
    free = (str(address) for address in (FIRST_NODE_ADDRESS + i for i in range(int(VIP) - int(FIRST_NODE_ADDRESS)))
            if str(address) not in used)
    added: list[Node] = []
    for role in ROLES:
        number = 0
        while len(have[role]) + sum(n.role == role for n in added) < wanted[role]:
            number += 1
            name = NAME_PATTERNS[role].format(number)
            if name in names:
                continue
            address = next(free, None)
            if address is None:
                raise SystemExit(f"lab: {wanted['controller'] + wanted['compute']} nodes would run into the VIP {VIP}")
            added.append(Node(name=name, address=address, role=role))
    nodes = sorted((*current.nodes, *added), key=lambda n: (ROLES.index(n.role), n.name))
    return Topology(nodes=tuple(nodes), image=current.image)


def without(current: Topology, name: str) -> Topology:
    """``current`` without the node ``name``; an HA control plane keeps at least three controllers."""
    node = current.node(name)
    left = tuple(n for n in current.nodes if n.name != name)
    if node.role == "controller" and sum(n.role == "controller" for n in left) < 3:
        raise SystemExit(f"lab: removing {name} would leave fewer than 3 controllers")
    return Topology(nodes=left, image=current.image)

"""Unit tests of _states/ha_etcd.py over a fake execution module and the real topology."""

from __future__ import annotations

import os
import stat

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module, valid_pillar

state = load_module("_states/ha_etcd.py", "ha_etcd_state")
# The judgement of a health result is the execution module's own (ha_etcd.problems).
etcd_module = load_module("_modules/ha_etcd.py", "ha_etcd_module_for_state")
# What initial_settings asks the topology (etcd_node, etcd_joining), over a pillar of four controllers.
ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_etcd_state")
C01, C02, C03 = NAMES = tuple(f"openstack-controller0{i}" for i in (1, 2, 3))
MEMBERS = {name: {"peer_url": f"http://10.10.10.5{i}:2380", "client_url": f"http://10.10.10.5{i}:2379"}
           for i, name in enumerate(NAMES, 1)}
HEALTHY = {"members": [], "healthy": list(NAMES), "unhealthy": {}, "leader": C01, "quorum": True, "problems": []}
ONE_DOWN = {**HEALTHY, "healthy": [C01, C02], "unhealthy": {C03: "etcdctl endpoint health failed: timeout"}}
NO_QUORUM = {**HEALTHY, "healthy": [C01], "unhealthy": {C02: "down", C03: "down"}, "leader": None,
             "quorum": False, "problems": ["1 of 3 members healthy, a quorum needs 2"]}


class FakeEtcd:
    """ha_etcd.health and wait_healthy answering ``result`` and recording their arguments."""

    def __init__(self):
        self.result = HEALTHY
        self.calls = []

    def funcs(self):
        def health(expected):
            self.calls.append(("health", expected))
            return self.result

        def wait_healthy(expected, timeout, all_members):
            self.calls.append(("wait_healthy", expected, timeout, all_members))
            return self.result

        return {"ha_etcd.health": health, "ha_etcd.wait_healthy": wait_healthy,
                "ha_etcd.problems": etcd_module.problems}


@pytest.fixture
def etcd():
    return FakeEtcd()


@pytest.fixture
def opts():
    return {"test": False}


C04 = "openstack-controller04"
ADDRESSES = {C01: "10.10.10.51", C02: "10.10.10.52", C03: "10.10.10.53", C04: "10.10.10.61"}
PEER = {name: f"http://{address}:2380" for name, address in ADDRESSES.items()}
CLIENT = {name: f"http://{address}:2379" for name, address in ADDRESSES.items()}
NO_ANSWER = CommandExecutionError(f"etcdctl member list at {CLIENT[C02]} failed: Error: context deadline exceeded")
TOKEN = "etcd-cluster-01"
NEW = {"ETCD_INITIAL_CLUSTER": ",".join(f"{name}={url}" for name, url in PEER.items()),
       "ETCD_INITIAL_CLUSTER_TOKEN": TOKEN, "ETCD_INITIAL_CLUSTER_STATE": "new"}
# controller04 joining the three: added, so not started and unnamed, first in the member list.
JOINED = {"ETCD_INITIAL_CLUSTER": f"{C04}={PEER[C04]},{C01}={PEER[C01]},{C02}={PEER[C02]},{C03}={PEER[C03]}",
          "ETCD_INITIAL_CLUSTER_STATE": "existing", "ETCD_INITIAL_CLUSTER_TOKEN": TOKEN}


def listed(*names: str, unstarted: tuple[str, ...] = (), stranger: str | None = None) -> list[dict]:
    """
    A member list as ha_etcd.members gives it, sorted by name: a member
    added but not started has no name and no client URL; ``stranger``, the
    address of one such member that no controller of the pillar explains.
    """
    found = [{"id": f"8e9e05c52164{ADDRESSES[n].rsplit('.', 1)[1]}", "name": "" if n in unstarted else n,
              "peer_urls": [PEER[n]], "client_urls": [] if n in unstarted else [CLIENT[n]]} for n in names]
    if stranger:
        found.append({"id": "1234", "name": "", "peer_urls": [f"http://{stranger}:2380"], "client_urls": []})
    return sorted(found, key=lambda member: member["name"])


class FakeCluster:
    """
    ha_etcd.members answering ``answers`` in turn, the last one repeated (an
    exception is raised), and ha_etcd.member_add answering ``added``; every
    call recorded, the topology's etcd_node too.
    """

    def __init__(self):
        self.answers: list = [NO_ANSWER]
        self.added: list[dict] | Exception | None = None
        self.refusals: list[Exception] = []  # what member_add raises first, one per call
        self.cluster_id = "c1d"  # what ha_etcd.cluster_id answers
        self.ids_asked: list[list[str]] = []
        self.calls: list[tuple] = []

    def _answer(self, answer):
        if isinstance(answer, Exception):
            raise answer
        return answer

    def funcs(self):
        def members(endpoints):
            asked = sum(call[0] == "members" for call in self.calls)
            self.calls.append(("members", list(endpoints)))
            return self._answer(self.answers[min(asked, len(self.answers) - 1)])

        def member_add(endpoints, name, peer_url):
            self.calls.append(("member_add", list(endpoints), name, peer_url))
            if self.refusals:
                raise self.refusals.pop(0)
            return self._answer(self.added)

        def etcd_node(data_dir):
            self.calls.append(("etcd_node", data_dir))
            return ha_topology.etcd_node(data_dir)

        def cluster_id(endpoints):
            self.ids_asked.append(list(endpoints))  # apart from calls: asked on every join
            return self.cluster_id

        return {"ha_etcd.members": members, "ha_etcd.member_add": member_add, "ha_topology.etcd_node": etcd_node,
                "ha_etcd.cluster_id": cluster_id,
                "ha_topology.etcd_joining": ha_topology.etcd_joining}

    def asked(self, *kinds: str) -> list[str]:
        return [call[0] for call in self.calls if not kinds or call[0] in kinds]


@pytest.fixture
def cluster():
    return FakeCluster()


@pytest.fixture
def ha():
    ha = valid_pillar()
    ha["nodes"][C04] = {"address": ADDRESSES[C04], "roles": ["controller"]}
    return ha


@pytest.fixture
def grains():
    return {"id": C04}


@pytest.fixture
def configure_loader_modules(etcd, cluster, ha, grains, opts, utils):
    return {state: {"__salt__": {**etcd.funcs(), **cluster.funcs()}, "__opts__": opts, "__utils__": utils},
            ha_topology: {"__pillar__": {"ha": ha}, "__grains__": grains, "__salt__": {}, "__context__": {}}}


def test_healthy_cluster(etcd):
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, timeout=90, all_members=True)
    assert ret == {"name": "ha-etcd-healthy", "changes": {}, "result": True,
                   "comment": f"etcd has a healthy quorum: leader {C01}, healthy: {C01}, {C02}, {C03}"}
    assert etcd.calls == [("wait_healthy", MEMBERS, 90, True)]


def test_quorum_with_a_member_down(etcd):
    etcd.result = ONE_DOWN
    ret = state.healthy("ha-etcd-healthy")
    assert ret["result"] is True and etcd.calls == [("wait_healthy", None, 120, False)]
    assert ret["comment"] == (f"etcd has a healthy quorum: leader {C01}, healthy: {C01}, {C02}; "
                              f"unhealthy: {C03} (etcdctl endpoint health failed: timeout)")


def test_no_quorum_after_the_timeout(etcd):
    etcd.result = NO_QUORUM
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, timeout=30)
    assert ret == {"name": "ha-etcd-healthy", "changes": {}, "result": False,
                   "comment": "etcd is not healthy after 30 s: 1 of 3 members healthy, a quorum needs 2"}


def test_all_members_wanted_but_one_down(etcd):
    etcd.result = ONE_DOWN
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, timeout=60, all_members=True)
    assert ret["result"] is False
    assert ret["comment"] == ("etcd is not healthy after 60 s: unhealthy: "
                              f"{{'{C03}': 'etcdctl endpoint health failed: timeout'}}")


def test_test_mode_checks_once_and_never_waits(etcd, opts):
    opts["test"] = True
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, timeout=600)
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"] == f"etcd has a healthy quorum: leader {C01}, healthy: {C01}, {C02}, {C03}"
    etcd.result = NO_QUORUM
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, timeout=600)
    assert ret["result"] is None and ret["changes"] == {}
    assert ret["comment"] == "etcd is not healthy yet; would wait: 1 of 3 members healthy, a quorum needs 2"
    assert etcd.calls == [("health", MEMBERS), ("health", MEMBERS)]


def test_test_mode_with_all_members_and_one_down(etcd, opts):
    opts["test"] = True
    etcd.result = ONE_DOWN
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, all_members=True)
    assert etcd.calls == [("health", MEMBERS)]
    assert ret["result"] is None


@pytest.fixture
def paths(tmp_path):
    """The initial settings file (in a directory still to create) and the member's data directory."""
    return tmp_path / "default" / "etcd-initial", tmp_path / "ha-cluster"


def environment_file(path) -> dict[str, str]:
    """The file as systemd's EnvironmentFile= reads it: KEY="VALUE" lines, comments skipped."""
    found = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            assert value[0] == value[-1] == '"' and '"' not in value[1:-1], line
            found[key] = value[1:-1]
    return found


def test_initial_settings_of_a_member_with_data(paths, cluster, opts):
    name, data_dir = paths
    (data_dir / "member").mkdir(parents=True)
    expected = {"name": str(name), "changes": {}, "result": True,
                "comment": f"a member with data in {data_dir}: etcd reads no initial settings"}
    assert state.initial_settings(str(name), str(data_dir)) == expected
    name.parent.mkdir()
    name.write_text('ETCD_INITIAL_CLUSTER="stale"\n')
    opts["test"] = True
    assert state.initial_settings(str(name), str(data_dir)) == expected
    # Nothing asked (not even the topology) and nothing written.
    assert cluster.calls == [] and name.read_text() == 'ETCD_INITIAL_CLUSTER="stale"\n'


def test_initial_settings_of_a_new_cluster(paths, cluster, grains):
    grains["id"] = C01
    name, data_dir = paths
    data_dir.mkdir()  # empty: etcd has not started yet
    old = os.umask(0o077)
    try:
        ret = state.initial_settings(str(name), str(data_dir))
    finally:
        os.umask(old)
    assert ret == {"name": str(name), "changes": {"settings": {"old": None, "new": NEW}}, "result": True,
                   "comment": "initial settings written: a new cluster of every controller"}
    assert cluster.calls == [("etcd_node", str(data_dir)), ("members", [CLIENT[C02], CLIENT[C03], CLIENT[C04]])]
    assert environment_file(name) == NEW and stat.S_IMODE(name.stat().st_mode) == 0o644
    assert name.read_text().startswith("# Managed by Salt") and os.listdir(name.parent) == ["etcd-initial"]
    written = name.read_text()
    again = state.initial_settings(str(name), str(data_dir))
    assert again == {"name": str(name), "changes": {}, "result": True,
                     "comment": "initial settings in place: a new cluster of every controller"}
    assert name.read_text() == written and "member_add" not in cluster.asked()


def test_initial_settings_replace_those_of_another_pillar(paths, cluster, grains):
    grains["id"] = C02
    name, data_dir = paths
    name.parent.mkdir()
    stale = {**NEW, "ETCD_INITIAL_CLUSTER": f"{C01}={PEER[C01]},{C02}={PEER[C02]},{C03}={PEER[C03]}"}
    name.write_text("".join(f'{key}="{value}"\n' for key, value in stale.items()))
    name.chmod(0o600)
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret["result"] is True and ret["changes"] == {"settings": {"old": stale, "new": NEW}}
    assert environment_file(name) == NEW and stat.S_IMODE(name.stat().st_mode) == 0o644


def test_initial_settings_join_once_the_controllers_before_are_started(paths, cluster, clock):
    name, data_dir = paths
    # controller03 was added (its disk replaced) but has not started yet: controller04 waits for it.
    not_yet = listed(C01, C02, C03, unstarted=(C03,))
    cluster.answers = [not_yet, not_yet, listed(C01, C02, C03)]
    cluster.added = listed(C01, C02, C03, C04, unstarted=(C04,))
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret == {"name": str(name), "result": True,
                   "comment": "initial settings written: joining the running cluster",
                   "changes": {"member": {"old": None, "new": C04}, "settings": {"old": None, "new": JOINED}}}
    others = [CLIENT[C01], CLIENT[C02], CLIENT[C03]]
    assert cluster.calls == [("etcd_node", str(data_dir)), *[("members", others)] * 3,
                             ("member_add", others, C04, PEER[C04])]
    assert clock.sleeps == [2]
    assert environment_file(name) == JOINED and stat.S_IMODE(name.stat().st_mode) == 0o644
    # The next run sees this member listed (not started yet): nothing added again, the settings in place.
    cluster.answers, cluster.calls = [cluster.added], []
    again = state.initial_settings(str(name), str(data_dir))
    assert again == {"name": str(name), "changes": {}, "result": True,
                     "comment": "initial settings in place: joining the running cluster"}
    assert cluster.asked() == ["etcd_node", "members"]


def test_initial_settings_of_the_first_controller_wait_for_none(paths, cluster, grains, clock):
    # controller01 rebuilt, its old member removed: no controller before it to wait for.
    grains["id"] = C01
    name, data_dir = paths
    cluster.answers = [listed(C02, C03, C04)]
    cluster.added = listed(C01, C02, C03, C04, unstarted=(C01,))
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret["result"] is True and ret["changes"]["member"] == {"old": None, "new": C01}
    assert cluster.calls[-1] == ("member_add", [CLIENT[C02], CLIENT[C03], CLIENT[C04]], C01, PEER[C01])
    assert clock.sleeps == [] and cluster.asked("members") == ["members"] * 2
    assert environment_file(name) == {
        "ETCD_INITIAL_CLUSTER": f"{C01}={PEER[C01]},{C02}={PEER[C02]},{C03}={PEER[C03]},{C04}={PEER[C04]}",
        "ETCD_INITIAL_CLUSTER_STATE": "existing", "ETCD_INITIAL_CLUSTER_TOKEN": TOKEN}


def test_initial_settings_wait_not_for_the_controllers_after(paths, cluster, grains, clock):
    # controller03 and controller04 both new: controller04 waits for controller03, which must not wait for it.
    grains["id"] = C03
    name, data_dir = paths
    cluster.answers = [listed(C01, C02)]
    cluster.added = listed(C01, C02, C03, unstarted=(C03,))
    ret = state.initial_settings(str(name), str(data_dir), timeout=60)
    assert ret["result"] is True and ret["changes"]["member"] == {"old": None, "new": C03}
    assert cluster.calls[-1] == ("member_add", [CLIENT[C01], CLIENT[C02], CLIENT[C04]], C03, PEER[C03])
    assert clock.sleeps == []
    assert environment_file(name)["ETCD_INITIAL_CLUSTER"] == f"{C03}={PEER[C03]},{C01}={PEER[C01]},{C02}={PEER[C02]}"


def test_initial_settings_of_a_member_listed_already(paths, cluster, clock):
    # Added by an earlier run whose settings were lost (or never written): not added again.
    name, data_dir = paths
    cluster.answers = [listed(C01, C02, C03, C04, unstarted=(C04,))]
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret == {"name": str(name), "changes": {"settings": {"old": None, "new": JOINED}}, "result": True,
                   "comment": "initial settings written: joining the running cluster"}
    assert cluster.asked() == ["etcd_node", "members"] and clock.sleeps == []
    assert environment_file(name) == JOINED


def test_initial_settings_of_a_member_the_new_cluster_started_without(paths, cluster, grains, clock):
    # A first deploy: 01, 02 and 04 started the new cluster before 03 asked. 03 is listed, not started, with
    # the id etcd gives a member of a new cluster: it starts as one of them, nothing added.
    grains["id"] = C03
    name, data_dir = paths
    answer = listed(C01, C02, C03, C04, unstarted=(C03,))
    bootstrap_id = ha_topology.ha_topology_etcd.bootstrap_id
    for member in answer:
        member["id"] = bootstrap_id(member["peer_urls"], TOKEN)
    cluster.answers = [answer]
    cluster.cluster_id = ha_topology.ha_topology_etcd.created_id([member["id"] for member in answer])
    ret = state.initial_settings(str(name), str(data_dir))
    expected = {**NEW, "ETCD_INITIAL_CLUSTER": f"{C03}={PEER[C03]},{C01}={PEER[C01]},{C02}={PEER[C02]},"
                                               f"{C04}={PEER[C04]}"}
    assert ret == {"name": str(name), "changes": {"settings": {"old": None, "new": expected}}, "result": True,
                   "comment": "initial settings written: a member of the new cluster, started after the others"}
    assert cluster.asked() == ["etcd_node", "members"] and clock.sleeps == []
    assert cluster.ids_asked == [[CLIENT[C01], CLIENT[C02], CLIENT[C04]]]
    assert environment_file(name) == expected
    # Another cluster's id (a member it was created with removed since): joined as it is.
    name.unlink()
    cluster.cluster_id = "1234"
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret["comment"] == "initial settings written: joining the running cluster"
    assert environment_file(name)["ETCD_INITIAL_CLUSTER_STATE"] == "existing"


def test_initial_settings_in_test_mode(paths, cluster, opts, grains, clock):
    opts["test"] = True
    name, data_dir = paths
    cluster.answers = [listed(C01, C02, C03)]
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret == {"name": str(name), "changes": {"member": {"old": None, "new": C04}}, "result": None,
                   "comment": f"{C04} would be added to the running etcd cluster once the controllers before it "
                              "are started members"}
    # Asked once, neither waited nor added.
    assert cluster.asked() == ["etcd_node", "members"] and clock.sleeps == []
    cluster.answers = [listed(C01, C02, C03, C04, unstarted=(C04,))]
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret == {"name": str(name), "changes": {"settings": {"old": None, "new": JOINED}}, "result": None,
                   "comment": "initial settings would be written: joining the running cluster"}
    grains["id"] = C01
    cluster.answers = [NO_ANSWER]
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret["result"] is None and ret["changes"] == {"settings": {"old": None, "new": NEW}}
    assert ret["comment"] == "initial settings would be written: a new cluster of every controller"
    assert not name.parent.exists() and "member_add" not in cluster.asked()
    # Settings in place: nothing to do in a test run either.
    opts["test"] = False
    state.initial_settings(str(name), str(data_dir))
    opts["test"] = True
    assert state.initial_settings(str(name), str(data_dir))["result"] is True


def test_initial_settings_wait_gives_up(paths, cluster, clock):
    # controller02 added but not started, controller03 not even added yet.
    name, data_dir = paths
    cluster.answers = [listed(C01, C02, unstarted=(C02,))]
    ret = state.initial_settings(str(name), str(data_dir), timeout=10)
    assert ret == {"name": str(name), "changes": {}, "result": False,
                   "comment": f"{C04}: did not see {C04} added to the running etcd cluster, the controllers before it "
                              f"started within 10 s: not started members yet: {C02}, {C03}"}
    assert clock.sleeps == [2] * 5 and "member_add" not in cluster.asked() and not name.exists()


def test_initial_settings_failures(paths, cluster, clock):
    name, data_dir = paths
    cluster.answers = [listed(C01, C02, C03)]
    cluster.added = CommandExecutionError(f"etcdctl member add {C04} --peer-urls={PEER[C04]} at {CLIENT[C01]} "
                                          "failed: Error: etcdserver: unhealthy cluster")
    ret = state.initial_settings(str(name), str(data_dir), timeout=6)
    assert ret == {"name": str(name), "changes": {}, "result": False,
                   "comment": f"{C04}: did not see {C04} added to the running etcd cluster, the controllers before it "
                              f"started within 6 s: etcdctl member add {C04} --peer-urls={PEER[C04]} at "
                              f"{CLIENT[C01]} failed: Error: etcdserver: unhealthy cluster"}
    assert cluster.asked("member_add") == ["member_add"] * 4
    # Added, but the list has a member that no controller explains: the addition stays reported.
    cluster.added = listed(C01, C02, C03, C04, unstarted=(C04,), stranger="10.10.10.70")
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret["result"] is False and ret["changes"] == {"member": {"old": None, "new": C04}}
    assert ret["comment"].startswith(f"{C04}: cannot join the running etcd cluster: no controller has the peer URL "
                                     "of member ")
    assert ret["comment"].endswith(" ['http://10.10.10.70:2380']")
    assert not name.exists()


def test_initial_settings_try_again_an_addition_refused_for_now(paths, cluster, clock):
    # etcd refuses an addition right after a member started ("not healthy for reconfigure"), then accepts it.
    name, data_dir = paths
    cluster.answers = [listed(C01, C02, C03)]
    cluster.refusals = [CommandExecutionError(f"etcdctl member add {C04} failed: Error: etcdserver: unhealthy "
                                              "cluster")]
    cluster.added = listed(C01, C02, C03, C04, unstarted=(C04,))
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret["result"] is True and ret["changes"]["member"] == {"old": None, "new": C04}
    assert cluster.asked("member_add") == ["member_add"] * 2 and clock.sleeps == [2]


def test_initial_settings_of_an_addition_whose_answer_was_lost(paths, cluster, clock):
    # The addition was applied but its answer lost: the next try finds this member listed and adds it no more.
    name, data_dir = paths
    # Asked once before the wait, once before the addition, then after its failure.
    cluster.answers = [listed(C01, C02, C03), listed(C01, C02, C03), listed(C01, C02, C03, C04, unstarted=(C04,))]
    cluster.refusals = [CommandExecutionError(f"etcdctl member add {C04} failed: context deadline exceeded")]
    ret = state.initial_settings(str(name), str(data_dir))
    assert ret["result"] is True and cluster.asked("member_add") == ["member_add"]
    assert f"{C04}=" in name.read_text()

# Pacemaker/Corosync on a controller. ha.deploy runs ha.pacemaker.node on
# every controller, the cluster-wide parts (cluster, resources) on the first,
# and ha.pacemaker.service and ha.pacemaker.guard on every controller in
# between.
include:
  - ha.pacemaker.install
  - ha.pacemaker.node
  - ha.pacemaker.cluster
  - ha.pacemaker.service
  - ha.pacemaker.guard
  - ha.pacemaker.resources

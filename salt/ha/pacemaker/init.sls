# Pacemaker/Corosync on a controller. ha.deploy runs ha.pacemaker.node on
# every controller, the cluster-wide parts (cluster, resources) on the first,
# and ha.pacemaker.service on every controller in between.
include:
  - ha.pacemaker.install
  - ha.pacemaker.node
  - ha.pacemaker.cluster
  - ha.pacemaker.service
  - ha.pacemaker.resources

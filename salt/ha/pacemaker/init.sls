# Pacemaker/Corosync on a controller. ha.deploy runs ha.pacemaker.node on
# every controller, the cluster-wide parts (cluster, resources) on the first,
# and ha.pacemaker.service and ha.pacemaker.guard on every controller in
# between.
include:
  - .install
  - .node
  - .cluster
  - .service
  - .guard
  - .resources

# An etcd member on a controller. ha.deploy runs it on every controller at
# once: the members of a new cluster wait for each other at their first
# start.
include:
  - .install
  - .config
  - .service
  - .healthy

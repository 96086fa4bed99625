# An etcd member on a controller. ha.deploy runs it on every controller at
# once: the members of a new cluster wait for each other at their first
# start.
include:
  - ha.etcd.install
  - ha.etcd.config
  - ha.etcd.service
  - ha.etcd.healthy

# Everything a controller runs (highstate of a node with the controller role).
include:
  - ha.base
  - ha.chrony
  - ha.galera
  - ha.rabbitmq
  - ha.memcached
  - ha.etcd
  - ha.haproxy
  - ha.pacemaker
  - ha.openstack

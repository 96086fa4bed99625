# Everything a controller runs (highstate of a node with the controller role).
include:
  - .base
  - .chrony
  - .galera
  - .rabbitmq
  - .memcached
  - .etcd
  - .haproxy
  - .pacemaker
  - .openstack

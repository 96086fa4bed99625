# memcached on a controller, on the node's own management address.
include:
  - ha.memcached.install
  - ha.memcached.config
  - ha.memcached.service

# memcached on a controller, on the node's own management address.
include:
  - .install
  - .config
  - .service

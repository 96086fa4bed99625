# The OpenStack controller services (highstate of a controller). On a new
# site run ha.deploy: keystone must be up on the first controller before the
# others take its keys, and the databases are synced once.
include:
  - .install
  - .config
  - .keystone
  - .services

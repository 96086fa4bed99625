# MariaDB Galera on a controller. ha.deploy runs these parts in order across
# the controllers (bootstrap on the first, then one join at a time).
include:
  - ha.galera.install
  - ha.galera.config
  - ha.galera.clustercheck
  - ha.galera.cluster
  - ha.galera.sql

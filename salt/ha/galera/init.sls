# MariaDB Galera on a controller. ha.deploy runs these parts in order across
# the controllers (bootstrap on the first, then one join at a time).
include:
  - .install
  - .config
  - .clustercheck
  - .cluster
  - .sql

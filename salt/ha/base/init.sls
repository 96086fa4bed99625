# The base of every node: host name and names that resolve without DNS.
include:
  - ha.base.hostname
  - ha.base.hosts

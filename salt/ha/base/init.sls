# The base of every node: host name, names that resolve without DNS, time
# zone, repositories, common packages, kernel modules and parameters, SELinux
# and firewall policy.
include:
  - ha.base.hostname
  - ha.base.hosts
  - ha.base.timezone
  - ha.base.repo
  - ha.base.packages
  - ha.base.kernel
  - ha.base.security

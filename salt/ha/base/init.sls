# The base of every node: host name, names that resolve without DNS, time
# zone, repositories, common packages, kernel modules and parameters, SELinux
# and firewall policy.
include:
  - .hostname
  - .hosts
  - .timezone
  - .repo
  - .packages
  - .kernel
  - .security

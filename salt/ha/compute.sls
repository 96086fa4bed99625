# Everything a compute node runs (highstate of a node with the compute role).
include:
  - .base
  - .chrony

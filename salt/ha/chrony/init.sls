# chrony on every node: the time servers (the first controller, or
# ha:chrony:servers) follow upstream and serve the management network; every
# other node follows them.
include:
  - .install
  - .config
  - .service

# HAProxy on a controller: every listener on the VIP, which any controller
# may bind (ip_nonlocal_bind). Pacemaker runs it (the lb-haproxy clone).
include:
  - .install
  - .config
  - .service

{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.etcd.config

# A member of a new cluster returns from its start once a quorum is up.
ha-etcd-service:
  service.running:
    - name: {{ ha_map.etcd.service }}
    - enable: True
    - watch:
      - file: ha-etcd-config

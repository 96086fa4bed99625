{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.memcached.config

ha-memcached-service:
  service.running:
    - name: {{ ha_map.memcached.service }}
    - enable: True
    - watch:
      - file: ha-memcached-config

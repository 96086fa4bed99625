{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.chrony.config

ha-chrony-service:
  service.running:
    - name: {{ ha_map.chrony.service }}
    - enable: True
    - watch:
      - file: ha-chrony-config
      - file: ha-chrony-options
      - file: ha-chrony-unit-without-clock

{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.chrony.config

ha-chrony-service:
  service.running:
    - name: {{ ha_map.chrony.service }}
    - enable: True
    - require:
      - module: ha-chrony-unit-reload
    - watch:
      - file: ha-chrony-config
      - file: ha-chrony-options
      - file: ha-chrony-unit-without-clock

# systemd may skip a start (an unmet condition) that Salt's service state
# still reports as done: chronyc must reach the daemon.
ha-chrony-answering:
  ha_host.chrony_answering:
    - require:
      - service: ha-chrony-service

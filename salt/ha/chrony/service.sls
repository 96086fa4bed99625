{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.chrony.config' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
include:
  - {{ sls_config }}

ha-chrony-service:
  service.running:
    - name: {{ ha_map.chrony.service }}
    - enable: True
    # Every state of the config changes what chronyd runs with: its config,
    # its options, its unit's drop-in and the systemd reload that reads it.
    - watch:
      - sls: {{ sls_config }}

# systemd may skip a start (an unmet condition) that Salt's service state
# still reports as done: chronyc must reach the daemon.
ha-chrony-answering:
  ha_host.chrony_answering:
    - require:
      - service: ha-chrony-service

{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.valid

ha-haproxy-packages:
  pkg.installed:
    - pkgs: {{ ha_map.haproxy.pkgs | json }}
    - require:
      - ha_topology: ha-pillar-valid

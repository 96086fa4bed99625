{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.valid

ha-memcached-packages:
  pkg.installed:
    - pkgs: {{ ha_map.memcached.pkgs | json }}
    - require:
      - ha_topology: ha-pillar-valid

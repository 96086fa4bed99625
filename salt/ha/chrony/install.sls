{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.valid

ha-chrony-packages:
  pkg.installed:
    - pkgs: {{ ha_map.chrony.pkgs | json }}
    - require:
      - ha_topology: ha-pillar-valid

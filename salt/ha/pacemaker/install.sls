{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.valid

ha-pacemaker-packages:
  pkg.installed:
    - pkgs: {{ ha_map.pacemaker.pkgs | json }}
    - require:
      - ha_topology: ha-pillar-valid

{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.valid

ha-etcd-packages:
  pkg.installed:
    - pkgs: {{ ha_map.etcd.pkgs | json }}
    - require:
      - ha_topology: ha-pillar-valid

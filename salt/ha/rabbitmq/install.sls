{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.valid

ha-rabbitmq-packages:
  pkg.installed:
    - pkgs: {{ ha_map.rabbitmq.pkgs | json }}
    - require:
      - ha_topology: ha-pillar-valid

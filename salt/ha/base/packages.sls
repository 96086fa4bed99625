{%- from "ha/map.jinja" import ha_map with context %}
# The tools every node has (the map's base:pkgs).
include:
  - ha.base.repo

ha-base-packages:
  pkg.installed:
    - pkgs: {{ ha_map.base.pkgs | json }}
    - require:
      - test: ha-base-repos

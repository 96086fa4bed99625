{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.valid

ha-pacemaker-packages:
  pkg.installed:
    - pkgs: {{ ha_map.pacemaker.pkgs | json }}
{%- if ha_map.pacemaker.install_recommends is not none %}
    - install_recommends: {{ ha_map.pacemaker.install_recommends | json }}
{%- endif %}
    - require:
      - ha_topology: ha-pillar-valid

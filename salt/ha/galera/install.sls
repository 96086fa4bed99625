{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.valid

ha-galera-packages:
  pkg.installed:
    - pkgs: {{ ha_map.galera.pkgs | json }}
    - require:
      - ha_topology: ha-pillar-valid

{%- for unit in ha_map.galera.disabled_units %}

# Socket activation would hold port 3306 and break galera_new_cluster.
ha-galera-no-{{ unit }}:
  service.dead:
    - name: {{ unit }}
    - enable: False
    - require:
      - pkg: ha-galera-packages
{%- endfor %}

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
include:
  - {{ sls_valid }}

ha-galera-packages:
  pkg.installed:
    - pkgs: {{ ha_map.galera.pkgs | json }}
    - require:
      - sls: {{ sls_valid }}

{%- for unit in ha_map.galera.disabled_units %}

# Socket activation would hold port 3306 and break galera_new_cluster.
ha-galera-{{ unit }}-stopped:
  service.dead:
    - name: {{ unit }}
    - enable: False
    - require:
      - pkg: ha-galera-packages
{%- endfor %}

{%- from "ha/map.jinja" import ha_map with context %}
{%- set node = salt['ha_topology.galera_node'](ha_map.galera.settings, ha_map.galera.provider) %}
include:
  - ha.galera.install

# Read at the next (re)start of MariaDB: a running Synced node is never
# restarted by the formula.
ha-galera-config:
  file.managed:
    - name: {{ ha_map.galera.config_file }}
    - source: salt://ha/galera/files/galera.cnf.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        settings: {{ node.settings | json }}
    - require:
      - pkg: ha-galera-packages

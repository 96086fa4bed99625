{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_install = tplroot ~ '.galera.install' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set node = salt['ha_topology.galera_node'](ha_map.galera.settings, ha_map.galera.provider) %}
include:
  - {{ sls_install }}

# Read at the next (re)start of MariaDB: a running Synced node is never
# restarted by the formula.
ha-galera-config:
  file.managed:
    - name: {{ ha_map.galera.config_file }}
    - source: salt://{{ tplroot }}/galera/files/galera.cnf.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        settings: {{ node.settings | json }}
    - require:
      - sls: {{ sls_install }}

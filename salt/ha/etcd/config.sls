{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_install = tplroot ~ '.etcd.install' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set node = salt['ha_topology.etcd_node'](ha_map.etcd.data_dir) %}
include:
  - {{ sls_install }}

# ETCD_* variables read by the unit of both families. The initial-cluster
# settings only matter for an empty data directory: a member with data keeps
# its cluster however often this is rendered.
ha-etcd-config:
  file.managed:
    - name: {{ ha_map.etcd.config_file }}
    - source: salt://{{ tplroot }}/etcd/files/etcd.env.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        environment: {{ node.environment | json }}
    - require:
      - sls: {{ sls_install }}

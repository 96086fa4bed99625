{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_install = tplroot ~ '.memcached.install' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set memcached = ha_map.memcached %}
include:
  - {{ sls_install }}

ha-memcached-config:
  file.managed:
    - name: {{ memcached.config_file }}
    - source: salt://{{ tplroot }}/memcached/files/{{ memcached.config_format }}.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        node: {{ salt['ha_topology.memcached_node']() | json }}
        user: {{ memcached.user }}
    - require:
      - sls: {{ sls_install }}

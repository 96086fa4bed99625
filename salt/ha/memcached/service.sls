{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.memcached.config' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
include:
  - {{ sls_config }}

ha-memcached-service:
  service.running:
    - name: {{ ha_map.memcached.service }}
    - enable: True
    - watch:
      - sls: {{ sls_config }}

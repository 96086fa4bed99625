{%- from "ha/map.jinja" import ha_map with context %}
{%- set memcached = ha_map.memcached %}
include:
  - ha.memcached.install

ha-memcached-config:
  file.managed:
    - name: {{ memcached.config_file }}
    - source: salt://ha/memcached/files/{{ memcached.config_format }}.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        node: {{ salt['ha_topology.memcached_node']() | json }}
        user: {{ memcached.user }}
    - require:
      - pkg: ha-memcached-packages

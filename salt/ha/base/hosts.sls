{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
# Every node and the VIP resolve through /etc/hosts (ha_topology.hosts).
include:
  - {{ sls_valid }}

# Debian maps the host name to 127.0.1.1; the clusters must see the
# management address instead.
ha-base-hosts-no-loopback-name:
  host.absent:
    - name: {{ grains.id }}
    - ip: 127.0.1.1
    - require:
      - sls: {{ sls_valid }}

{%- for entry in salt['ha_topology.hosts']() %}

ha-base-hosts-{{ entry.ip }}:
  host.only:
    - name: {{ entry.ip }}
    - hostnames: {{ entry.names | json }}
    - require:
      - sls: {{ sls_valid }}
{%- endfor %}

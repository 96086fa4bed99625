{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_node = tplroot ~ '.pacemaker.node' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
include:
  - {{ sls_node }}

# Once the cluster exists: its services run on this node and start at boot,
# so that a node that lost power rejoins by itself.
{%- for service in ha_map.pacemaker.services %}

ha-pacemaker-service-{{ service }}:
  service.running:
    - name: {{ service }}
    - enable: True
    - require:
      - sls: {{ sls_node }}
{%- endfor %}

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_cluster = tplroot ~ '.pacemaker.cluster' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set wanted = salt['ha_topology.pacemaker_resources'](ha_map.haproxy.service) %}
include:
  - {{ sls_cluster }}

# Cluster-wide, run on one controller: properties, the VIP, the HAProxy
# clone and their constraints, compared with the live CIB and changed in one
# CIB push.
ha-pacemaker-configured:
  ha_pacemaker.configured:
    - properties: {{ wanted.properties | json }}
    - resources: {{ wanted.resources | json }}
    - constraints: {{ wanted.constraints | json }}
    - require:
      - sls: {{ sls_cluster }}

# The health gate: the VIP on one node, HAProxy on every online node.
ha-pacemaker-started:
  ha_pacemaker.started:
    - resources: {{ wanted.started.resources | json }}
    - clones: {{ wanted.started.clones | json }}
    - timeout: 120
    - require:
      - ha_pacemaker: ha-pacemaker-configured

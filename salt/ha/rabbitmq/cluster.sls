{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_service = tplroot ~ '.rabbitmq.service' %}
{%- set node = salt['ha_topology.rabbitmq_node']() %}
include:
  - {{ sls_service }}

# The first controller is the cluster; every other one joins it once and is
# never reset again (see _states/ha_rabbitmq.py). Returns when this node is
# a running member: the health gate before the next controller.
ha-rabbitmq-clustered:
  ha_rabbitmq.clustered:
    - name: {{ node.node }}
    - first: {{ node.first }}
    - node_type: {{ node.node_type }}
    - require:
      - sls: {{ sls_service }}

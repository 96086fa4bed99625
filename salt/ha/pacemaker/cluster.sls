{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_node = tplroot ~ '.pacemaker.node' %}
{%- set cluster = salt['ha_topology.pacemaker_cluster']() %}
include:
  - {{ sls_node }}

# Cluster-wide, run on one controller: pcs authenticated, the cluster set
# up with every controller's management address (started and enabled), the
# totem options; returns when every node is online in a quorate cluster.
ha-pacemaker-cluster:
  ha_pacemaker.cluster:
    - name: {{ cluster.name }}
    - nodes: {{ cluster.nodes | json }}
    - totem: {{ cluster.totem | json }}
    - password_pillar: {{ cluster.password_pillar }}
    - timeout: 180
    - require:
      - sls: {{ sls_node }}

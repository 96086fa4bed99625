{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.galera.config' %}
{%- set sls_clustercheck = tplroot ~ '.galera.clustercheck' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set node = salt['ha_topology.galera_node'](ha_map.galera.settings, ha_map.galera.provider) %}
include:
  - {{ sls_config }}
  - {{ sls_clustercheck }}

# Bootstrap on the first controller if no cluster ever existed, otherwise join
# through a Synced peer; never a second cluster, never a blind bootstrap of a
# cluster that went fully down (see _states/ha_galera.py).
ha-galera-cluster:
  ha_galera.{{ 'bootstrapped' if node.bootstrap else 'joined' }}:
    - peers: {{ node.peers | json }}
    - check_port: {{ node.check_port }}
    - require:
      - sls: {{ sls_config }}
      - sls: {{ sls_clustercheck }}

ha-galera-service-enabled:
  service.enabled:
    - name: {{ ha_map.galera.service }}
    - require:
      - ha_galera: ha-galera-cluster

# The health endpoint's account, as soon as the node is Synced, so that the
# next controller finds this one healthy and joins it (Galera replicates it).
ha-galera-clustercheck-account:
  ha_galera.user:
    - name: clustercheck
    - hosts: [localhost]
    - password_pillar: ha:galera:clustercheck_password
    - grants: {'*': [PROCESS]}
    - require:
      - ha_galera: ha-galera-cluster

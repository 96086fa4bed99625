{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_service = tplroot ~ '.etcd.service' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set etcd = ha_map.etcd %}
include:
  - {{ sls_service }}

# The health gate: every member healthy, one leader, the expected members.
ha-etcd-healthy:
  ha_etcd.healthy:
    - members: {{ salt['ha_topology.etcd_members']() | json }}
    - all_members: True
    - timeout: 120
    - require:
      - sls: {{ sls_service }}
{%- if etcd.package_data_dir != etcd.data_dir %}

# The one-node cluster that the package may have started at install, in its
# default data directory; unused since the member runs from data_dir.
ha-etcd-no-package-cluster:
  file.absent:
    - name: {{ etcd.package_data_dir }}
    - require:
      - ha_etcd: ha-etcd-healthy
{%- endif %}

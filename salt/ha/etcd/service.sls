{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.etcd.config' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
include:
  - {{ sls_config }}

# A member of a new cluster returns from its start once a quorum is up; a
# joining member once it has caught up with the running cluster.
ha-etcd-service:
  service.running:
    - name: {{ ha_map.etcd.service }}
    - enable: True
    - watch:
      - file: ha-etcd-config
      - ha_etcd: ha-etcd-initial-settings

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_install = tplroot ~ '.etcd.install' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set etcd = ha_map.etcd %}
{%- set node = salt['ha_topology.etcd_node'](etcd.data_dir) %}
include:
  - {{ sls_install }}

# ETCD_* variables read by the unit of both families: this member's name,
# data and URLs. A change restarts the member.
ha-etcd-config:
  file.managed:
    - name: {{ etcd.config_file }}
    - source: salt://{{ tplroot }}/etcd/files/etcd.env.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        environment: {{ node.environment | json }}
    - require:
      - sls: {{ sls_install }}

# The initial settings live in a file of their own, added to the unit's
# environment: etcd reads them only while its data directory is empty, so a
# member with data never restarts because the list of controllers changed.
ha-etcd-initial-dropin:
  file.managed:
    - name: /etc/systemd/system/{{ etcd.service }}.service.d/{{ etcd.initial_dropin }}
    - makedirs: True
    - mode: '0644'
    - contents: |
        # Managed by the ha formula: this member's initial cluster settings.
        [Service]
        EnvironmentFile=-{{ etcd.initial_file }}
    - require:
      - sls: {{ sls_install }}

ha-etcd-unit-reload:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: ha-etcd-initial-dropin

# A new cluster of every controller, or (added first, in the pillar's order,
# one at a time) a member joining the running cluster.
ha-etcd-initial-settings:
  ha_etcd.initial_settings:
    - name: {{ etcd.initial_file }}
    - data_dir: {{ etcd.data_dir }}
    - require:
      - module: ha-etcd-unit-reload
      - file: ha-etcd-config

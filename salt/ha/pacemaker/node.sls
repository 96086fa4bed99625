{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_install = tplroot ~ '.pacemaker.install' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set pacemaker = ha_map.pacemaker %}
{%- set cluster = salt['ha_topology.pacemaker_cluster']() %}
include:
  - {{ sls_install }}

# pcs authenticates the nodes against each other's pcsd as this user.
ha-pacemaker-user-password:
  ha_pacemaker.password:
    - name: {{ pacemaker.user }}
    - password_pillar: {{ cluster.password_pillar }}
    - require:
      - sls: {{ sls_install }}

ha-pacemaker-pcsd:
  service.running:
    - name: {{ pacemaker.pcsd_service }}
    - enable: True
    - require:
      - ha_pacemaker: ha-pacemaker-user-password

ha-pacemaker-priority:
  file.managed:
    - name: /etc/systemd/system/{{ pacemaker.service }}.service.d/ha-priority.conf
    - makedirs: True
    - mode: '0644'
    - contents: |
        # Managed by the ha formula (ha:lookup:pacemaker:nice): Pacemaker
        # gets the CPU before the node's other services.
        [Service]
        Nice={{ pacemaker.nice }}
    - require:
      - sls: {{ sls_install }}

# A running Pacemaker keeps its nice value until its next start: the
# formula never restarts it (that would move the VIP).
ha-pacemaker-priority-reload:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: ha-pacemaker-priority

# While the package's one-node cluster exists, pcs host auth stores no
# tokens and pcs cluster setup fails.
ha-pacemaker-no-package-cluster:
  ha_pacemaker.no_package_cluster:
    - name: {{ pacemaker.corosync_conf }}
    - require:
      - service: ha-pacemaker-pcsd
      - module: ha-pacemaker-priority-reload

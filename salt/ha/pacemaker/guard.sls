{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_service = tplroot ~ '.pacemaker.service' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set pacemaker = ha_map.pacemaker %}
{%- set guard = pacemaker.vip_guard %}
{%- set cluster = salt['ha_topology.pacemaker_cluster']() %}
{%- set memcached = salt['ha_topology.memcached_node']() %}
include:
  - {{ sls_service }}

# Drops the VIP from this node the moment corosync leaves it without quorum
# (or stops), before the majority starts it elsewhere, takes a node that
# left the membership out of this node's HAProxy, ends the connections that
# ran through it to the VIP, and makes connects to its memcached fail at once
# until it is back (see the script).
ha-pacemaker-vip-guard-script:
  file.managed:
    - name: {{ guard.script }}
    - source: salt://{{ tplroot }}/pacemaker/files/vip_guard.py
    - mode: '0755'

ha-pacemaker-vip-guard-unit:
  file.managed:
    - name: /etc/systemd/system/{{ guard.unit }}.service
    - contents: |
        # Managed by Salt (ha formula): the VIP leaves a node without quorum;
        # a node that left the membership leaves HAProxy, its memcached is refused.
        [Unit]
        Description=Drop the VIP without corosync quorum; cut a departed node out of HAProxy and memcached
        After={% for service in pacemaker.services %}{{ service }}.service {% endfor %}

        [Service]
        ExecStart=/usr/bin/python3 {{ guard.script }} {{ pacemaker.corosync_cmapctl }} {{ cluster.vip }} {{ ha_map.haproxy.stats_socket }} {{ memcached.port }}
        # Stopped, it no longer follows the membership: every node's memcached as usual.
        ExecStopPost=/usr/bin/python3 {{ guard.script }} --clear
        Restart=always
        RestartSec=1
        # Ahead of the node's other services, as corosync and Pacemaker.
        Nice={{ pacemaker.nice }}

        [Install]
        WantedBy=multi-user.target

ha-pacemaker-vip-guard:
  service.running:
    - name: {{ guard.unit }}
    - enable: True
    - watch:
      - file: ha-pacemaker-vip-guard-script
      - file: ha-pacemaker-vip-guard-unit
    - require:
      - sls: {{ sls_service }}

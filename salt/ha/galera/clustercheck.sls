{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_install = tplroot ~ '.galera.install' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set check = ha_map.galera.clustercheck %}
{%- set node = salt['ha_topology.galera_node'](ha_map.galera.settings, ha_map.galera.provider) %}
{%- set options = salt['pillar.get']('ha:galera:clustercheck', {}) %}
include:
  - {{ sls_install }}

# HTTP health endpoint on the node's address: 200 only when the local node is
# Synced (and, as configured, not a donor and not read-only), 503 otherwise,
# also when MariaDB is down. A systemd socket unit holds the port and starts
# the endpoint's server at the first check, on both OS families.
ha-galera-clustercheck-script:
  file.managed:
    - name: {{ check.script }}
    - source: salt://{{ tplroot }}/galera/files/clustercheck.py
    - mode: '0755'
    - require:
      - sls: {{ sls_install }}

ha-galera-clustercheck-config:
  file.managed:
    - name: {{ check.config }}
    - source: salt://{{ tplroot }}/galera/files/clustercheck.cnf.jinja
    - template: jinja
    - mode: '0600'
    - show_changes: False
    - context:
        socket: {{ ha_map.galera.socket }}
        available_when_donor: {{ options.get('available_when_donor', False) | int }}
        available_when_readonly: {{ options.get('available_when_readonly', False) | int }}

ha-galera-clustercheck-socket-unit:
  file.managed:
    - name: /etc/systemd/system/{{ check.unit }}.socket
    - contents: |
        # Managed by Salt (ha formula): Galera health endpoint.
        [Unit]
        Description=Galera health check on {{ node.address }}:{{ node.check_port }}

        [Socket]
        ListenStream={{ node.address }}:{{ node.check_port }}
        # Sockets start before the network is configured at boot.
        FreeBind=yes

        [Install]
        WantedBy=sockets.target

ha-galera-clustercheck-service-unit:
  file.managed:
    - name: /etc/systemd/system/{{ check.unit }}.service
    - contents: |
        # Managed by Salt (ha formula): the Galera health endpoint's server,
        # started by {{ check.unit }}.socket.
        [Unit]
        Description=Galera health check server
        Requires={{ check.unit }}.socket

        [Service]
        ExecStart=/usr/bin/python3 {{ check.script }} {{ check.config }}
        Restart=on-failure
        NoNewPrivileges=yes
        ProtectSystem=strict
        ProtectHome=yes
        PrivateTmp=yes

ha-galera-clustercheck:
  service.running:
    - name: {{ check.unit }}.socket
    - enable: True
    - watch:
      - file: ha-galera-clustercheck-socket-unit
    - require:
      - file: ha-galera-clustercheck-service-unit
      - file: ha-galera-clustercheck-script
      - file: ha-galera-clustercheck-config

# The server reads its script and config once: restarted when they change.
ha-galera-clustercheck-server:
  service.running:
    - name: {{ check.unit }}.service
    - watch:
      - file: ha-galera-clustercheck-script
      - file: ha-galera-clustercheck-config
      - file: ha-galera-clustercheck-service-unit
    - require:
      - service: ha-galera-clustercheck

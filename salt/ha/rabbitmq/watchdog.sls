{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_cluster = tplroot ~ '.rabbitmq.cluster' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set rabbitmq = ha_map.rabbitmq %}
{%- set watchdog = rabbitmq.watchdog %}
{%- set node = salt['ha_topology.rabbitmq_node']() %}
{%- set access = salt['ha_topology.rabbitmq_access']() %}
include:
  - {{ sls_cluster }}
{%- if node.watchdog.enabled %}

# Restarts the local RabbitMQ when it runs split from the larger side of the
# cluster, or when its start hangs while the majority runs: states RabbitMQ
# 3.10 never leaves by itself (see the script).
ha-rabbitmq-watchdog-script:
  file.managed:
    - name: {{ watchdog.script }}
    - source: salt://{{ tplroot }}/rabbitmq/files/watchdog.py
    - mode: '0755'

ha-rabbitmq-watchdog-config:
  file.managed:
    - name: {{ watchdog.config }}
    - source: salt://{{ tplroot }}/rabbitmq/files/watchdog.ini.jinja
    - template: jinja
    - mode: '0600'
    - show_changes: False
    - context:
        node: {{ node | json }}
        user: {{ access.user.name }}
        password_pillar: {{ access.user.password_pillar }}
        service: {{ rabbitmq.service }}

ha-rabbitmq-watchdog-unit:
  file.managed:
    - name: /etc/systemd/system/{{ watchdog.unit }}.service
    - contents: |
        # Managed by Salt (ha formula): RabbitMQ self-repair.
        [Unit]
        Description=RabbitMQ self-repair
        After={{ rabbitmq.service }}.service

        [Service]
        ExecStart=/usr/bin/python3 {{ watchdog.script }} {{ watchdog.config }}
        Restart=always
        RestartSec=5

        [Install]
        WantedBy=multi-user.target

ha-rabbitmq-watchdog:
  service.running:
    - name: {{ watchdog.unit }}
    - enable: True
    - watch:
      - file: ha-rabbitmq-watchdog-script
      - file: ha-rabbitmq-watchdog-config
      - file: ha-rabbitmq-watchdog-unit
    - require:
      - sls: {{ sls_cluster }}
{%- else %}

# cluster_partition_handling: ignore leaves splits to the operator.
ha-rabbitmq-watchdog-stopped:
  service.dead:
    - name: {{ watchdog.unit }}
    - enable: False
{%- endif %}

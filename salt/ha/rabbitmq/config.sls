{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_install = tplroot ~ '.rabbitmq.install' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set rabbitmq = ha_map.rabbitmq %}
{%- set node = salt['ha_topology.rabbitmq_node']() %}
include:
  - {{ sls_install }}

# The same cookie on every controller, so that the nodes and rabbitmqctl
# can talk to each other. Its content never appears in a diff.
ha-rabbitmq-cookie:
  file.managed:
    - name: {{ rabbitmq.cookie_file }}
    - contents_pillar: ha:rabbitmq:erlang_cookie
    - contents_newline: False
    - user: {{ rabbitmq.user }}
    - group: {{ rabbitmq.group }}
    - mode: '0400'
    - show_changes: False
    - require:
      - sls: {{ sls_install }}

ha-rabbitmq-config:
  file.managed:
    - name: {{ rabbitmq.config_file }}
    - source: salt://{{ tplroot }}/rabbitmq/files/rabbitmq.conf.jinja
    - template: jinja
    - user: root
    - group: {{ rabbitmq.group }}
    - mode: '0640'
    - context:
        settings: {{ node.settings | json }}
    - require:
      - sls: {{ sls_install }}

ha-rabbitmq-plugins:
  file.managed:
    - name: {{ rabbitmq.plugins_file }}
    - contents: "[{{ rabbitmq.plugins | join(',') }}]."
    - user: root
    - group: {{ rabbitmq.group }}
    - mode: '0644'
    - require:
      - sls: {{ sls_install }}

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.rabbitmq.config' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
include:
  - {{ sls_config }}

# Restarted only when the cookie, the config or the plugins changed; the
# orchestration does this one controller at a time.
ha-rabbitmq-service:
  service.running:
    - name: {{ ha_map.rabbitmq.service }}
    - enable: True
    - watch:
      - sls: {{ sls_config }}

{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.rabbitmq.config

# Restarted only when the cookie, the config or the plugins changed; the
# orchestration does this one controller at a time.
ha-rabbitmq-service:
  service.running:
    - name: {{ ha_map.rabbitmq.service }}
    - enable: True
    - watch:
      - file: ha-rabbitmq-cookie
      - file: ha-rabbitmq-config
      - file: ha-rabbitmq-plugins

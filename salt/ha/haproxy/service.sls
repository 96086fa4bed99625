{%- from "ha/map.jinja" import ha_map with context %}
{%- set haproxy = ha_map.haproxy %}
include:
  - ha.haproxy.config

ha-haproxy-rsyslog-service:
  service.running:
    - name: {{ haproxy.rsyslog_service }}
    - enable: True
    - watch:
      - file: ha-haproxy-rsyslog

# Pacemaker starts and stops HAProxy (the lb-haproxy clone): not at boot by
# systemd, so that a node without quorum does not serve.
ha-haproxy-not-at-boot:
  service.disabled:
    - name: {{ haproxy.service }}
    - require:
      - file: ha-haproxy-config

# A running HAProxy takes a new config without dropping connections.
ha-haproxy-reload:
  cmd.run:
    - name: systemctl reload {{ haproxy.service }}
    - onlyif: systemctl is-active --quiet {{ haproxy.service }}
    - onchanges:
      - file: ha-haproxy-config

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.haproxy.config' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set haproxy = ha_map.haproxy %}
include:
  - {{ sls_config }}

# The watch and onchanges below name single states of haproxy.config, not
# the SLS: rsyslog restarts for its own file only, HAProxy reloads for its
# config only (not for rsyslog's file or the base's kernel parameters).
ha-haproxy-rsyslog-service:
  service.running:
    - name: {{ haproxy.rsyslog_service }}
    - enable: True
    - watch:
      - file: ha-haproxy-rsyslog

# Pacemaker starts and stops HAProxy (the lb-haproxy clone): not at boot by
# systemd, so that a node without quorum does not serve.
ha-haproxy-service-disabled:
  service.disabled:
    - name: {{ haproxy.service }}
    - require:
      - sls: {{ sls_config }}

# A running HAProxy takes a new config without dropping connections.
ha-haproxy-reload:
  cmd.run:
    - name: systemctl reload {{ haproxy.service }}
    - onlyif: systemctl is-active --quiet {{ haproxy.service }}
    - onchanges:
      - file: ha-haproxy-config

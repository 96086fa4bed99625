{%- from "ha/map.jinja" import ha_map with context %}
{%- set haproxy = ha_map.haproxy %}
# Every controller's HAProxy binds the VIP, wherever the VIP is: the base
# sets net.ipv4.ip_nonlocal_bind.
include:
  - ha.haproxy.install
  - ha.base.kernel

# Checked with haproxy -c before it replaces the file. It holds the stats
# password: readable by root and haproxy only, and never shown in a diff.
ha-haproxy-config:
  file.managed:
    - name: {{ haproxy.config_file }}
    - source: salt://ha/haproxy/files/haproxy.cfg.jinja
    - template: jinja
    - user: root
    - group: {{ haproxy.group }}
    - mode: '0640'
    - show_changes: False
    - check_cmd: {{ haproxy.binary }} -c -f
    - context:
        haproxy: {{ haproxy | json }}
        config: {{ salt['ha_topology.haproxy_config']() | json }}
    - require:
      - pkg: ha-haproxy-packages
      - sysctl: ha-base-sysctl-net.ipv4.ip_nonlocal_bind

ha-haproxy-rsyslog:
  file.managed:
    - name: {{ haproxy.rsyslog_config }}
    - source: salt://ha/haproxy/files/rsyslog.conf.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        log_file: {{ haproxy.log_file }}
    - require:
      - pkg: ha-haproxy-packages

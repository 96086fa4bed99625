{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_install = tplroot ~ '.haproxy.install' %}
{%- set sls_kernel = tplroot ~ '.base.kernel' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set haproxy = ha_map.haproxy %}
# Every controller's HAProxy binds the VIP, wherever the VIP is: the base
# sets net.ipv4.ip_nonlocal_bind.
include:
  - {{ sls_install }}
  - {{ sls_kernel }}

# Checked with haproxy -c before it replaces the file. It holds the stats
# password: readable by root and haproxy only, and never shown in a diff.
ha-haproxy-config:
  file.managed:
    - name: {{ haproxy.config_file }}
    - source: salt://{{ tplroot }}/haproxy/files/haproxy.cfg.jinja
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
      - sls: {{ sls_install }}
      # net.ipv4.ip_nonlocal_bind among the kernel parameters
      - sls: {{ sls_kernel }}

ha-haproxy-rsyslog:
  file.managed:
    - name: {{ haproxy.rsyslog_config }}
    - source: salt://{{ tplroot }}/haproxy/files/rsyslog.conf.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        log_file: {{ haproxy.log_file }}
    - require:
      - sls: {{ sls_install }}

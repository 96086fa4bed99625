{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
# The host name is the node's minion id, the name the clusters know it by:
# persistent in /etc/hostname and in effect now (ha_host.hostname).
include:
  - {{ sls_valid }}

ha-base-hostname-file:
  file.managed:
    - name: /etc/hostname
    - contents: {{ grains.id }}
    - mode: '0644'
    - require:
      - sls: {{ sls_valid }}

ha-base-hostname:
  ha_host.hostname:
    - name: {{ grains.id }}
    - require:
      - file: ha-base-hostname-file

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
include:
  - {{ sls_valid }}

ha-etcd-packages:
  pkg.installed:
    - pkgs: {{ ha_map.etcd.pkgs | json }}
    - require:
      - sls: {{ sls_valid }}

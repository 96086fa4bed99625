{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
include:
  - {{ sls_valid }}

ha-pacemaker-packages:
  pkg.installed:
    - pkgs: {{ ha_map.pacemaker.pkgs | json }}
{%- if ha_map.pacemaker.install_recommends is not none %}
    - install_recommends: {{ ha_map.pacemaker.install_recommends | json }}
{%- endif %}
    - require:
      - sls: {{ sls_valid }}

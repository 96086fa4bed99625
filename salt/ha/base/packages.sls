{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_repo = tplroot ~ '.base.repo' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
# The tools every node has (the map's base:pkgs).
include:
  - {{ sls_repo }}

ha-base-packages:
  pkg.installed:
    - pkgs: {{ ha_map.base.pkgs | json }}
    - require:
      - sls: {{ sls_repo }}

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set base = ha_map.base %}
# The time zone of every node (ha:timezone), set in its files (Salt's
# timezone.system asks timedatectl, whose D-Bus activation of timedated can
# take its whole 25 s timeout in a container).
include:
  - {{ sls_valid }}

ha-base-timezone:
  ha_host.timezone:
    - name: {{ pillar.ha.timezone }}
    - zoneinfo_dir: {{ base.zoneinfo_dir }}
    - localtime: {{ base.localtime }}
    - timezone_file: {{ base.timezone_file | json }}
    - require:
      - sls: {{ sls_valid }}

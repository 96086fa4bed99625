{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
# The time zone of every node (ha:timezone).
include:
  - {{ sls_valid }}

ha-base-timezone:
  timezone.system:
    - name: {{ pillar.ha.timezone }}
    - require:
      - sls: {{ sls_valid }}

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_install = tplroot ~ '.chrony.install' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set chrony = ha_map.chrony %}
{%- set can_set_clock = salt['ha_host.can_set_clock']() %}
{%- set unit_dropin = '/etc/systemd/system/' ~ chrony.service ~ '.service.d/ha-no-clock.conf' %}
# Where services may not set the clock (a container lacks CAP_SYS_TIME),
# chronyd runs with -x: it serves and tracks time without touching the clock,
# and its unit's ConditionCapability=CAP_SYS_TIME is lifted.
include:
  - {{ sls_install }}

ha-chrony-config:
  file.managed:
    - name: {{ chrony.config_file }}
    - source: salt://{{ tplroot }}/chrony/files/chrony.conf.jinja
    - template: jinja
    - mode: '0644'
    - context:
        chrony: {{ chrony | json }}
        node: {{ salt['ha_topology.chrony_node']() | json }}
        can_set_clock: {{ can_set_clock | json }}
    - require:
      - sls: {{ sls_install }}

ha-chrony-options:
  file.keyvalue:
    - name: {{ chrony.options_file }}
    - key: {{ chrony.options_var }}
    - value: '"{{ chrony.options }}{{ '' if can_set_clock else ' -x' }}"'
    - separator: '='
    - append_if_not_found: True
    - require:
      - sls: {{ sls_install }}

ha-chrony-unit-without-clock:
{%- if can_set_clock %}
  file.absent:
    - name: {{ unit_dropin }}
{%- else %}
  file.managed:
    - name: {{ unit_dropin }}
    - makedirs: True
    - mode: '0644'
    - contents: |
        # Managed by the ha formula: this node may not set the clock, so
        # chronyd runs with -x and needs no CAP_SYS_TIME.
        [Unit]
        ConditionCapability=
{%- endif %}
    - require:
      - sls: {{ sls_install }}

# systemd reads a new or removed drop-in only after a reload; without it the
# unit's ConditionCapability still applies and the start is skipped.
ha-chrony-unit-reload:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: ha-chrony-unit-without-clock

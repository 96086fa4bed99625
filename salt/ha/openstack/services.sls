{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.openstack.config' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set openstack = ha_map.openstack %}
{%- set services = salt['ha_openstack.services']('services') %}
# glance, placement and nova on a controller, each restarted when its
# settings changed (ha.openstack.config's restart flag, kept from an earlier
# run until the restart); health gate: each API answers on the node's own
# address. Each service watches its own flag, not the SLS: another service's
# config change must not restart it.
include:
  - {{ sls_config }}
{%- for service in services %}

# The service's units restart (or start) while its settings' restart flag
# is there, once its requisites are met; the flag goes once they run.
ha-{{ service }}-restart-due:
  ha_openstack.restart_due:
    - name: {{ openstack.restart_pending_dir }}/{{ service }}
    - service: {{ service }}
    - require:
      - file: ha-{{ service }}-restart-pending
      - ha_openstack: ha-{{ service }}-members
{%- for unit in openstack[service].services %}

ha-{{ service }}-service-{{ unit }}:
  service.running:
    - name: {{ unit }}
    - enable: True
    - watch:
      - ha_openstack: ha-{{ service }}-restart-due
{%- endfor %}

ha-{{ service }}-restart-done:
  file.absent:
    - name: {{ openstack.restart_pending_dir }}/{{ service }}
    - require:
{%- for unit in openstack[service].services %}
      - service: ha-{{ service }}-service-{{ unit }}
{%- endfor %}
{%- endfor %}
{%- for api in salt['ha_openstack.apis']('services', gate=True) %}

ha-{{ api }}-answering:
  ha_openstack.answering:
    - name: {{ salt['ha_openstack.node_url'](api) }}
    - require:
{%- for service in services %}
{%- for unit in openstack[service].services %}
      - service: ha-{{ service }}-service-{{ unit }}
{%- endfor %}
{%- endfor %}
{%- endfor %}

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.openstack.config' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set openstack = ha_map.openstack %}
{%- set services = salt['ha_openstack.services']('services') %}
# glance, placement and nova on a controller, each restarted when its
# settings change; health gate: each API answers on the node's own address.
# Each service watches its own states of openstack.config by ID, not the SLS:
# another service's config change must not restart it.
include:
  - {{ sls_config }}
{%- for service in services %}
{%- set svc = openstack[service] %}
{%- for unit in svc.services %}

ha-{{ service }}-service-{{ unit }}:
  service.running:
    - name: {{ unit }}
    - enable: True
    - require:
      - ha_openstack: ha-{{ service }}-members
    - watch:
      - ha_openstack: ha-{{ service }}-config
{%- if svc.defaults %}
      - file: ha-{{ service }}-defaults
{%- endif %}
{%- for uwsgi_unit in svc.uwsgi %}
      - ha_openstack: ha-{{ service }}-uwsgi-{{ uwsgi_unit }}
      - file: ha-{{ service }}-uwsgi-bind-{{ uwsgi_unit }}
{%- endfor %}
{%- for site in svc.httpd.values() %}
      - ha_openstack: ha-{{ service }}-httpd-{{ site.api }}
{%- endfor %}
{%- if svc.httpd and openstack.httpd_conf %}
      - ha_openstack: ha-openstack-httpd-listen
{%- endif %}
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

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.openstack.config' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set openstack = ha_map.openstack %}
# On the first controller (Galera replicates it): the schemas of the services
# registered with keystone (nova's with its cells). They need the databases
# and the services' settings only, not keystone (ha.openstack.catalog).
include:
  - {{ sls_config }}

{%- for service in salt['ha_openstack.services']('services') %}
{%- set svc = openstack[service] %}
{%- if svc.api_db_sync is defined %}

# nova: its API database and its cells before the cell database.
ha-{{ service }}-api-db-sync:
  ha_openstack.db_synced:
    - name: {{ service }}_api
    - sync: {{ svc.api_db_sync | json }}
    - version: {{ svc.api_db_version | json }}
    - user: {{ svc.user }}
    - stamp: {{ openstack.schema_stamp_dir }}/{{ service }}_api
    - packages: {{ svc.pkgs | json }}
    - require:
      - sls: {{ sls_config }}

ha-{{ service }}-cells:
  ha_openstack.nova_cells:
    - name: {{ svc.cell }}
    - user: {{ svc.user }}
    - require:
      - ha_openstack: ha-{{ service }}-api-db-sync
{%- endif %}

ha-{{ service }}-db-sync:
  ha_openstack.db_synced:
    - name: {{ service }}
    - sync: {{ svc.db_sync | json }}
    - check: {{ svc.db_check | json }}
    - version: {{ svc.db_version | json }}
    - user: {{ svc.user }}
    - stamp: {{ openstack.schema_stamp_dir }}/{{ service }}
    - packages: {{ svc.pkgs | json }}
    - require:
{%- if svc.api_db_sync is defined %}
      - ha_openstack: ha-{{ service }}-cells
{%- else %}
      - sls: {{ sls_config }}
{%- endif %}
{%- endfor %}

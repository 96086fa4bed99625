{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.openstack.config' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set openstack = ha_map.openstack %}
# On the first controller (Galera replicates it): the schemas of the services
# registered with keystone (nova's with its cells) and keystone's catalog of them.
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
    - require:
{%- if svc.api_db_sync is defined %}
      - ha_openstack: ha-{{ service }}-cells
{%- else %}
      - sls: {{ sls_config }}
{%- endif %}
{%- endfor %}

# Through this node's keystone (the VIP's may still be checking the others).
ha-openstack-catalog:
  ha_openstack.catalog:
    - name: keystone
    - auth_url: {{ salt['ha_openstack.node_url']('keystone') }}

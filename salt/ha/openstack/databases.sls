{%- from "ha/map.jinja" import ha_map with context %}
{%- set openstack = ha_map.openstack %}
# On the first controller (Galera replicates it): the schemas of glance,
# placement and nova, nova's cells, and keystone's catalog of the services.
include:
  - ha.openstack.config

{%- for service in ('glance', 'placement') %}

ha-{{ service }}-db-sync:
  ha_openstack.db_synced:
    - name: {{ service }}
    - sync: {{ openstack[service].db_sync | json }}
    - check: {{ openstack[service].db_check | json }}
    - version: {{ openstack[service].db_version | json }}
    - user: {{ openstack[service].user }}
    - require:
      - ha_openstack: ha-{{ service }}-config
{%- endfor %}

ha-nova-api-db-sync:
  ha_openstack.db_synced:
    - name: nova_api
    - sync: {{ openstack.nova.api_db_sync | json }}
    - version: {{ openstack.nova.api_db_version | json }}
    - user: {{ openstack.nova.user }}
    - require:
      - ha_openstack: ha-nova-config

ha-nova-cells:
  ha_openstack.nova_cells:
    - name: {{ openstack.nova.cell }}
    - user: {{ openstack.nova.user }}
    - require:
      - ha_openstack: ha-nova-api-db-sync

ha-nova-db-sync:
  ha_openstack.db_synced:
    - name: nova
    - sync: {{ openstack.nova.db_sync | json }}
    - check: {{ openstack.nova.db_check | json }}
    - version: {{ openstack.nova.db_version | json }}
    - user: {{ openstack.nova.user }}
    - require:
      - ha_openstack: ha-nova-cells

# Through this node's keystone (the VIP's may still be checking the others).
ha-openstack-catalog:
  ha_openstack.catalog:
    - name: keystone
    - auth_url: {{ salt['ha_openstack.node_url']('keystone') }}

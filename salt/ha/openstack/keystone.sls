{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.openstack.config' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set keystone = ha_map.openstack.keystone %}
{%- set controllers = salt['ha_topology.ids']('controller') %}
{%- set first = salt['ha_topology.first_controller']() %}
# keystone on a controller. The first controller sets up the fernet and
# credential keys once and publishes them to the other controllers (Salt
# mine, readable by the controllers only), syncs the database and
# bootstraps the admin and keystone's endpoints; the others take its keys.
include:
  - {{ sls_config }}
{%- if grains.id == first %}

ha-keystone-keys:
  ha_openstack.keys_published:
    - name: keystone
    - fernet_dir: {{ keystone.fernet_dir }}
    - credential_dir: {{ keystone.credential_dir }}
    - user: {{ keystone.user }}
    - group: {{ keystone.group }}
    - controllers: {{ controllers | json }}
    - require:
      - sls: {{ sls_config }}

ha-keystone-db-sync:
  ha_openstack.db_synced:
    - name: keystone
    - sync: {{ keystone.db_sync | json }}
    - check: {{ keystone.db_check | json }}
    - version: {{ keystone.db_version | json }}
    - user: {{ keystone.user }}
    - stamp: {{ ha_map.openstack.schema_stamp_dir }}/keystone
    - packages: {{ keystone.pkgs | json }}
    - require:
      - sls: {{ sls_config }}
{%- else %}

ha-keystone-keys:
  ha_openstack.keys_synced:
    - name: keystone
    - source: {{ first }}
    - fernet_dir: {{ keystone.fernet_dir }}
    - credential_dir: {{ keystone.credential_dir }}
    - user: {{ keystone.user }}
    - group: {{ keystone.group }}
    - require:
      - sls: {{ sls_config }}
{%- endif %}

# keystone's units restart (or start) while its settings' restart flag is
# there, once every requisite is met; the flag goes once they run. Its own
# flag, not the whole SLS: another service's config change must not restart
# keystone.
ha-keystone-restart-due:
  ha_openstack.restart_due:
    - name: {{ ha_map.openstack.restart_pending_dir }}/keystone
    - service: keystone
    - require:
      - file: ha-keystone-restart-pending
      - ha_openstack: ha-keystone-keys
      - ha_openstack: ha-keystone-members
{%- if grains.id == first %}
      - ha_openstack: ha-keystone-db-sync
{%- endif %}
{%- for unit in keystone.services %}

ha-keystone-service-{{ unit }}:
  service.running:
    - name: {{ unit }}
    - enable: True
    - watch:
      - ha_openstack: ha-keystone-restart-due
{%- endfor %}

ha-keystone-restart-done:
  file.absent:
    - name: {{ ha_map.openstack.restart_pending_dir }}/keystone
    - require:
{%- for unit in keystone.services %}
      - service: ha-keystone-service-{{ unit }}
{%- endfor %}

# Health gate: keystone answers on this node's own address.
ha-keystone-answering:
  ha_openstack.answering:
    - name: {{ salt['ha_openstack.node_url']('keystone') }}
    - require:
{%- for unit in keystone.services %}
      - service: ha-keystone-service-{{ unit }}
{%- endfor %}
{%- if grains.id == first %}

ha-keystone-bootstrap:
  ha_openstack.bootstrapped:
    - name: keystone
    - user: {{ keystone.user }}
    - auth_url: {{ salt['ha_openstack.node_url']('keystone') }}
    - require:
      - ha_openstack: ha-keystone-answering
{%- endif %}

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config = tplroot ~ '.openstack.config' %}
# On the first controller, once keystone runs there: keystone's catalog of
# the services (project service, their users, services and endpoints).
include:
  - {{ sls_config }}

# Through this node's keystone (the VIP's may still be checking the others).
ha-openstack-catalog:
  ha_openstack.catalog:
    - name: keystone
    - auth_url: {{ salt['ha_openstack.node_url']('keystone') }}
    - require:
      - sls: {{ sls_config }}

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set openstack = ha_map.openstack %}
{%- set services = salt['ha_openstack.services']() %}
{%- set pkgs = [] %}
{%- for service in services %}
{%- do pkgs.extend(openstack[service].pkgs) %}
{%- endfor %}
# The controller services' packages and the OpenStack client. Where the
# packages start their services at install, a policy-rc.d forbids it while
# they are installed (only when something is to be installed: prereq); the
# services start once their HA settings are in place.
include:
  - {{ sls_valid }}
{%- if openstack.policy_rc_d %}

ha-openstack-no-start-at-install:
  file.managed:
    - name: {{ openstack.policy_rc_d }}
    - mode: '0755'
    - contents: |
        #!/bin/sh
        # Written by the ha formula while it installs OpenStack packages.
        exit 101
    - prereq:
      - pkg: ha-openstack-packages
{%- endif %}

ha-openstack-packages:
  pkg.installed:
    - pkgs: {{ (pkgs + openstack.client_pkgs) | unique | list | json }}
    - install_recommends: False
    - require:
      - sls: {{ sls_valid }}
{%- if openstack.policy_rc_d %}

# Removed after the install, also when it failed.
ha-openstack-start-at-install-again:
  file.absent:
    - name: {{ openstack.policy_rc_d }}
    - require:
      - pkg: ha-openstack-packages

ha-openstack-start-at-install-again-after-a-failure:
  file.absent:
    - name: {{ openstack.policy_rc_d }}
    - onfail:
      - pkg: ha-openstack-packages
{%- endif %}
{%- for service in services %}
{%- for unit in openstack[service].disabled_services %}

ha-openstack-{{ unit }}-stopped:
  service.dead:
    - name: {{ unit }}
    - enable: False
    - require:
      - pkg: ha-openstack-packages
{%- endfor %}
{%- endfor %}

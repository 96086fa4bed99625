{%- from "ha/map.jinja" import ha_map with context %}
{%- set base = ha_map.base %}
{%- set settings = salt['ha_topology.base_settings']() %}
# SELinux (where the family has it) and the firewall, as ha:base:selinux and
# ha:base:firewall say. Enforcing SELinux gets the OpenStack policy package.
include:
  - ha.base.repo
{%- if base.selinux %}
{%- if settings.selinux == 'enforcing' and base.selinux_policy_pkg %}

ha-base-selinux-policy:
  pkg.installed:
    - name: {{ base.selinux_policy_pkg }}
    - require:
      - test: ha-base-repos
    - require_in:
      - selinux: ha-base-selinux
{%- endif %}

ha-base-selinux:
  selinux.mode:
    - name: {{ settings.selinux }}
    - require:
      - test: ha-base-repos
{%- endif %}
{%- if settings.firewall == 'disabled' %}
{%- for service in base.firewall_services %}

ha-base-firewall-{{ service }}-off:
  service.dead:
    - name: {{ service }}
    - enable: False
    - require:
      - test: ha-base-repos
{%- endfor %}
{%- endif %}

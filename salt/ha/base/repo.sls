{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set base = ha_map.base %}
{%- set settings = salt['ha_topology.base_settings']() %}
# Where the family needs them: the OpenStack release's repository and the
# distribution's repositories of the formula's packages; then, only with
# ha:base:upgrade, every package upgraded (the reference's full upgrade).
include:
  - {{ sls_valid }}

{%- for repo in base.enable_repos %}

ha-base-repo-{{ repo }}:
  pkgrepo.managed:
    - name: {{ repo }}
    - enabled: True
    - require:
      - sls: {{ sls_valid }}
{%- endfor %}
{%- if base.openstack_repo_pkg %}

ha-base-openstack-repo:
  pkg.installed:
    - name: {{ base.openstack_repo_pkg.format(release=settings.openstack_release) }}
    - require:
      - sls: {{ sls_valid }}
{%- endif %}

ha-base-repos:
  test.nop:
    - require:
      - sls: {{ sls_valid }}
{%- for repo in base.enable_repos %}
      - pkgrepo: ha-base-repo-{{ repo }}
{%- endfor %}
{%- if base.openstack_repo_pkg %}
      - pkg: ha-base-openstack-repo
{%- endif %}
{%- if settings.upgrade %}

ha-base-upgrade:
  pkg.uptodate:
    - refresh: True
    - require:
      - test: ha-base-repos
{%- endif %}

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_repo = tplroot ~ '.base.repo' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set base = ha_map.base %}
{%- set settings = salt['ha_topology.base_settings']() %}
# SELinux (where the family has it) and the firewall, as ha:base:selinux and
# ha:base:firewall say. SELinux's mode is set with the tools Salt needs for it
# (map: base:selinux_pkgs); enforcing also gets the OpenStack policy package;
# a managed firewall lets in only what ha_topology.firewall_rules lists.
include:
  - {{ sls_repo }}
{%- if base.selinux %}
{%- if base.selinux_pkgs %}

# Whatever the mode: the tools Salt's selinux module needs (semanage), without
# which selinux.mode is not found. Their install reloads the modules.
ha-base-selinux-tools:
  pkg.installed:
    - pkgs: {{ base.selinux_pkgs | json }}
    - require:
      - sls: {{ sls_repo }}
    - require_in:
      - selinux: ha-base-selinux
{%- endif %}
{%- if settings.selinux == 'enforcing' and base.selinux_policy_pkg %}

ha-base-selinux-policy:
  pkg.installed:
    - name: {{ base.selinux_policy_pkg }}
    - require:
      - sls: {{ sls_repo }}
    - require_in:
      - selinux: ha-base-selinux
{%- endif %}

ha-base-selinux:
  selinux.mode:
    - name: {{ settings.selinux }}
    - require:
      - sls: {{ sls_repo }}
{%- endif %}
{%- if settings.firewall == 'disabled' %}
{%- for service in base.firewall_services %}

ha-base-{{ service }}-stopped:
  service.dead:
    - name: {{ service }}
    - enable: False
    - require:
      - sls: {{ sls_repo }}
{%- endfor %}
{%- else %}
{#- managed: only the ports the formula's services use (ha_topology.firewall_rules). #}
{%- set firewall = base.firewall %}
{%- set rules = salt['ha_topology.firewall_rules']() %}

ha-base-firewall-packages:
  pkg.installed:
    - pkgs: {{ firewall.pkgs | json }}
    - require:
      - sls: {{ sls_repo }}
{%- for service in firewall.conflicts %}

ha-base-{{ service }}-stopped:
  service.dead:
    - name: {{ service }}
    - enable: False
    - require:
      - pkg: ha-base-firewall-packages
    - require_in:
      - service: ha-base-firewall
{%- endfor %}
{%- if firewall.backend == 'nftables' %}

# Checked by nft before it is installed: a broken rule set is never loaded.
ha-base-firewall-config:
  file.managed:
    - name: {{ firewall.config_file }}
    - source: salt://{{ tplroot }}/base/files/nftables.conf.jinja
    - template: jinja
    - context:
        rules: {{ rules.nftables | json }}
    - mode: '0755'
    - check_cmd: nft -c -f
    - require:
      - pkg: ha-base-firewall-packages

# Enabled: it loads the file at boot. Loaded now by ha_host.nft_loaded (its
# digest recorded), which says what nft said when a load fails.
ha-base-firewall:
  service.enabled:
    - name: {{ firewall.service }}
    - require:
      - file: ha-base-firewall-config

ha-base-firewall-loaded:
  ha_host.nft_loaded:
    - name: {{ firewall.config_file }}
    - service: {{ firewall.service }}
    - record: {{ firewall.loaded_record }}
    - require:
      - service: ha-base-firewall
{%- else %}

ha-base-firewall:
  service.running:
    - name: {{ firewall.service }}
    - enable: True
    - require:
      - pkg: ha-base-firewall-packages

# The default zone lets in exactly the formula's rules: no service or port
# of the distribution's defaults.
ha-base-firewall-zone:
  firewalld.present:
    - name: {{ firewall.zone }}
    - default: True
    - services: []
    - prune_services: True
    - ports: []
    - prune_ports: True
    - rich_rules: {{ rules.rich_rules | json }}
    - prune_rich_rules: True
    - require:
      - service: ha-base-firewall
{%- endif %}
{%- endif %}

{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
{%- set sls_packages = tplroot ~ '.base.packages' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set base = ha_map.base %}
# Kernel modules at boot and now, then the kernel parameters of
# ha_topology.base_settings: persisted once each in the formula's own
# sysctl.d file and in effect at once.
include:
  - {{ sls_valid }}
  - {{ sls_packages }}

ha-base-kernel-modules-at-boot:
  file.managed:
    - name: {{ base.modules_file }}
    - contents: {{ (["# Loaded at boot; managed by the ha formula (ha.base.kernel)."] + base.kernel_modules) | join("\n") | json }}
    - mode: '0644'
    - require:
      - sls: {{ sls_valid }}
{%- for module in base.kernel_modules %}

ha-base-kernel-module-{{ module }}:
  ha_host.kernel_module:
    - name: {{ module }}
    - require:
      - file: ha-base-kernel-modules-at-boot
      # kmod: modprobe and lsmod
      - sls: {{ sls_packages }}
{%- endfor %}
{%- for name, value in salt['ha_topology.base_settings']().sysctl.items() %}

ha-base-sysctl-{{ name }}:
  sysctl.present:
    - name: {{ name }}
    - value: {{ value | json }}
    - config: {{ base.sysctl_file }}
    - require:
{%- for module in base.kernel_modules %}
      - ha_host: ha-base-kernel-module-{{ module }}
{%- endfor %}
{%- endfor %}

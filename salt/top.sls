{#- Assigns states by role: every node of the ha pillar gets ha.<role> for each
    of its roles (ha_topology.roles reads them from ha:nodes). Before the
    formula's modules are synced (saltutil.sync_all renders this file to find
    its environments) no state is assigned; a highstate syncs them first.
    The top file is no part of the formula and has no tpldir of it: it names
    the formula's root folder once, here. #}
{%- set tplroot = 'ha' %}
base:
  '{{ grains.id }}':
{%- if 'ha_topology.roles' in salt %}
{%- for role in salt['ha_topology.roles']() %}
    - {{ tplroot }}.{{ role }}
{%- endfor %}
{%- else %}
    []
{%- endif %}

{#- Assigns states by role: every node of the ha pillar gets ha.<role> for each
    of its roles (ha_topology.roles reads them from ha:nodes). Before the
    formula's modules are synced (saltutil.sync_all renders this file to find
    its environments) no state is assigned; a highstate syncs them first. #}
base:
  '{{ grains.id }}':
{%- if 'ha_topology.roles' in salt %}
{%- for role in salt['ha_topology.roles']() %}
    - ha.{{ role }}
{%- endfor %}
{%- else %}
    []
{%- endif %}

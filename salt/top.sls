{#- Assigns states by role: every node of the ha pillar gets ha.<role> for each
    of its roles (ha_topology.roles reads them from ha:nodes). #}
base:
  '{{ grains.id }}':
{%- for role in salt['ha_topology.roles']() %}
    - ha.{{ role }}
{%- endfor %}

{%- from "ha/map.jinja" import ha_map with context %}
include:
  - ha.pacemaker.node

# Once the cluster exists: its services run on this node and start at boot,
# so that a node that lost power rejoins by itself.
{%- for service in ha_map.pacemaker.services %}

ha-pacemaker-service-{{ service }}:
  service.running:
    - name: {{ service }}
    - enable: True
    - require:
      - ha_pacemaker: ha-pacemaker-no-package-cluster
{%- endfor %}

# The time zone of every node (ha:timezone).
include:
  - ha.valid

ha-base-timezone:
  timezone.system:
    - name: {{ pillar.ha.timezone }}
    - require:
      - ha_topology: ha-pillar-valid

# Refuses to go on with a bad ha pillar, naming every bad key.
ha-pillar-valid:
  ha_topology.valid: []

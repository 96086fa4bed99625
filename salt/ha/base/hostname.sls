# The host name is the node's minion id, the name the clusters know it by.
include:
  - ha.valid

ha-base-hostname:
  cmd.run:
    - name: hostnamectl set-hostname {{ grains.id }}
    - unless: test "$(hostnamectl --static)" = "{{ grains.id }}" && test "$(hostname)" = "{{ grains.id }}"
    - require:
      - ha_topology: ha-pillar-valid

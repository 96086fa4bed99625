{#- Recovery of a Galera cluster whose nodes all went down:
      salt-run state.orchestrate ha.galera_recover
    bootstraps from the node with the most advanced committed position and
    rejoins the others one at a time (_runners/ha_galera.py). When a node
    cannot be read, name the node to bootstrap from:
      salt-run state.orchestrate ha.galera_recover \
        pillar='{"galera_recover": {"bootstrap_node": "openstack-controller02"}}'  # noqa: 206
    (noqa: salt-lint's rule 206 reads the JSON's closing braces as Jinja.) #}
{%- set plan = salt['ha_topology.plan']() %}

ha-pillar-valid:
  ha_topology.valid:
    - failhard: True

ha-galera-recover:
  salt.runner:
    - name: ha_galera.recover
    - controllers: {{ plan.controllers | json }}
    - bootstrap_node: {{ salt['pillar.get']('galera_recover:bootstrap_node', '') | json }}
    - require:
      - ha_topology: ha-pillar-valid

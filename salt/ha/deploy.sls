{#- The orchestration entry point: salt-run state.orchestrate ha.deploy

    Rendered on the master. The topology comes from the formula's
    ha_topology module (salt-run saltutil.sync_all brings it to the master);
    this file only places its values. Each step requires the one before, so
    the first failure stops the deploy. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- if 'ha_topology.plan' not in salt %}
ha-formula-synced-to-master:
  test.fail_without_changes:
    - name: "The ha formula's modules are not on the master: run 'salt-run saltutil.sync_all', then orchestrate again."
    - failhard: True
{%- else %}
{%- set plan = salt['ha_topology.plan']() %}

# 1. The pillar, as the master sees it, before anything changes on any node.
#    With a bad pillar this is the only step: it fails, naming every bad key.
ha-pillar-valid:
  ha_topology.valid:
    - failhard: True
{%- if not plan.errors %}

# 2. The formula's modules and states on every node.
ha-sync:
  salt.state:
    - tgt: {{ plan.all | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.sync
    - require:
      - ha_topology: ha-pillar-valid

# 3. The pillar, as each node sees it.
ha-pillar-valid-on-nodes:
  salt.state:
    - tgt: {{ plan.all | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.valid
    - require:
      - salt: ha-sync

# 4. Base of every node: host name, names that resolve, time zone,
#    repositories, common packages, kernel modules and parameters, SELinux
#    and firewall policy.
ha-base:
  salt.state:
    - tgt: {{ plan.all | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.base
    - require:
      - salt: ha-pillar-valid-on-nodes

# 5. chrony on every node: the time servers serve the management network,
#    every other node follows them.
ha-chrony:
  salt.state:
    - tgt: {{ plan.all | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.chrony
    - require:
      - salt: ha-base

# 6. MariaDB Galera: packages, config and health endpoint on every
#    controller, then the bootstrap node, then one join at a time, each
#    waiting until the joiner is Synced; then the SQL side on the first.
ha-galera-prepare:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls:
      - {{ tplroot }}.galera.install
      - {{ tplroot }}.galera.config
      - {{ tplroot }}.galera.clustercheck
    - require:
      - salt: ha-chrony

{%- set chain = namespace(previous='ha-galera-prepare') %}
{%- for controller in plan.controllers %}

ha-galera-cluster-{{ controller }}:
  salt.state:
    - tgt: {{ controller }}
    - sls: {{ tplroot }}.galera.cluster
    - require:
      - salt: {{ chain.previous }}
{%- set chain.previous = 'ha-galera-cluster-' ~ controller %}
{%- endfor %}

ha-galera-sql:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.galera.sql
    - require:
      - salt: {{ chain.previous }}

# 7. RabbitMQ: packages on every controller at once; then one controller at
#    a time (a config change restarts one node only), the first one, then
#    each other joins it; every step returns when its node is a running
#    member, with its self-repair running. Then users and policy on the
#    first.
ha-rabbitmq-install:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.rabbitmq.install
    - require:
      - salt: ha-galera-sql
{%- set chain.previous = 'ha-rabbitmq-install' %}
{%- for controller in plan.controllers %}

ha-rabbitmq-cluster-{{ controller }}:
  salt.state:
    - tgt: {{ controller }}
    - sls:
      - {{ tplroot }}.rabbitmq.cluster
      - {{ tplroot }}.rabbitmq.watchdog
    - require:
      - salt: {{ chain.previous }}
{%- set chain.previous = 'ha-rabbitmq-cluster-' ~ controller %}
{%- endfor %}

ha-rabbitmq-access:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.rabbitmq.access
    - require:
      - salt: {{ chain.previous }}

# 8. memcached on every controller.
ha-memcached:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.memcached
    - require:
      - salt: ha-rabbitmq-access

# 9. etcd: every member at once (the members of a new cluster wait for each
#    other), then every node waits for all members healthy.
ha-etcd:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.etcd
    - require:
      - salt: ha-memcached

# 10. HAProxy on every controller: config checked before it is installed,
#    every listener on the VIP (non-local bind).
ha-haproxy:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.haproxy
    - require:
      - salt: ha-etcd

# 11. Pacemaker: packages, hacluster password, pcsd, no package default
#     cluster on every controller; then the cluster from the first (health
#     gate: every node online); its services at boot and the VIP's
#     quorum guard on every controller; then properties, VIP, HAProxy clone and constraints in one CIB push
#     (health gate: VIP and clone started).
ha-pacemaker-prepare:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.pacemaker.node
    - require:
      - salt: ha-haproxy

ha-pacemaker-cluster:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.pacemaker.cluster
    - require:
      - salt: ha-pacemaker-prepare

ha-pacemaker-services:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls:
      - {{ tplroot }}.pacemaker.service
      - {{ tplroot }}.pacemaker.guard
    - require:
      - salt: ha-pacemaker-cluster

ha-pacemaker-resources:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.pacemaker.resources
    - require:
      - salt: ha-pacemaker-services

# 12. OpenStack: packages and HA settings on every controller; keystone on the
#     first (keys set up once, schema, bootstrap; health gate: it answers on
#     its own address), then on the others with the first's keys; the other
#     schemas, nova's cells and the catalog once; then glance, placement and
#     nova on every controller (health gate: every API answers on each node).
ha-openstack-prepare:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls:
      - {{ tplroot }}.openstack.install
      - {{ tplroot }}.openstack.config
    - require:
      - salt: ha-pacemaker-resources

ha-keystone-first:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.openstack.keystone
    - require:
      - salt: ha-openstack-prepare

ha-keystone-others:
  salt.state:
    - tgt: {{ plan.controllers[1:] | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.openstack.keystone
    - require:
      - salt: ha-keystone-first

ha-openstack-databases:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.openstack.databases
    - require:
      - salt: ha-keystone-others

ha-openstack-services:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.openstack.services
    - require:
      - salt: ha-openstack-databases
{%- endif %}
{%- endif %}

{#- The orchestration entry point: salt-run state.orchestrate ha.deploy

    Rendered on the master. The topology comes from the formula's
    ha_topology module (salt-run saltutil.sync_all brings it to the master);
    this file only places its values. The steps run in this order, each
    after the steps it requires; steps that do not depend on each other
    (Galera, RabbitMQ, memcached, etcd, HAProxy and Pacemaker, the OpenStack
    settings) run at the same time (parallel: True; concurrent: True lets
    several state runs of one deploy share a node). A failed step stops every
    step that requires it. #}
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
#    and firewall policy; then chrony: the time servers serve the management
#    network, every other node follows them.
ha-base:
  salt.state:
    - tgt: {{ plan.all | json }}
    - tgt_type: list
    - sls:
      - {{ tplroot }}.base
      - {{ tplroot }}.chrony
    - require:
      - salt: ha-pillar-valid-on-nodes

# 5. Every controller, one component after the other: every package (the
#    package manager runs once at a time; the steps below run at the same
#    time), then what needs no peer: the Galera config and its health
#    endpoint, memcached, HAProxy (config checked before it is installed,
#    every listener on the VIP, non-local bind), Pacemaker's node side
#    (hacluster password, pcsd, no package default cluster) and the
#    OpenStack services' HA settings.
ha-prepare:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls:
      - {{ tplroot }}.galera.install
      - {{ tplroot }}.rabbitmq.install
      - {{ tplroot }}.memcached.install
      - {{ tplroot }}.etcd.install
      - {{ tplroot }}.haproxy.install
      - {{ tplroot }}.pacemaker.install
      - {{ tplroot }}.openstack.install
      - {{ tplroot }}.galera.config
      - {{ tplroot }}.galera.clustercheck
      - {{ tplroot }}.memcached
      - {{ tplroot }}.haproxy
      - {{ tplroot }}.pacemaker.node
      - {{ tplroot }}.openstack.config
    - require:
      - salt: ha-base

# 6. At the same time, the clusters (6 to 9).
#    MariaDB Galera: the bootstrap node, then one join at a time, each
#    waiting until the joiner is Synced; then the SQL side on the first.
{%- set chain = namespace(previous='ha-prepare') %}
{%- for controller in plan.controllers %}

ha-galera-cluster-{{ controller }}:
  salt.state:
    - tgt: {{ controller }}
    - sls: {{ tplroot }}.galera.cluster
    - parallel: True
    - concurrent: True
    - require:
      - salt: {{ chain.previous }}
{%- set chain.previous = 'ha-galera-cluster-' ~ controller %}
{%- endfor %}

ha-galera-sql:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.galera.sql
    - parallel: True
    - concurrent: True
    - require:
      - salt: {{ chain.previous }}

# 7. RabbitMQ: one controller at a time (a config change
#    restarts one node only), the first one, then each other joins it; every
#    step returns when its node is a running member, with its self-repair
#    running. Users and policy on the first once it runs (the others get
#    them when they join).
{%- set chain.previous = 'ha-prepare' %}
{%- for controller in plan.controllers %}

ha-rabbitmq-cluster-{{ controller }}:
  salt.state:
    - tgt: {{ controller }}
    - sls:
      - {{ tplroot }}.rabbitmq.cluster
      - {{ tplroot }}.rabbitmq.watchdog
    - parallel: True
    - concurrent: True
    - require:
      - salt: {{ chain.previous }}
{%- set chain.previous = 'ha-rabbitmq-cluster-' ~ controller %}
{%- endfor %}

ha-rabbitmq-access:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.rabbitmq.access
    - parallel: True
    - concurrent: True
    - require:
      - salt: ha-rabbitmq-cluster-{{ plan.first }}

# 8. etcd: every member at once (the members of a new cluster wait for
#    each other), then every node waits for all members healthy.
ha-etcd:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.etcd
    - parallel: True
    - concurrent: True
    - require:
      - salt: ha-prepare

# 9. Pacemaker: the cluster from the first (health gate: every node
#    online); its services at boot and the VIP's quorum guard on every
#    controller; then properties, VIP, HAProxy clone and constraints in one
#    CIB push (health gate: VIP and clone started).
ha-pacemaker-cluster:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.pacemaker.cluster
    - parallel: True
    - concurrent: True
    - require:
      - salt: ha-prepare

ha-pacemaker-services:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls:
      - {{ tplroot }}.pacemaker.service
      - {{ tplroot }}.pacemaker.guard
    - parallel: True
    - concurrent: True
    - require:
      - salt: ha-pacemaker-cluster

ha-pacemaker-resources:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.pacemaker.resources
    - parallel: True
    - concurrent: True
    - require:
      - salt: ha-pacemaker-services

# 10. OpenStack, once the VIP leads to the databases (the services reach
#     them through it): on the first controller, the other services' schemas
#     and nova's cells, at the same time as keystone there once every
#     component above is in place (keys set up once, schema, bootstrap;
#     health gate: it answers on its own address); then at the same time
#     keystone on the others with the first's keys, and keystone's catalog
#     from the first; then glance, placement and nova on every controller
#     (health gate: every API answers on each node).
ha-openstack-databases:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.openstack.databases
    - parallel: True
    - concurrent: True
    - require:
      - salt: ha-galera-sql
      - salt: ha-pacemaker-resources

ha-keystone-first:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.openstack.keystone
    # Parallel as well: a step that is not blocks the orchestration's loop
    # while it runs, and the schemas would wait for it to start.
    - parallel: True
    - concurrent: True
    - require:
      - salt: ha-galera-sql
      - salt: {{ chain.previous }}
      - salt: ha-rabbitmq-access
      - salt: ha-etcd
      - salt: ha-pacemaker-resources

ha-keystone-others:
  salt.state:
    - tgt: {{ plan.controllers[1:] | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.openstack.keystone
    - parallel: True
    - require:
      - salt: ha-keystone-first

ha-openstack-catalog:
  salt.state:
    - tgt: {{ plan.first }}
    - sls: {{ tplroot }}.openstack.catalog
    - parallel: True
    - concurrent: True
    - require:
      - salt: ha-keystone-first

ha-openstack-services:
  salt.state:
    - tgt: {{ plan.controllers | json }}
    - tgt_type: list
    - sls: {{ tplroot }}.openstack.services
    # Parallel although it is the last step: Salt (3008) checks the
    # requisites of a step that is not by waiting, in the orchestration's
    # loop, for those of them that already run, so that while the schemas
    # ran this step held back keystone on the first controller, ready to
    # start beside them (in make bench it started 32 s after it could).
    - parallel: True
    - require:
      - salt: ha-keystone-others
      - salt: ha-openstack-catalog
      - salt: ha-openstack-databases
{%- endif %}
{%- endif %}

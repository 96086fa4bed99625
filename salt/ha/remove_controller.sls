{#- The removal of controllers, once the pillar no longer lists them:
      salt-run state.orchestrate ha.remove_controller pillar='{"remove": [NODE]}'
    1. the pillar valid (at least three controllers stay), the leaving
       controllers no longer in it and answering, and the control plane
       with them healthy (ha.require_removable); nothing changes otherwise;
    2. every node reads the pillar without them;
    3. one leaving controller at a time out of every cluster, each keeping
       its quorum, its units stopped and disabled (ha.remove_controller);
    4. the deploy on the nodes that stay (ha.deploy, included): the
       gcomm:// lists, HAProxy's servers, the firewall's rules and the
       OpenStack services' server lists without them;
    5. the OpenStack services restarted one controller at a time (drained
       first, as the rolling restart does), so that none of them keeps a
       departed node among its memcached or RabbitMQ servers; the whole
       control plane healthy after each.
    The first step that fails stops the orchestration, naming the node and
    the reason; ha.remove_controller NODE can be run again once the cause
    is fixed (the steps already done are skipped). #}
{%- set tplroot = tpldir.split('/')[0] %}
include:
  - {{ tplroot }}.deploy
{%- if 'ha_topology.plan' in salt %}
{%- set plan = salt['ha_topology.plan']() %}
{%- set leaving = salt['pillar.get']('remove', []) %}
{%- set leaving = [leaving] if leaving is string else leaving %}
{%- if not plan.errors %}

ha-remove-precheck:
  salt.runner:
    - name: ha.require_removable
    - controllers: {{ leaving | json }}
    # A report that is not healthy yet (a node slow to answer, a queue's
    # mirror still synchronising) is asked again for up to this long.
    - timeout: 120
    - failhard: True
    - require:
      - ha_topology: ha-pillar-valid
    # The deploy's steps run only after the removal (below) and never before this check.
    - require_in:
      - salt: ha-sync

# Execution modules read the minion's pillar as it was last compiled.
ha-remove-pillar-refreshed:
  salt.function:
    - name: saltutil.refresh_pillar
    - tgt: {{ plan.all | json }}
    - tgt_type: list
    - kwarg:
        wait: True
    - failhard: True
    - require:
      - salt: ha-remove-precheck
{%- set chain = namespace(previous='ha-remove-pillar-refreshed') %}
{%- for node in leaving %}

ha-remove-{{ node }}:
  salt.runner:
    - name: ha.remove_controller
    - node: {{ node }}
    - failhard: True
    - require:
      - salt: {{ chain.previous }}
{%- if loop.last %}
    - require_in:
      - salt: ha-sync
{%- endif %}
{%- set chain.previous = 'ha-remove-' ~ node %}
{%- endfor %}
{%- set chain.previous = 'ha-openstack-services' %}
{%- for node in plan.controllers %}

ha-remove-restart-openstack-{{ node }}:
  salt.runner:
    - name: ha.restart_controller
    - node: {{ node }}
    - steps: [openstack]
    - failhard: True
    - require:
      - salt: {{ chain.previous }}
{%- set chain.previous = 'ha-remove-restart-openstack-' ~ node %}
{%- endfor %}
{%- endif %}
{%- endif %}

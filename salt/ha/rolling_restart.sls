{#- The rolling restart of the controllers:
      salt-run state.orchestrate ha.rolling_restart
    refuses to start unless salt-run ha.status says every component is
    healthy, then restarts one controller at a time (_runners/ha.py,
    ha.restart_controller): drained first (Pacemaker standby: the VIP and
    HAProxy leave it; its servers drained in the other HAProxies), its
    services restarted one component at a time with a health gate after
    each, back in service, and the whole control plane healthy again before
    the next one. The first controller that does not come back stops the
    orchestration, naming it and the reason; the others are left untouched. #}
{%- set plan = salt['ha_topology.plan']() %}

ha-pillar-valid:
  ha_topology.valid:
    - failhard: True
{%- if not plan.errors %}

ha-rolling-restart-precheck:
  salt.runner:
    - name: ha.require_healthy
    - failhard: True
    - require:
      - ha_topology: ha-pillar-valid
{%- set chain = namespace(previous='ha-rolling-restart-precheck') %}
{%- for node in plan.controllers %}

ha-rolling-restart-{{ node }}:
  salt.runner:
    - name: ha.restart_controller
    - node: {{ node }}
    - failhard: True
    - require:
      - salt: {{ chain.previous }}
{%- set chain.previous = 'ha-rolling-restart-' ~ node %}
{%- endfor %}
{%- endif %}

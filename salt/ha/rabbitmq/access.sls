{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_cluster = tplroot ~ '.rabbitmq.cluster' %}
{%- set access = salt['ha_topology.rabbitmq_access']() %}
# Users and policies are cluster-wide: run on one member (the first).
include:
  - {{ sls_cluster }}

ha-rabbitmq-user-{{ access.user.name }}:
  ha_rabbitmq.user:
    - name: {{ access.user.name }}
    - password_pillar: {{ access.user.password_pillar }}
    - tags: {{ access.user.tags | json }}
    - permissions: {{ access.user.permissions | json }}
    - require:
      - sls: {{ sls_cluster }}

# The default guest/guest account has no place on a cluster.
ha-rabbitmq-no-guest:
  ha_rabbitmq.user_absent:
    - name: guest
    - require:
      - ha_rabbitmq: ha-rabbitmq-user-{{ access.user.name }}
{%- if access.ha_policy %}

ha-rabbitmq-policy-{{ access.ha_policy.name }}:
  ha_rabbitmq.policy:
    - name: {{ access.ha_policy.name }}
    - pattern: {{ access.ha_policy.pattern | json }}
    - definition: {{ access.ha_policy.definition | json }}
    - apply_to: {{ access.ha_policy.apply_to }}
    - priority: {{ access.ha_policy.priority }}
    - require:
      - sls: {{ sls_cluster }}
{%- endif %}
{%- for policy in access.absent_policies %}

# Quorum queues replicate by themselves: no classic mirroring policy.
ha-rabbitmq-no-policy-{{ policy }}:
  ha_rabbitmq.policy_absent:
    - name: {{ policy }}
    - require:
      - sls: {{ sls_cluster }}
{%- endfor %}

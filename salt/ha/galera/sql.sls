{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_cluster = tplroot ~ '.galera.cluster' %}
# The SQL side, run on one Synced node (Galera replicates it): what
# mysql_secure_installation does and one account and database set per
# OpenStack service. Secrets are read from the pillar by
# the states, never placed in rendered data.
include:
  - {{ sls_cluster }}

ha-galera-secured:
  ha_galera.secured:
    - password_pillar: ha:galera:root_password
    - require:
      - sls: {{ sls_cluster }}

{%- for account in salt['ha_topology.galera_accounts']() %}
{%- for database in account.databases %}

ha-galera-database-{{ database }}:
  ha_galera.database:
    - name: {{ database }}
    - require:
      - ha_galera: ha-galera-secured
{%- endfor %}

ha-galera-account-{{ account.user }}:
  ha_galera.user:
    - name: {{ account.user }}
    - hosts: {{ account.hosts | json }}
    - password_pillar: {{ account.password_pillar }}
    - grants: {{ account.grants | json }}
    - require:
{%- for database in account.databases %}
      - ha_galera: ha-galera-database-{{ database }}
{%- endfor %}
{%- endfor %}

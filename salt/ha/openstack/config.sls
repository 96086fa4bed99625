{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_install = tplroot ~ '.openstack.install' %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
{%- set openstack = ha_map.openstack %}
{%- set units = salt['ha_openstack.units']() %}
# The HA settings of every controller service, set in the packaged config
# files (a copy of each packaged file is kept as FILE.dist): database through
# the VIP, every memcached and RabbitMQ node, APIs bound to the node's own
# address (ha_openstack.service_settings): in the config file, the uWSGI
# inis or the httpd sites, as the map's server says the family runs them.
include:
  - {{ sls_install }}
{%- for service in salt['ha_openstack.services']() %}
{%- set svc = openstack[service] %}

ha-{{ service }}-config-dist:
  file.copy:
    - name: {{ svc.config_file }}.dist
    - source: {{ svc.config_file }}
    - preserve: True
    - require:
      - sls: {{ sls_install }}

ha-{{ service }}-config:
  ha_openstack.options:
    - name: {{ svc.config_file }}
    - service: {{ service }}
    - extra: {{ svc.extra_settings | json }}
    - members: False
{%- if svc.server %}
    - server: {{ svc.server }}
{%- endif %}
    - require:
      - file: ha-{{ service }}-config-dist

# The lists of the controllers' servers (RabbitMQ, memcached): the service
# requires them but does not watch them, so that a controller added or
# removed does not restart every controller's APIs at once; the running
# services read them at their next restart (salt-run state.orchestrate
# ha.rolling_restart).
ha-{{ service }}-members:
  ha_openstack.options:
    - name: {{ svc.config_file }}
    - service: {{ service }}
    - members: True
{%- if svc.server %}
    - server: {{ svc.server }}
{%- endif %}
    - require:
      - ha_openstack: ha-{{ service }}-config
{%- if svc.defaults %}

ha-{{ service }}-defaults:
  file.keyvalue:
    - name: {{ svc.defaults.file }}
    - key_values: {{ svc.defaults.settings | json }}
    - separator: '='
    - append_if_not_found: True
    - require:
      - sls: {{ sls_install }}
{%- endif %}
{%- for unit, ini in svc.uwsgi | dictsort %}

ha-{{ service }}-uwsgi-{{ unit }}:
  ha_openstack.options:
    - name: {{ ini }}
    - service: {{ service }}
    - unit: {{ unit }}
    - require:
      - sls: {{ sls_install }}

ha-{{ service }}-uwsgi-bind-{{ unit }}:
  file.managed:
    - name: /etc/systemd/system/{{ unit }}.service.d/{{ openstack.uwsgi_dropin }}
    - makedirs: True
    - mode: '0644'
    - contents: |
        # Managed by the ha formula: the init script reads the API's bind
        # address, port and processes from the [uwsgi] keys named here.
        [Service]
        Environment=UWSGI_BIND_CONFIG_FILE={{ ini }} UWSGI_BIND_CONFIG_SECTION=uwsgi
        Environment=UWSGI_BIND_CONFIG_IP_DIRECTIVE=ha_bind_ip UWSGI_BIND_CONFIG_PORT_DIRECTIVE=ha_bind_port
        Environment=UWSGI_BIND_CONFIG_WORKERS_DIRECTIVE=processes
    - require:
      - sls: {{ sls_install }}

ha-{{ service }}-uwsgi-bind-{{ unit }}-reload:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: ha-{{ service }}-uwsgi-bind-{{ unit }}
{%- endfor %}
{%- for conf, site in svc.httpd | dictsort %}
{%- if site.source %}

# A copy, not the packaged file: the formula binds it to this node.
ha-{{ service }}-httpd-{{ site.api }}-site:
  file.copy:
    - name: {{ conf }}
    - source: {{ site.source }}
    - require:
      - sls: {{ sls_install }}
{%- endif %}

ha-{{ service }}-httpd-{{ site.api }}:
  ha_openstack.httpd_listen:
    - name: {{ conf }}
    - api: {{ site.api }}
{%- if site.get('grant') %}
    - grant: {{ site.grant }}
{%- endif %}
    - require:
      - sls: {{ sls_install }}
{%- if site.source %}
      - file: ha-{{ service }}-httpd-{{ site.api }}-site
{%- endif %}
{%- endfor %}
{%- endfor %}
{%- if openstack.httpd_conf %}

ha-openstack-httpd-listen:
  ha_openstack.httpd_listen:
    - name: {{ openstack.httpd_conf }}
    - require:
      - sls: {{ sls_install }}
{%- endif %}
{%- for service in salt['ha_openstack.services']() %}
{%- set svc = openstack[service] %}
{#- The settings that the service reads at its start. #}
{%- set settings = [{'ha_openstack': 'ha-' ~ service ~ '-config'}] %}
{%- if svc.defaults %}
{%- do settings.append({'file': 'ha-' ~ service ~ '-defaults'}) %}
{%- endif %}
{%- for unit in svc.uwsgi | sort %}
{%- do settings.extend([{'ha_openstack': 'ha-' ~ service ~ '-uwsgi-' ~ unit},
                        {'file': 'ha-' ~ service ~ '-uwsgi-bind-' ~ unit}]) %}
{%- endfor %}
{%- for site in svc.httpd.values() %}
{%- do settings.append({'ha_openstack': 'ha-' ~ service ~ '-httpd-' ~ site.api}) %}
{%- endfor %}
{%- if svc.httpd and openstack.httpd_conf %}
{%- do settings.append({'ha_openstack': 'ha-openstack-httpd-listen'}) %}
{%- endif %}

# A change of the settings that the service reads at its start, kept until
# it has restarted (ha.openstack.keystone, ha.openstack.services): ha.deploy
# writes the settings in one step and restarts the services in a later one,
# where Salt's watch no longer sees the change. A setting that failed fails
# this state too (Salt takes a failed onchanges for no change): the service
# then neither starts nor restarts.
ha-{{ service }}-restart-pending:
  file.managed:
    - name: {{ openstack.restart_pending_dir }}/{{ service }}
    - makedirs: True
    - mode: '0644'
    - contents: "{{ service }}: settings changed, restart pending"
    - onchanges: {{ settings | json }}
    - require: {{ settings | json }}
{%- endfor %}
{%- for unit in units %}

ha-openstack-restart-{{ unit }}:
  file.managed:
    - name: /etc/systemd/system/{{ unit }}.service.d/{{ openstack.restart_dropin }}
    - makedirs: True
    - mode: '0644'
    - contents: |
        # Managed by the ha formula: started again while it exits, say when
        # its database is not there yet (uWSGI exits 0 when its application
        # does not load), instead of systemd giving up after five failures.
        [Service]
        Restart=always
        RestartSec={{ openstack.restart_interval }}
    - require:
      - sls: {{ sls_install }}
{%- endfor %}

ha-openstack-restart-reload:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
{%- for unit in units %}
      - file: ha-openstack-restart-{{ unit }}
{%- endfor %}

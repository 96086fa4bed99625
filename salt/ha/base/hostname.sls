{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_valid = tplroot ~ '.valid' %}
# The host name is the node's minion id, the name the clusters know it by:
# persistent in /etc/hostname and in effect now. (Plain files and the kernel's
# name rather than hostnamectl, whose D-Bus round trip can time out on a busy
# node and make the check flap.)
include:
  - {{ sls_valid }}

ha-base-hostname-file:
  file.managed:
    - name: /etc/hostname
    - contents: {{ grains.id }}
    - mode: '0644'
    - require:
      - sls: {{ sls_valid }}

ha-base-hostname:
  cmd.run:
    - name: hostname {{ grains.id }}
    - unless: test "$(hostname)" = "{{ grains.id }}"
    - require:
      - file: ha-base-hostname-file

# Assigns the site's ha pillar (see pillar.example) to every minion, the
# salt-master's own included: ha.deploy reads the topology from it.
base:
  '*':
    - ha

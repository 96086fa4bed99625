# Brings the formula's custom utils, states and execution modules to the
# minion (the only kinds it has for minions; saltutil.sync_all would ask the
# master for some twenty kinds and recompile the pillar); each reports a
# change only when something was actually synced. Utils first: the modules
# import them. The last one has the minion reload its modules once, for
# the steps that follow.
ha-extensions-synced-utils:
  saltutil.sync_utils:
    - refresh: False

ha-extensions-synced-states:
  saltutil.sync_states:
    - refresh: False
    - require:
        - saltutil: ha-extensions-synced-utils

ha-extensions-synced-modules:
  saltutil.sync_modules:
    - refresh: True
    - require:
        - saltutil: ha-extensions-synced-states

# Brings the formula's custom modules and states to the minion; reports a
# change only when something was actually synced.
ha-extensions-synced:
  saltutil.sync_all:
    - refresh: True

"""Unit tests of _modules/ha_ini.py: options set in place, comments kept, only names reported."""

from __future__ import annotations

import os
import stat

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

ha_ini = load_module("_modules/ha_ini.py", "ha_ini_module")

PACKAGED = """\
[DEFAULT]
# The packaged file's comment.
#debug = false

[database]
# The SQLAlchemy connection string.
#connection = <None>
connection = sqlite:////var/lib/keystone/keystone.db

[token]
#provider = fernet

[cache]
enabled = false
backend = dogpile.cache.null
enabled = false
"""


def test_active_option_changed_in_place_and_comments_kept():
    text, changed = ha_ini.update_text(PACKAGED, {"database": {"connection": "mysql+pymysql://k@vip/keystone"}})
    assert changed == ["database.connection"]
    assert "connection = mysql+pymysql://k@vip/keystone" in text
    assert "sqlite" not in text
    assert "# The SQLAlchemy connection string." in text and "#connection = <None>" in text


def test_missing_option_goes_after_its_commented_default():
    text, changed = ha_ini.update_text(PACKAGED, {"token": {"provider": "fernet"}})
    assert changed == ["token.provider"]
    lines = text.splitlines()
    assert lines[lines.index("#provider = fernet") + 1] == "provider = fernet"


def test_missing_option_without_default_goes_to_the_end_of_its_section():
    text, _ = ha_ini.update_text(PACKAGED, {"DEFAULT": {"my_ip": "10.0.0.1"}})
    lines = text.splitlines()
    assert lines[lines.index("[database]") - 2] == "my_ip = 10.0.0.1"
    assert lines[lines.index("[database]") - 1] == ""


def test_missing_section_is_appended():
    text, changed = ha_ini.update_text(PACKAGED, {"keystone_authtoken": {"auth_type": "password"}})
    assert changed == ["keystone_authtoken.auth_type"]
    assert text.endswith("\n[keystone_authtoken]\nauth_type = password\n")


def test_duplicates_are_reduced_to_one_line():
    text, changed = ha_ini.update_text(PACKAGED, {"cache": {"enabled": True}})
    assert changed == ["cache.enabled"]
    assert text.count("enabled = ") == 1 and "enabled = true" in text


def test_values_already_set_change_nothing():
    once, _ = ha_ini.update_text(PACKAGED, {"cache": {"enabled": True, "memcache_servers": ["a:1", "b:1"]}})
    again, changed = ha_ini.update_text(once, {"cache": {"enabled": True, "memcache_servers": ["a:1", "b:1"]}})
    assert changed == [] and again == once
    assert "memcache_servers = a:1,b:1" in once


def test_an_option_of_another_section_is_not_touched():
    text, changed = ha_ini.update_text(PACKAGED, {"DEFAULT": {"connection": "x"}})
    assert changed == ["DEFAULT.connection"]
    assert "connection = sqlite:////var/lib/keystone/keystone.db" in text


def test_set_options_keeps_owner_and_mode(tmp_path):
    path = tmp_path / "keystone.conf"
    path.write_text(PACKAGED)
    path.chmod(0o640)
    assert ha_ini.set_options(str(path), {"token": {"provider": "fernet"}}) == ["token.provider"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert ha_ini.get(str(path), "token", "provider") == "fernet"
    assert not [p for p in os.listdir(tmp_path) if p != "keystone.conf"]
    assert ha_ini.set_options(str(path), {"token": {"provider": "fernet"}}) == []


def test_set_options_in_test_mode_writes_nothing(tmp_path):
    path = tmp_path / "keystone.conf"
    path.write_text(PACKAGED)
    assert ha_ini.set_options(str(path), {"token": {"provider": "fernet"}}, test=True) == ["token.provider"]
    assert path.read_text() == PACKAGED


def test_set_options_on_a_missing_file_names_it(tmp_path):
    with pytest.raises(CommandExecutionError, match="nova.conf does not exist"):
        ha_ini.set_options(str(tmp_path / "nova.conf"), {"DEFAULT": {"a": 1}})


def test_get_of_an_absent_or_commented_option(tmp_path):
    path = tmp_path / "keystone.conf"
    path.write_text(PACKAGED)
    assert ha_ini.get(str(path), "token", "provider") is None
    assert ha_ini.get(str(path), "glance", "provider") is None
    assert ha_ini.get(str(path), "cache", "backend") == "dogpile.cache.null"

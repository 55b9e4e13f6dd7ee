"""The user data dir comes from platformdirs (#11): XDG on Linux, the platform's folder
elsewhere, and a store made by older versions in ~/.local/share/tuidl is not lost."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from tuidl.data import locations


def test_xdg_data_home_is_honoured_on_linux(monkeypatch, tmp_path):
    monkeypatch.setattr(locations.sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert locations.user_data_dir() == tmp_path / "xdg" / "tuidl"
    assert (
        locations.user_data_dir({"XDG_DATA_HOME": str(tmp_path / "a")}) == tmp_path / "a" / "tuidl"
    )


def test_other_platforms_get_platformdirs_folder_and_keep_an_old_store(monkeypatch, tmp_path):
    monkeypatch.setattr(locations.sys, "platform", "darwin")
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    mac = tmp_path / "Library" / "Application Support" / "tuidl"
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda app, appauthor=None: str(mac))
    assert locations.user_data_dir() == mac
    old = tmp_path / ".local" / "share" / "tuidl"
    old.mkdir(parents=True)
    assert locations.user_data_dir() == old  # runs stored before the switch stay visible
    mac.mkdir(parents=True)
    assert locations.user_data_dir() == mac

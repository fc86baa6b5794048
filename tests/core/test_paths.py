"""Where things live: the data folder's precedence, the checkpoint a save path means, per-user folders."""

import sys
from pathlib import Path

import pytest

from mnistconv.core import paths
from mnistconv.core.errors import ConfigError


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTCONV_DATA", str(tmp_path / "from-env"))
    assert paths.resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert paths.resolve_data_dir() == tmp_path / "from-env"
    monkeypatch.delenv("MNISTCONV_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert paths.resolve_data_dir() == tmp_path / "cache" / "mnistconv"


def test_a_save_path_names_a_folder_unless_it_is_a_pt_file(tmp_path):
    assert paths.checkpoint_file(tmp_path) == tmp_path / "mnist_conv.pt"
    assert paths.checkpoint_file(tmp_path / "new-folder") == tmp_path / "new-folder" / "mnist_conv.pt"
    assert paths.checkpoint_file(tmp_path / "best.pt") == tmp_path / "best.pt"
    (tmp_path / "models.pt").mkdir()  # a folder that happens to end in .pt is still a folder
    assert paths.checkpoint_file(tmp_path / "models.pt") == tmp_path / "models.pt" / "mnist_conv.pt"


def test_ensure_folder_makes_parents_and_says_why_it_cannot(tmp_path):
    assert paths.ensure_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=r"the save folder .*file is a file, not a folder"):
        paths.ensure_folder(tmp_path / "file")
    with pytest.raises(ConfigError, match=r"cannot create the save folder .*file/sub"):
        paths.ensure_folder(tmp_path / "file" / "sub")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG folders are Linux's")
def test_the_data_folder_follows_xdg_as_qt_does(monkeypatch, tmp_path, qapp):
    from PySide6.QtCore import QCoreApplication, QStandardPaths

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    organisation, application = QCoreApplication.organizationName(), QCoreApplication.applicationName()
    # As the app names itself (gui/app.py): Qt's AppDataLocation is then the folder core works out.
    QCoreApplication.setOrganizationName("")
    QCoreApplication.setApplicationName(paths.APP_NAME)
    try:
        qt_folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    finally:
        QCoreApplication.setOrganizationName(organisation)
        QCoreApplication.setApplicationName(application)
    assert Path(qt_folder) == paths.user_data_dir() == tmp_path / "share" / "mnistconv"
    assert paths.default_models_dir() == tmp_path / "share" / "mnistconv" / "models"

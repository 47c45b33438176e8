"""A driver shipped as its own package is found through the `tableside.printers` entry point,
exactly as pip would install it (a .dist-info with entry_points.txt on sys.path)."""

import shutil
import sys
from pathlib import Path

import pytest

from drivers.registry import available_printers, load_printer

EXAMPLE = Path(__file__).resolve().parent.parent / "plugin_example"


@pytest.fixture
def installed_example(tmp_path, monkeypatch):
    site = tmp_path / "site"
    shutil.copytree(EXAMPLE / "tableside_file_printer", site / "tableside_file_printer")
    dist = site / "tableside_file_printer-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tableside-file-printer\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[tableside.printers]\nfile = tableside_file_printer:FilePrinter\n")
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop("tableside_file_printer", None)


def test_third_party_printer_is_found_and_prints(installed_example, tmp_path):
    assert "file" in available_printers()
    printer = load_printer("file", path=str(tmp_path / "out.bin"))
    printer.send(b"\x1b@hello")
    assert (tmp_path / "out.bin").read_bytes() == b"\x1b@hello"


def test_unknown_option_and_unknown_kind_fail_loudly(installed_example, tmp_path):
    with pytest.raises(TypeError, match="colour"):
        load_printer("file", path=str(tmp_path / "x"), colour="red")
    with pytest.raises(LookupError, match="file"):  # the message lists the known kinds
        load_printer("fax")


def test_without_the_package_the_kind_is_unknown():
    assert "file" not in available_printers()

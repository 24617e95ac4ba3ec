"""genrenet core: scan, classify, tag and undo. Never imports Qt (tests/test_no_qt.py checks)."""

__version__ = "0.1.0"

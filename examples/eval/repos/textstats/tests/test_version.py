from textstats import _version


def test_version_is_set():
    assert _version.__version__.count(".") >= 1

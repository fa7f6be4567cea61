from textstats import _version


def test_version_is_the_instances():
    assert _version.__version__ == "1.2"

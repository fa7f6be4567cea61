import pytest

from textstats.window import windows


def test_first_window():
    assert windows("abcd", 2)[0] == "ab"


def test_zero_is_refused():
    with pytest.raises(ValueError):
        windows("abc", 0)

import pytest

from textstats.window import windows


def test_first_window():
    assert windows("abcd", 2)[0] == "ab"


def test_zero_is_refused():
    with pytest.raises(ValueError):
        windows("abc", 0)


def test_every_window():
    assert windows("abcd", 2) == ["ab", "bc", "cd"]


def test_a_window_as_long_as_the_sequence():
    assert windows("abc", 3) == ["abc"]

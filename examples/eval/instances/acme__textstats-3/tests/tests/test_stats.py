from textstats.stats import mean, spread


def test_mean_of_numbers():
    assert mean([1, 2, 3, 6]) == 3


def test_spread():
    assert spread([4, 1, 9]) == 8


def test_mean_of_nothing_is_none():
    assert mean([]) is None

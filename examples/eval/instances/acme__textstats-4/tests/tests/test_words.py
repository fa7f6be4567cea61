from textstats.words import count_words, split_words


def test_split_words_keeps_case():
    assert split_words("The cat, the HAT") == ["The", "cat", "the", "HAT"]


def test_count_words():
    assert count_words("a b a") == {"a": 2, "b": 1}


def test_count_words_ignores_case():
    assert count_words("The cat saw the cat") == {"the": 2, "cat": 2, "saw": 1}

import re

_WORD = re.compile(r"[A-Za-z']+")


def split_words(text):
    """The words of `text`, in order, as they are written."""
    return _WORD.findall(text)


def count_words(text):
    """How often each word occurs in `text`, whatever its case: {word: count}, words in lower case."""
    counts = {}
    for word in split_words(text):
        counts[word] = counts.get(word, 0) + 1
    return counts

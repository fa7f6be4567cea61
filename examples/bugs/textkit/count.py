def word_count(text):
    """The number of words in text, however they are spaced."""
    return len(text.split(" "))

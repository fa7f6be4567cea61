def reverse_words(text):
    """The words of text in reverse order, single-spaced."""
    return " ".join(text.split())

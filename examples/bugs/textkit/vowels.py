def count_vowels(text):
    """The number of vowels (a, e, i, o, u, either case) in text."""
    return sum(1 for c in text if c in "aeio")

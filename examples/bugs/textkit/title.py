def title_case(text):
    """Each word of text with its first letter upper case and the rest lower case."""
    return text.upper()

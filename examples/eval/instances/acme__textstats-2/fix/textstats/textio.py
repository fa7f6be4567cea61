DEFAULT_ENCODING = "utf-8"


def read_text(path, encoding=None):
    """The text of the file at `path`, decoded as `encoding` (UTF-8 unless told otherwise)."""
    with open(path, encoding=encoding or DEFAULT_ENCODING) as f:
        return f.read()

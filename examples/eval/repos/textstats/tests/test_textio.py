from textstats.textio import read_text


def test_read_ascii(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"plain words")
    assert read_text(p) == "plain words"


def test_read_in_another_encoding(tmp_path):
    p = tmp_path / "l.txt"
    p.write_bytes("caf\u00e9".encode("latin-1"))
    assert read_text(p, encoding="latin-1") == "caf\u00e9"

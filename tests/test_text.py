from tagger.text import counted


def test_a_count_takes_the_singular_only_for_one():
    assert [counted(n, "file") for n in (0, 1, 2, 1234)] == ["0 files", "1 file", "2 files", "1,234 files"]

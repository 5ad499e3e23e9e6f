"""The file reader's byte limit is the decoder's: images.py keeps its own copy of the number so that a
one-shot classify does not import the decoder (and Pillow) to read it."""

from triton_console.tui.core.classify import images, preprocessing


def test_file_limit_is_the_decoders(tmp_path):
    assert images.MAX_BYTES == preprocessing.MAX_BYTES
    big = tmp_path / "big.jpg"
    with open(big, "wb") as fh:
        fh.truncate(preprocessing.MAX_BYTES + 1)
    assert "over the 64 MiB limit" in images.read(str(big)).error

"""The one byte formatter (tuidl.sizes) that messages and listings share."""

from tuidl.sizes import human_bytes


def test_human_bytes_uses_binary_units_up_to_tib():
    assert human_bytes(0) == "0 bytes"
    assert human_bytes(1023) == "1,023 bytes"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(5 * 2**20) == "5.0 MiB"
    assert human_bytes(1117.6 * 2**40) == "1,117.6 TiB"

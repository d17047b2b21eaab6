"""The cells an address range admits, as the rule against rules between cells finds them."""

import ipaddress

from policies.crossguard.rules.i06_share_nothing import _cells_of_range

RANGES = [
    ("cell-1", None, ipaddress.ip_network("10.16.0.0/16")),
    ("cell-2", None, ipaddress.ip_network("10.17.0.0/16")),
    ("cell-3", None, ipaddress.ip_network("fd00:1::/48")),
]


def test_range_in_cell_admits_that_cell():
    assert _cells_of_range(ipaddress.ip_network("10.16.4.0/24"), RANGES, {}) == ["cell-1"]


def test_private_range_over_cells_admits_both():
    assert _cells_of_range(ipaddress.ip_network("10.16.0.0/15"), RANGES, {}) == [
        "cell-1",
        "cell-2",
    ]


def test_public_range_admits_no_cell():
    # 0.0.0.0/0 is not private, so a rule naming it admits the internet, not a cell.
    assert _cells_of_range(ipaddress.ip_network("0.0.0.0/0"), RANGES, {}) == []


def test_range_cache_reuses_first_result():
    cache: dict = {}
    peer = ipaddress.ip_network("10.17.1.0/24")
    first = _cells_of_range(peer, RANGES, cache)
    assert first == ["cell-2"]
    assert cache == {peer: ["cell-2"]}
    assert _cells_of_range(peer, RANGES, cache) == ["cell-2"]


def test_ipv6_range_matches_ipv6_cells():
    assert _cells_of_range(ipaddress.ip_network("fd00:1:0:1::/64"), RANGES, {}) == ["cell-3"]

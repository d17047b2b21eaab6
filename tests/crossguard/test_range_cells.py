"""The cells an address range admits, as the rule against rules between cells finds them."""

import ipaddress

from policies.crossguard.rules.i06_share_nothing import _cells_of_range

RANGES = [
    ("cell-1", None, ipaddress.ip_network("10.16.0.0/16")),
    ("cell-2", None, ipaddress.ip_network("10.17.0.0/16")),
    ("cell-3", None, ipaddress.ip_network("fd00:1::/48")),
]


def test_a_range_inside_a_cell_admits_that_cell_only():
    assert _cells_of_range(ipaddress.ip_network("10.16.4.0/24"), RANGES, {}) == ["cell-1"]


def test_a_private_range_over_two_cells_admits_both():
    assert _cells_of_range(ipaddress.ip_network("10.16.0.0/15"), RANGES, {}) == [
        "cell-1",
        "cell-2",
    ]


def test_a_public_range_over_a_cell_admits_no_cell():
    # 0.0.0.0/0 is not private, so a rule naming it admits the internet, not a cell.
    assert _cells_of_range(ipaddress.ip_network("0.0.0.0/0"), RANGES, {}) == []


def test_the_cache_returns_the_first_answer_for_a_range():
    cache: dict = {}
    peer = ipaddress.ip_network("10.17.1.0/24")
    first = _cells_of_range(peer, RANGES, cache)
    assert first == ["cell-2"]
    assert cache == {peer: ["cell-2"]}
    assert _cells_of_range(peer, RANGES, cache) == ["cell-2"]


def test_an_ipv6_range_is_compared_with_ipv6_cells_only():
    assert _cells_of_range(ipaddress.ip_network("fd00:1:0:1::/64"), RANGES, {}) == ["cell-3"]

"""The injector's value grammars (webhook/istio/injector.py), case by case."""

import pytest

from webhook.istio.injector import is_cidr, is_port, is_quantity, port_list, quantity, uint32


@pytest.mark.parametrize(
    "text", ["1", "+1", "-1", "1.5", ".5", "5.", "1e3", "1E-3", "1E", "128Mi", "500m", "1k"]
)
def test_kubernetes_quantities(text: str) -> None:
    assert is_quantity(text)


@pytest.mark.parametrize("text", ["", ".", "+", "1.2.3", "1e", "1e+", "1KiB", "1k i", "1mi", "١", "1 "])
def test_not_kubernetes_quantities(text: str) -> None:
    assert not is_quantity(text)


@pytest.mark.parametrize(
    ("value", "corrected"),
    [("128mb", "128Mi"), ("512MiB", "512Mi"), ("128MB", "128M"), ("1.5 Gi", "1.5Gi"), ("-1", None)],
)
def test_quantity_corrections(value: str, corrected: str | None) -> None:
    found = quantity(value)
    assert found is not None and found.corrected == corrected


@pytest.mark.parametrize(
    ("value", "corrected"), [("10s", "10"), (" 10 s ", "10"), ("10 ss", None), ("s", None)]
)
def test_whole_numbers_written_with_a_unit(value: str, corrected: str | None) -> None:
    found = uint32(value)
    assert found is not None and found.corrected == corrected


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("10.0.0.0/8", True),
        ("fd00::/8", True),
        ("10.0.0.1/0", True),
        ("10.0.0.0/33", False),
        ("10.0.0.0/08", False),
        ("10.0.0.0/", False),
        ("10.0.0.0", False),
        ("fe80::1%eth0/64", False),
        ("010.0.0.0/8", False),
        ("10.0.0.0/٨", False),
    ],
)
def test_cidrs(text: str, accepted: bool) -> None:
    assert is_cidr(text) is accepted


@pytest.mark.parametrize(
    ("text", "accepted"), [(" 80 ", True), ("65535", True), ("65536", False), ("８０", False)]
)
def test_ports(text: str, accepted: bool) -> None:
    assert is_port(text) is accepted


@pytest.mark.parametrize(
    ("value", "corrected"), [("80 - 82", "80,81,82"), ("80-80", None), ("80-1-2", None), ("80,80, 81", None)]
)
def test_port_ranges_are_expanded_when_short(value: str, corrected: str | None) -> None:
    found = port_list(star=False)(value)
    assert (found.corrected if found else None) == corrected

"""NRN parsing, generation and vault.

Every number here is synthetic: built from its parts with computed check digits (or by
``generate``), so no real person's number ever sits in the repository.
"""

from __future__ import annotations

import random
from datetime import date

import pytest

from core.nrn import (
    NRN,
    InvalidNRN,
    NRNVault,
    VaultError,
    format_nrn,
    generate,
    is_valid,
    mask,
    normalise,
    parse,
)


def make(yy: int, mm: int, dd: int, serial: int, *, y2k: bool = False) -> str:
    first9 = f"{yy:02d}{mm:02d}{dd:02d}{serial:03d}"
    base = int(("2" + first9) if y2k else first9)
    return f"{first9}{97 - base % 97:02d}"


def with_bad_check(digits: str) -> str:
    """Pick check digits that match neither century, so only the checksum is wrong."""
    first9 = digits[:9]
    good = {97 - int(first9) % 97, 97 - int("2" + first9) % 97}
    bad = next(c for c in range(1, 98) if c not in good)
    return f"{first9}{bad:02d}"


def test_valid_20th_century() -> None:
    digits = make(85, 7, 30, 33)
    nrn = parse(digits)
    assert nrn.digits == digits
    assert nrn.birth_date == date(1985, 7, 30)
    assert nrn.birth_year == 1985
    assert nrn.is_bis is False
    assert nrn.sex == "M"


def test_valid_2000_or_later_uses_prefix_rule() -> None:
    digits = make(3, 2, 14, 128, y2k=True)
    nrn = parse(digits)
    assert nrn.birth_date == date(2003, 2, 14)
    assert nrn.birth_year == 2003
    assert nrn.sex == "F"


def test_same_first_nine_digits_resolve_century_by_checksum() -> None:
    old, new = make(5, 1, 1, 1), make(5, 1, 1, 1, y2k=True)
    assert old[:9] == new[:9] and old != new
    assert parse(old).birth_year == 1905
    assert parse(new).birth_year == 2005


def test_leap_day_depends_on_century() -> None:
    assert parse(make(0, 2, 29, 5, y2k=True)).birth_date == date(2000, 2, 29)
    with pytest.raises(InvalidNRN) as exc:
        parse(make(0, 2, 29, 5))
    assert exc.value.reason == "date"


def test_wrong_checksum() -> None:
    bad = with_bad_check(make(85, 7, 30, 33))
    with pytest.raises(InvalidNRN) as exc:
        parse(bad)
    assert exc.value.reason == "checksum"
    assert not is_valid(bad)


@pytest.mark.parametrize(
    "text",
    ["", "8507300332", "850730033281", "85O73003328", "85073003328a", "85/07/30 033 28"],
)
def test_wrong_format(text: str) -> None:
    with pytest.raises(InvalidNRN) as exc:
        parse(text)
    assert exc.value.reason == "format"
    assert isinstance(exc.value, ValueError)
    assert not is_valid(text)


@pytest.mark.parametrize("serial", [0, 998, 999])
def test_serial_out_of_range_is_format_error(serial: int) -> None:
    with pytest.raises(InvalidNRN) as exc:
        parse(make(85, 7, 30, serial))
    assert exc.value.reason == "format"


@pytest.mark.parametrize(
    ("mm", "dd"),
    [(2, 30), (4, 31), (13, 1), (19, 1), (33, 1), (39, 5), (53, 1), (99, 1), (0, 32), (1, 32)],
)
def test_impossible_date(mm: int, dd: int) -> None:
    digits = make(85, mm, dd, 33)
    with pytest.raises(InvalidNRN) as exc:
        parse(digits)
    assert exc.value.reason == "date"
    assert not is_valid(digits)


@pytest.mark.parametrize(("mm", "dd"), [(0, 0), (0, 15), (7, 0)])
def test_partly_unknown_birth_date(mm: int, dd: int) -> None:
    nrn = parse(make(62, mm, dd, 44))
    assert nrn.birth_date is None
    assert nrn.birth_year == 1962
    assert nrn.is_bis is False
    assert nrn.sex == "F"


def test_bis_plus_20_has_unknown_sex() -> None:
    nrn = parse(make(90, 25, 17, 123))
    assert nrn.is_bis is True
    assert nrn.sex is None
    assert nrn.birth_date == date(1990, 5, 17)


def test_bis_plus_40_has_sex_from_serial() -> None:
    male = parse(make(90, 52, 31, 7))
    female = parse(make(10, 41, 9, 8, y2k=True))
    assert (male.is_bis, male.sex, male.birth_date) == (True, "M", date(1990, 12, 31))
    assert (female.is_bis, female.sex, female.birth_date) == (True, "F", date(2010, 1, 9))


@pytest.mark.parametrize("mm", [20, 40])
def test_bis_with_unknown_month(mm: int) -> None:
    nrn = parse(make(77, mm, 0, 300))
    assert nrn.is_bis is True
    assert nrn.birth_date is None
    assert nrn.birth_year == 1977


@pytest.mark.parametrize(("serial", "sex"), [(1, "M"), (2, "F"), (996, "F"), (997, "M")])
def test_sex_from_serial(serial: int, sex: str) -> None:
    assert parse(make(71, 11, 3, serial)).sex == sex


def test_separators_accepted() -> None:
    digits = make(85, 7, 30, 33)
    pretty = format_nrn(digits)
    assert pretty == f"85.07.30-033.{digits[9:]}"
    for text in (pretty, f" {digits[:6]} {digits[6:9]} {digits[9:]} ", pretty.replace(".", "-")):
        assert normalise(text) == digits
        assert parse(text).digits == digits


def test_normalise_only_strips_separators() -> None:
    assert normalise("12.34-5 6") == "123456"
    with pytest.raises(InvalidNRN) as exc:
        normalise("12x")
    assert exc.value.reason == "format"


def test_format_and_mask() -> None:
    digits = make(85, 7, 30, 33)
    nrn = parse(digits)
    assert format_nrn(nrn) == format_nrn(digits) == f"85.07.30-033.{digits[9:]}"
    assert mask(nrn) == mask(digits) == "85.07.30-xxx.xx"


def test_repr_and_str_hide_digits() -> None:
    digits = make(85, 7, 30, 33)
    nrn = parse(digits)
    assert repr(nrn) == "NRN(85.07.30-xxx.xx)"
    assert str(nrn) == f"{nrn}" == "85.07.30-xxx.xx"
    for shown in (repr(nrn), str(nrn), repr([nrn]), repr({"n": nrn})):
        assert digits not in shown
        assert "033" not in shown


def test_error_messages_do_not_contain_number() -> None:
    good = make(85, 7, 30, 33)
    for text in (with_bad_check(good), make(85, 2, 30, 33), good + "1"):
        with pytest.raises(InvalidNRN) as exc:
            parse(text)
        assert text[:9] not in str(exc.value)
        assert text[:9] not in repr(exc.value)


def test_generate_always_valid() -> None:
    rng = random.Random(20240601)
    years: set[int] = set()
    for i in range(2000):
        bis = i % 4 == 0
        sex = ("M", "F", None)[i % 3]
        digits = generate(rng, sex=sex, bis=bis)
        nrn = parse(digits)
        assert nrn.is_bis is bis
        if sex is not None:
            assert nrn.sex == sex
        assert nrn.birth_date is not None
        assert date(1950, 1, 1) <= nrn.birth_date <= date(2005, 12, 31)
        years.add(nrn.birth_year or 0)
    assert any(y >= 2000 for y in years)
    assert any(y < 2000 for y in years)


def test_generate_with_given_birth_date() -> None:
    rng = random.Random(7)
    for born in (date(2000, 2, 29), date(1999, 12, 31), date(2024, 1, 1), date(1900, 1, 1)):
        for bis in (False, True):
            nrn = parse(generate(rng, birth_date=born, sex="F", bis=bis))
            assert (nrn.birth_date, nrn.sex, nrn.is_bis) == (born, "F", bis)


def test_generate_is_reproducible_and_rejects_bad_input() -> None:
    assert generate(random.Random(1)) == generate(random.Random(1))
    with pytest.raises(ValueError):
        generate(random.Random(1), sex="X")
    with pytest.raises(ValueError):
        generate(random.Random(1), birth_date=date(2100, 1, 1))


def test_vault_hash_stable_and_keyed() -> None:
    digits = make(85, 7, 30, 33)
    vault = NRNVault(b"k" * 32)
    h = vault.lookup_hash(digits)
    assert len(h) == 64 and int(h, 16) >= 0
    assert h == vault.lookup_hash(parse(digits)) == vault.lookup_hash(format_nrn(digits))
    assert h == NRNVault(b"k" * 32).lookup_hash(digits)
    assert h != vault.lookup_hash(make(85, 7, 30, 35))
    assert h != NRNVault(b"other secret").lookup_hash(digits)
    assert digits not in repr(vault)


def test_vault_round_trip_and_nonce_randomness() -> None:
    digits = make(3, 2, 14, 128, y2k=True)
    vault = NRNVault(b"s" * 32)
    a, b = vault.encrypt(digits), vault.encrypt(parse(digits))
    assert a != b
    assert a[:12] != b[:12]
    assert digits.encode() not in a
    assert vault.decrypt(a) == vault.decrypt(b) == digits


def test_vault_tampered_blob_raises() -> None:
    vault = NRNVault(b"s" * 32)
    blob = vault.encrypt(make(85, 7, 30, 33))
    for i in (0, 12, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(VaultError):
            vault.decrypt(bytes(tampered))
    for short in (b"", blob[:27], blob[:-1]):
        with pytest.raises(VaultError):
            vault.decrypt(short)


def test_vault_wrong_key_raises() -> None:
    blob = NRNVault(b"s" * 32).encrypt(make(85, 7, 30, 33))
    with pytest.raises(VaultError):
        NRNVault(b"t" * 32).decrypt(blob)
    assert issubclass(VaultError, ValueError)
    assert not issubclass(VaultError, InvalidNRN)


def test_nrn_requires_eleven_digits() -> None:
    with pytest.raises(InvalidNRN):
        NRN(digits="123", birth_date=None, birth_year=None, is_bis=False, sex=None)

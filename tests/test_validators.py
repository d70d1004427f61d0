"""Phone numbers and unified social credit codes."""

import pytest

from circle.validators import (
    InvalidValue,
    credit_code_check_char,
    mask_phone,
    normalise_credit_code,
    normalise_phone,
)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 139 0000 1111", "13900001111"),
        ("008619900001111", "19900001111"),
        ("0531-87654321", "0531-87654321"),
        ("053187654321", "0531-87654321"),
        ("(0531) 8765432", "0531-8765432"),
        ("010-12345678", "010-12345678"),
        ("021 1234 5678", "021-12345678"),
    ],
)
def test_good_phone_numbers_are_normalised(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "12345678901", "1381234567", "138123456789", "abc", "10086", "5311234567",
     "0531-123", "23812345678"],
)
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidValue):
        normalise_phone(raw)


def test_mask_phone():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == ""


# Two codes of real businesses (published on their licences) and one built for the demo.
VALID_CODES = ["91350100M000100Y43", "91110000600037341L", "92370113MA3C5QJ744"]


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_credit_codes(code):
    assert normalise_credit_code(code.lower()) == code


@pytest.mark.parametrize(
    "code",
    ["91350100M000100Y44",  # wrong check digit
     "91350100M000100Y4",  # 17 characters
     "91350100M000100I43",  # I is not in the alphabet
     "9135010OM000100Y43",  # letter O in the area code
     ""],
)
def test_invalid_credit_codes(code):
    with pytest.raises(InvalidValue):
        normalise_credit_code(code)


def test_check_char_matches_known_code():
    assert credit_code_check_char("91350100M000100Y4") == "3"

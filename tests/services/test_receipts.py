"""Receipt codes: twelve letters of an alphabet without look-alikes, in groups of four."""

from __future__ import annotations

import re
from collections import Counter

from app.services import responses
from app.services.responses import RECEIPT_ALPHABET, new_receipt_code


def test_a_receipt_code_has_three_groups_of_four_letters_of_the_alphabet():
    for _ in range(200):
        code = new_receipt_code()
        assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", code), code
        assert set(code.replace("-", "")) <= set(RECEIPT_ALPHABET)
        assert not set(code) & set("01ILO")


def test_every_letter_is_drawn_at_every_place(monkeypatch):
    """The number drawn maps onto the codes one to one: the lowest and the highest number
    give the first and the last letter everywhere, and each letter shows up at each place."""
    monkeypatch.setattr(responses.secrets, "randbelow", lambda n: 0)
    assert new_receipt_code() == "2222-2222-2222"
    monkeypatch.setattr(responses.secrets, "randbelow", lambda n: n - 1)
    assert new_receipt_code() == "ZZZZ-ZZZZ-ZZZZ"
    monkeypatch.undo()
    places = [Counter() for _ in range(12)]
    for _ in range(3000):
        for place, letter in enumerate(new_receipt_code().replace("-", "")):
            places[place][letter] += 1
    for counter in places:
        assert set(counter) == set(RECEIPT_ALPHABET)

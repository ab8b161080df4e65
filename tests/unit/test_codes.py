from hotspot.core.codes import ALPHABET, random_code


def test_codes_avoid_characters_that_look_alike() -> None:
    assert not set("0Oo1lIi") & set(ALPHABET)


def test_codes_have_the_requested_length_and_alphabet() -> None:
    code = random_code(8)
    assert len(code) == 8
    assert set(code) <= set(ALPHABET)


def test_codes_are_not_repeated() -> None:
    assert len({random_code(6) for _ in range(1000)}) == 1000

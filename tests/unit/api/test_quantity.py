from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from ebbtide.api.quantity import FORMAT_RULE, Quantity

GI = 1024**3


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", Decimal(0)),
        ("2", Decimal(2)),
        ("500m", Decimal("0.5")),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("1.", Decimal(1)),
        ("+3", Decimal(3)),
        ("-3", Decimal(-3)),
        ("100n", Decimal("1E-7")),
        ("10u", Decimal("0.00001")),
        ("2k", Decimal(2000)),
        ("1M", Decimal(10**6)),
        ("1G", Decimal(10**9)),
        ("1T", Decimal(10**12)),
        ("1P", Decimal(10**15)),
        ("1E", Decimal(10**18)),
        ("1Ki", Decimal(1024)),
        ("32Gi", Decimal(32 * GI)),
        ("1.5Gi", Decimal(3 * GI // 2)),
        ("1Ei", Decimal(1024**6)),
        ("1.5e3", Decimal(1500)),
        ("2E-3", Decimal("0.002")),
        ("1e+2", Decimal(100)),
    ],
)
def test_quantity_grammar_gives_exact_values(text: str, value: Decimal) -> None:
    quantity = Quantity(text)
    assert quantity.value == value
    assert str(quantity) == text


@pytest.mark.parametrize("text", ["", "lots", "1.5.5", "1 Gi", "Gi", "1KB", "1e", "1gi", "1iB", "--1"])
def test_text_that_is_not_a_quantity_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a quantity"):
        Quantity(text)


def test_quantities_compare_by_value_and_keep_their_text() -> None:
    assert Quantity("1Gi") == Quantity("1073741824")
    assert hash(Quantity("1Gi")) == hash(Quantity("1073741824"))
    assert Quantity("500m") < Quantity("1") <= Quantity("1000m") < Quantity("1k")
    assert sorted([Quantity("2"), Quantity("1500m"), Quantity("1")]) == [
        Quantity("1"),
        Quantity("1500m"),
        Quantity("2"),
    ]
    assert repr(Quantity("32Gi")) == "Quantity('32Gi')"
    assert Quantity("250m").as_float() == 0.25
    assert Quantity("1") != "1"


@pytest.mark.parametrize(
    ("value", "binary", "text"),
    [
        (Decimal(0), False, "0"),
        (Decimal("0.5"), False, "500m"),
        (Decimal("2"), False, "2"),
        (Decimal("1500"), False, "1500"),
        (Decimal("2000"), False, "2k"),
        (Decimal("0.0000000001"), False, "1n"),
        (GI, True, "1Gi"),
        (1536 * 1024**2, True, "1536Mi"),
        (1000, True, "1k"),
        (Decimal("-0.25"), False, "-250m"),
    ],
)
def test_from_number_writes_a_canonical_quantity(value: Decimal | int, binary: bool, text: str) -> None:
    assert str(Quantity.from_number(value, binary=binary)) == text


@given(
    st.decimals(min_value=0, max_value=10**15, places=9, allow_nan=False, allow_infinity=False),
    st.booleans(),
)
def test_from_number_keeps_the_exact_value(value: Decimal, binary: bool) -> None:
    assert Quantity.from_number(value, binary=binary).value == value


class _WithQuantity(BaseModel):
    cpu: Quantity | None = None


def test_quantity_field_parses_strings_and_integers_and_dumps_the_original_text() -> None:
    assert _WithQuantity.model_validate({"cpu": "500m"}).model_dump() == {"cpu": "500m"}
    model = _WithQuantity.model_validate({"cpu": 8})
    assert model.cpu == Quantity("8")
    assert model.model_dump(mode="json") == {"cpu": "8"}
    assert _WithQuantity(cpu=Quantity("2")).cpu == Quantity("2")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lots", FORMAT_RULE.message),
        ("-1", FORMAT_RULE.message),
        ("-0", FORMAT_RULE.message),
        (-1, FORMAT_RULE.message),
        (Quantity("-1Gi"), FORMAT_RULE.message),
        ("1" * 65, FORMAT_RULE.message),
        (0.5, "must be a quantity string or an integer"),
        (True, "must be a quantity string or an integer"),
    ],
)
def test_quantity_field_refuses_what_the_crd_refuses(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _WithQuantity.model_validate({"cpu": value})


def test_quantity_json_schema_is_int_or_string_with_the_cel_format_rule() -> None:
    schema = _WithQuantity.model_json_schema()["properties"]["cpu"]["anyOf"][0]
    assert schema["x-kubernetes-int-or-string"] is True
    assert schema["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert schema["x-kubernetes-validations"] == [FORMAT_RULE.to_validation()]

"""Money edge cases of invoices/calculations.py (EN 16931 rounding, BR-CO-17 VAT per rate).

Every expected figure below was worked out by hand; none is read back from the code under test.
"""

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, localcontext

import pytest

from invoices.calculations import (
    LineFigures,
    VatGroup,
    breakdown_from_json,
    breakdown_to_json,
    line_net,
    net_of_gross,
    price_line,
    round_money,
    summarize,
    tax_key,
    vat_of,
)

D = Decimal


def category_of(rate: str) -> str:
    return "S" if D(rate) > 0 else "Z"


def priced(quantity: str, unit_price: str, discount: str, rate: str, category: str | None = None) -> LineFigures:
    return price_line(
        quantity=D(quantity),
        unit_price=D(unit_price),
        discount=D(discount),
        vat_rate=D(rate),
        vat_category=category or category_of(rate),
    )


def groups_of(totals) -> list[tuple[Decimal, str, Decimal, Decimal]]:
    return [(group.vat_rate, group.vat_category, group.taxable, group.vat) for group in totals.breakdown]


# --- round_money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("-0.005", "-0.01"),
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # half-even would give 0.02
        ("-0.025", "-0.03"),  # half-even would give -0.02
        ("0.125", "0.13"),  # half-even would give 0.12
        ("-0.125", "-0.13"),
        ("2.665", "2.67"),  # half-even would give 2.66
        ("1.995", "2.00"),
        ("-1.995", "-2.00"),
        ("0.0049999", "0.00"),
        ("1.0050000001", "1.01"),
        ("99999999999.985", "99999999999.99"),
        ("7", "7.00"),
        ("0", "0.00"),
        ("12.3", "12.30"),
    ],
)
def test_round_money_is_half_up_away_from_zero(value, expected):
    result = round_money(D(value))
    assert result == D(expected)
    assert str(result) == expected  # always exactly two decimals


@pytest.mark.parametrize("context_rounding", [ROUND_HALF_EVEN, ROUND_DOWN])
@pytest.mark.parametrize(("value", "expected"), [("0.025", "0.03"), ("-0.025", "-0.03"), ("0.125", "0.13")])
def test_round_money_never_depends_on_the_context_rounding(context_rounding, value, expected):
    with localcontext() as context:
        context.rounding = context_rounding
        assert round_money(D(value)) == D(expected)


def test_round_money_is_symmetric_around_zero_at_every_half_cent():
    for mills in range(-2000, 2001):
        value = D(mills).scaleb(-3)
        assert round_money(-value) == -round_money(value)
        if mills % 10 == 5:  # ±x.xx5 (Python's % is non-negative here)
            # an exact half cent always moves away from zero
            assert abs(round_money(value)) > abs(value)


# --- vat_of, tax_key ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taxable", "rate", "expected"),
    [
        ("0.50", "5", "0.03"),  # 0.025: half-even would give 0.02
        ("-0.50", "5", "-0.03"),
        ("1.50", "11", "0.17"),  # 0.165
        ("-1.50", "11", "-0.17"),
        ("2.50", "9", "0.23"),  # 0.225
        ("-2.50", "9", "-0.23"),
        ("0.12", "21", "0.03"),  # 0.0252
        ("0.36", "21", "0.08"),  # 0.0756
        ("0.05", "19", "0.01"),  # 0.0095
        ("100.00", "0", "0.00"),
        ("1000.00", "21.00", "210.00"),
    ],
)
def test_vat_of(taxable, rate, expected):
    assert vat_of(D(taxable), D(rate)) == D(expected)


def test_tax_key_normalises_the_rate_to_two_decimals():
    assert tax_key(D("21"), "S") == (D("21.00"), "S")
    assert str(tax_key(D("9"), "S")[0]) == "9.00"
    assert tax_key(D("5.5"), "S") == tax_key(D("5.50"), "S")
    assert tax_key(D("0"), "Z") != tax_key(D("0"), "E")


# --- line_net ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit_price", "discount", "expected"),
    [
        ("3", "0.12", "0.00", "0.36"),
        ("1.5", "10.01", "0.00", "15.02"),  # 15.015
        ("-1.5", "10.01", "0.00", "-15.02"),
        ("1.5", "0.01", "0.00", "0.02"),  # 0.015
        ("-1.5", "0.01", "0.00", "-0.02"),
        ("0.3333", "33.33", "0.00", "11.11"),  # 11.108889
        ("-0.3333", "33.33", "0.00", "-11.11"),
        ("2", "10.00", "1.50", "18.50"),
        ("-2", "10.00", "1.50", "-18.50"),  # the discount lowers the magnitude of a negative line
        ("2.5", "0.99", "0.01", "2.47"),  # 2.475 − 0.01 = 2.465
        ("-2.5", "0.99", "0.01", "-2.47"),  # −2.475 + 0.01 = −2.465
        ("1", "100.00", "100.00", "0.00"),
        ("-1", "100.00", "100.00", "0.00"),
        ("0.0001", "0.01", "0.00", "0.00"),
        ("12.3456", "789.01", "0.99", "9739.81"),  # 9740.801856 − 0.99 = 9739.811856
    ],
)
def test_line_net(quantity, unit_price, discount, expected):
    result = line_net(D(quantity), D(unit_price), D(discount))
    assert result == D(expected)
    assert result.as_tuple().exponent == -2


def test_line_net_default_discount_is_zero():
    assert line_net(D("4"), D("2.50")) == D("10.00")


# --- VAT per rate on summed nets (BR-CO-17) -------------------------------------------------------------------


def test_three_lines_of_012_at_21_percent_carry_vat_008_not_009():
    lines = [priced("1", "0.12", "0.00", "21") for _ in range(3)]
    assert [line.vat for line in lines] == [D("0.03")] * 3  # per line: 0.0252 → 0.03 each
    totals = summarize(lines)
    assert groups_of(totals) == [(D("21.00"), "S", D("0.36"), D("0.08"))]  # 0.36 × 21% = 0.0756
    assert (totals.subtotal, totals.vat_total, totals.total) == (D("0.36"), D("0.08"), D("0.44"))


def test_one_line_of_three_units_at_012_has_the_same_vat():
    totals = summarize([priced("3", "0.12", "0.00", "21")])
    assert (totals.subtotal, totals.vat_total, totals.total) == (D("0.36"), D("0.08"), D("0.44"))


def test_mixed_21_11_0_breakdown():
    lines = [
        priced("2", "49.99", "0.00", "21"),  # 99.98
        priced("1", "10.05", "0.05", "21"),  # 10.00
        priced("3", "7.77", "0.00", "11"),  # 23.31, line VAT 2.5641 → 2.56
        priced("1", "0.15", "0.00", "11"),  # line VAT 0.0165 → 0.02
        priced("1", "0.15", "0.00", "11"),
        priced("1", "0.15", "0.00", "11"),
        priced("4", "2.50", "0.00", "0", "Z"),  # 10.00
    ]
    totals = summarize(lines)
    assert groups_of(totals) == [
        (D("21.00"), "S", D("109.98"), D("23.10")),  # 23.0958
        (D("11.00"), "S", D("23.76"), D("2.61")),  # 2.6136; the per-line VATs would sum to 2.62
        (D("0.00"), "Z", D("10.00"), D("0.00")),
    ]
    assert totals.subtotal == D("143.74")
    assert totals.vat_total == D("25.71")
    assert totals.total == D("169.45")


def test_breakdown_groups_by_rate_and_category_in_a_stable_order():
    lines = [
        priced("1", "5.00", "0.00", "0", "Z"),
        priced("1", "7.00", "0.00", "0", "E"),
        priced("1", "10.00", "0.00", "5"),
        priced("1", "20.00", "0.00", "21"),
        priced("1", "1.00", "0.00", "5.00"),  # same group as "5"
    ]
    totals = summarize(lines)
    assert groups_of(totals) == [
        (D("21.00"), "S", D("20.00"), D("4.20")),
        (D("5.00"), "S", D("11.00"), D("0.55")),
        (D("0.00"), "E", D("7.00"), D("0.00")),
        (D("0.00"), "Z", D("5.00"), D("0.00")),
    ]
    assert totals.total == D("47.75")


def test_summarize_of_nothing_is_zero():
    totals = summarize([])
    assert totals.breakdown == ()
    assert (totals.subtotal, totals.vat_total, totals.total) == (D("0.00"), D("0.00"), D("0.00"))


# --- group_vat pins and fixed-VAT lines ---------------------------------------------------------------------


def test_group_vat_pins_the_vat_of_its_group_only():
    lines = [priced("1", "100.00", "0.00", "21"), priced("1", "50.00", "0.00", "11")]
    totals = summarize(lines, {tax_key(D("21"), "S"): D("20.99")})
    assert groups_of(totals) == [
        (D("21.00"), "S", D("100.00"), D("20.99")),  # pinned, not 21.00
        (D("11.00"), "S", D("50.00"), D("5.50")),
    ]
    assert (totals.subtotal, totals.vat_total, totals.total) == (D("150.00"), D("26.49"), D("176.49"))


def test_group_vat_pin_matches_a_rate_given_without_decimals():
    totals = summarize([priced("1", "100.00", "0.00", "21.00")], {(D("21"), "S"): D("-0.01")})
    assert totals.vat_total == D("-0.01")


def test_fixed_vat_lines_add_their_own_vat_to_the_group():
    amount_line = LineFigures(vat_rate=D("21"), vat_category="S", net=D("-82.64"), vat=D("-17.36"), fixed_vat=True)
    priced_lines = [priced("-1", "0.12", "0.00", "21"), priced("-1", "0.12", "0.00", "21")]
    totals = summarize([amount_line, *priced_lines])
    # −0.24 × 21% = −0.0504 → −0.05, plus the fixed −17.36; a plain rate × Σ nets would give −17.40
    assert groups_of(totals) == [(D("21.00"), "S", D("-82.88"), D("-17.41"))]
    assert totals.total == D("-100.29")


def test_fixed_vat_line_alone_keeps_its_vat():
    line = LineFigures(vat_rate=D("19"), vat_category="S", net=D("-16.80"), vat=D("-3.19"), fixed_vat=True)
    totals = summarize([line])
    assert groups_of(totals) == [(D("19.00"), "S", D("-16.80"), D("-3.19"))]
    assert totals.total == D("-19.99")


def test_fixed_vat_that_differs_from_rate_times_net_is_kept():
    # 0.14 gross at 21% taken as net 0.12 + VAT 0.02 (an exact remainder); 0.12 × 21% would be 0.03
    line = LineFigures(vat_rate=D("21"), vat_category="S", net=D("-0.12"), vat=D("-0.02"), fixed_vat=True)
    totals = summarize([line])
    assert (totals.subtotal, totals.vat_total, totals.total) == (D("-0.12"), D("-0.02"), D("-0.14"))


# --- net_of_gross --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross", "rate", "net"),
    [
        ("100.00", "21", "82.64"),  # 82.6446…
        ("-100.00", "21", "-82.64"),
        ("121.00", "21", "100.00"),
        ("0.01", "21", "0.01"),  # 0.00826…
        ("1.25", "100", "0.63"),  # 0.625 exactly: half-even would give 0.62
        ("-1.25", "100", "-0.63"),
        ("0.01", "100", "0.01"),  # 0.005 exactly
        ("-0.01", "100", "-0.01"),
        ("50.00", "0", "50.00"),
        ("105.00", "5", "100.00"),
        ("10.00", "9", "9.17"),  # 9.1743…
        ("19.99", "19", "16.80"),  # 16.7983…
        ("1.00", "11", "0.90"),  # 0.9009…
        ("1000000.00", "19", "840336.13"),  # 840336.134…
    ],
)
def test_net_of_gross(gross, rate, net):
    result = net_of_gross(D(gross), D(rate))
    assert result == D(net)
    assert result.as_tuple().exponent == -2


def test_100_gross_at_21_percent_splits_into_8264_and_1736_exactly():
    net = net_of_gross(D("100.00"), D("21"))
    vat = D("100.00") - net
    assert (net, vat, net + vat) == (D("82.64"), D("17.36"), D("100.00"))


# --- a full credit negates every figure exactly ------------------------------------------------------------------


NEGATION_CASES = [
    pytest.param([("3", "0.12", "0.00", "21")], ("0.36", "0.08", "0.44"), id="3x0.12@21"),
    pytest.param(
        [("2.5", "0.99", "0.01", "21"), ("1.5", "0.01", "0.00", "21")],
        ("2.49", "0.52", "3.01"),  # 2.47 + 0.02; 2.49 × 21% = 0.5229
        id="half-cent-nets",
    ),
    pytest.param(
        [("0.3333", "33.33", "0.00", "19"), ("7", "1.15", "0.05", "5"), ("1", "10.00", "0.00", "0")],
        ("29.11", "2.51", "31.62"),  # 11.11 (VAT 2.1109) + 8.00 (VAT 0.40) + 10.00
        id="19/5/0",
    ),
    pytest.param(
        [("1", "0.50", "0.00", "5"), ("3", "0.50", "0.00", "11")],
        ("2.00", "0.20", "2.20"),  # VAT 0.025 → 0.03 and 0.165 → 0.17
        id="half-cent-vat",
    ),
    pytest.param(
        [("2", "10.00", "1.50", "21"), ("-1", "3.00", "0.00", "21")],
        ("15.50", "3.26", "18.76"),  # 18.50 − 3.00; 15.50 × 21% = 3.255
        id="with-a-negative-line",
    ),
]


@pytest.mark.parametrize(("specs", "expected"), NEGATION_CASES)
def test_negating_every_quantity_negates_every_figure(specs, expected):
    invoice_lines = [priced(q, p, d, r) for q, p, d, r in specs]
    credit_lines = [priced(str(-D(q)), p, d, r) for q, p, d, r in specs]
    invoice = summarize(invoice_lines)
    credit = summarize(credit_lines)

    subtotal, vat, total = (D(x) for x in expected)
    assert (invoice.subtotal, invoice.vat_total, invoice.total) == (subtotal, vat, total)
    assert (credit.subtotal, credit.vat_total, credit.total) == (-subtotal, -vat, -total)
    for original, negated in zip(invoice_lines, credit_lines, strict=True):
        assert (negated.net, negated.vat, negated.total) == (-original.net, -original.vat, -original.total)
    assert groups_of(credit) == [(rate, cat, -taxable, -vat) for rate, cat, taxable, vat in groups_of(invoice)]


# --- the breakdown as stored JSON ----------------------------------------------------------------------------------


def test_breakdown_to_json_writes_two_decimal_strings():
    totals = summarize(
        [
            priced("2", "49.99", "0.00", "21"),
            priced("3", "7.77", "0.00", "11"),
            priced("4", "2.50", "0.00", "0", "Z"),
        ]
    )
    assert breakdown_to_json(totals.breakdown) == [
        {"vatRate": "21.00", "vatCategory": "S", "taxableAmount": "99.98", "vatAmount": "21.00"},
        {"vatRate": "11.00", "vatCategory": "S", "taxableAmount": "23.31", "vatAmount": "2.56"},
        {"vatRate": "0.00", "vatCategory": "Z", "taxableAmount": "10.00", "vatAmount": "0.00"},
    ]


@pytest.mark.parametrize(
    "breakdown",
    [
        (),
        (VatGroup(vat_rate=D("21.00"), vat_category="S", taxable=D("109.98"), vat=D("23.10")),),
        (
            VatGroup(vat_rate=D("19.00"), vat_category="S", taxable=D("-16.80"), vat=D("-3.19")),
            VatGroup(vat_rate=D("5.00"), vat_category="S", taxable=D("-0.01"), vat=D("0.00")),
            VatGroup(vat_rate=D("0.00"), vat_category="E", taxable=D("-999999999.99"), vat=D("0.00")),
        ),
    ],
)
def test_breakdown_json_round_trip(breakdown):
    back = breakdown_from_json(breakdown_to_json(breakdown))
    assert back == breakdown
    assert [str(g.taxable) for g in back] == [str(g.taxable) for g in breakdown]  # same exponent, not only equal
    assert [g.key for g in back] == [g.key for g in breakdown]


def test_breakdown_from_json_reads_rates_without_decimals():
    (group,) = breakdown_from_json([{"vatRate": "19", "vatCategory": "S", "taxableAmount": "10", "vatAmount": "1.9"}])
    assert group.key == (D("19.00"), "S")
    assert (group.taxable, group.vat, group.gross) == (D("10.00"), D("1.90"), D("11.90"))
    assert all(isinstance(value, Decimal) for value in (group.vat_rate, group.taxable, group.vat))

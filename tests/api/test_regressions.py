"""Regressions found in review, through the API: each test fails without the fix it names."""

from tests.api.conftest import V1, assert_error, ok


def test_amounts_cancelling_in_the_total_but_not_in_the_subtotal_are_refused(api, client_):
    huge = [
        {"description": "a", "quantity": "1", "unitPrice": "999999999999.00", "vatRate": "0", "vatCategory": "Z"},
        {"description": "b", "quantity": "1", "unitPrice": "999999999999.00", "vatRate": "0", "vatCategory": "Z"},
        {"description": "c", "quantity": "-1", "unitPrice": "999999999999.00", "vatRate": "100"},
    ]
    response = api.post(f"{V1}/invoices", {"clientId": client_["id"], "lines": huge})
    assert_error(response, 422, "validation_error", "lines")
    assert ok(api.get(f"{V1}/invoices"))["total"] == 0


def test_a_long_reason_on_a_credit_by_amount_fits_the_line(api, client_):
    body = {"clientId": client_["id"], "reason": "r" * 300, "amount": "100.00", "vatRate": "21"}
    note = ok(api.post(f"{V1}/credit_notes", body), 201)
    assert note["reason"] == "r" * 300 and len(note["lines"][0]["description"]) == 200
    assert ok(api.post(f"{V1}/credit_notes/preview", body))["total"] == "-100.00"


def test_auto_apply_is_refused_on_an_invoice(api, client_):
    draft = ok(
        api.post(
            f"{V1}/invoices",
            {
                "clientId": client_["id"],
                "lines": [{"description": "x", "quantity": "1", "unitPrice": "10.00", "vatRate": "21"}],
            },
        ),
        201,
    )
    assert_error(api.post(f"{V1}/invoices/{draft['id']}/issue", {"autoApply": True}), 422, "validation_error")

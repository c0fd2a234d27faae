from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiToken
from tests.api.conftest import V1, assert_error, ok
from tests.conftest import JsonClient


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_list_shows_prefixes_never_keys(token, user):
    lines = run("list_api_tokens", user.username)
    assert len(lines) == 1 and lines[0].startswith(token[:12]) and token not in lines[0]
    assert "active" in lines[0]


def test_revoke_by_prefix_stops_the_token(token, company):
    api = JsonClient(token)
    ok(api.get(f"{V1}/company"))
    assert run("revoke_api_token", token[:12])[-1].startswith("Revoked")
    assert ApiToken.objects.get(prefix=token[:12]).revoked
    assert_error(api.get(f"{V1}/company"), 401, "unauthorized")
    assert "revoked" in run("list_api_tokens")[0]


def test_revoke_needs_an_unambiguous_prefix(token):
    with pytest.raises(CommandError):
        run("revoke_api_token", "stn_does_not_exist")
    run("create_api_token", "ana", "--name", "second")
    with pytest.raises(CommandError):
        run("revoke_api_token", "stn_")

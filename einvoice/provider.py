"""Which ANAF the sync talks to (EINVOICE_PROVIDER): the simulator — in this process, or a standalone one at
EINVOICE_SIMULATOR_URL — or ANAF's test or production hosts with the company's OAuth tokens."""

import functools

import httpx
from django.conf import settings

from einvoice import tokens
from einvoice.anaf.client import AnafClient, Environment, Timeouts
from einvoice.anaf.simulator import Simulator

# The in-process simulator answers any host; the name only shows in logs.
IN_PROCESS_URL = "http://anaf-simulator.invalid/prod/FCTEL/rest/"
# The simulator the embedded default uses takes any token (its permissive mode).
SIMULATOR_TOKEN = "simulator"


def timeouts() -> Timeouts:
    return Timeouts(
        connect=settings.EINVOICE_CONNECT_TIMEOUT_SECONDS,
        read=settings.EINVOICE_READ_TIMEOUT_SECONDS,
        write=settings.EINVOICE_READ_TIMEOUT_SECONDS,
    )


@functools.cache
def in_process_simulator() -> Simulator:
    """One per process, over the state folder every process shares (an upload made by one web process is polled
    by another)."""
    return Simulator(processing_seconds=settings.EINVOICE_SIMULATOR_PROCESSING_SECONDS, require_token=False)


def anaf_client(company) -> AnafClient:
    if settings.EINVOICE_PROVIDER == "simulator":
        if settings.EINVOICE_SIMULATOR_URL:
            url = settings.EINVOICE_SIMULATOR_URL.rstrip("/") + "/prod/FCTEL/rest/"
            return AnafClient(url, lambda: SIMULATOR_TOKEN, timeouts())
        transport = httpx.WSGITransport(app=in_process_simulator())
        return AnafClient(IN_PROCESS_URL, lambda: SIMULATOR_TOKEN, timeouts(), transport=transport)
    test = settings.EINVOICE_PROVIDER == "anaf-test"
    # Taken (and refreshed) now, before the step records anything: a company that cannot authorize fails here,
    # not halfway through an upload. A client lives for one step, well within the token's life.
    token = tokens.access_token(company)
    return AnafClient(
        Environment.TEST if test else Environment.PROD,
        lambda: token,
        timeouts(),
        # validare and transformare exist on production hosts only.
        validation_base_url=Environment.PUBLIC if test else None,
    )

"""A stand-in for ANAF's e-Factura REST API and its OAuth2 token endpoint, answering in ANAF's own shapes.

`Simulator` is a WSGI application. In-process a caller passes `httpx.WSGITransport(app=simulator)`; `serve()` puts it
behind a real HTTP server, and `manage.py anaf_simulator` serves it until interrupted. Shapes, messages and limits
follow shared/reference/anaf-efactura.md §1 and ANAF's OpenAPI files ("the swagger"); the docstring of each answer
says where it comes from.

Like ANAF:
- upload and uploadb2c check their parameters and the XML schema at once (ExecutionStatus="1" on a failure, §1.3),
  then take the document (ExecutionStatus="0" and an index_incarcare);
- stareMesaj answers "in prelucrare" for `processing_seconds` after the upload, then "ok", or "nok" for a document
  with fatal CIUS-RO findings or a second upload of a document that already ended "ok" (same seller, number and issue
  date, §5 pitfall 1);
- descarcare gives the ZIP: {index}.xml (the document, or ANAF's error file) and semnatura_{index}.xml (§1.6);
- the message lists, validare and transformare (§1.5, §1.7); the daily limits of stareMesaj and descarcare (§1.8);
- e-Factura calls need a Bearer token from the token endpoint, which rotates refresh tokens (§1.2).

The state (uploads, messages, ZIPs, tokens, faults) lives in a folder under one fcntl lock, so every process that
serves the same folder gives the same answers: a web server with several processes has one simulator per process.
Faults (see `Fault`) are switched on at run time through `inject()` or `POST /__simulator__/faults`.
"""

import base64
import fcntl
import hashlib
import hmac
import io
import json
import logging
import math
import os
import secrets
import socket
import struct
import sys
import threading
import time
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from socketserver import TCPServer, ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer
from wsgiref.types import StartResponse, WSGIEnvironment
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings
from lxml import etree

from einvoice.validation import CREDIT_NOTE, INVOICE, NAMESPACES, Finding, validate

logger = logging.getLogger(__name__)

DEFAULT_PROCESSING_SECONDS = 1.0
DEFAULT_HANG_SECONDS = 60.0
ACCESS_TOKEN_SECONDS = 90 * 24 * 3600  # OAUTH-PDF p. 34: 129 600 minutes
REFRESH_TOKEN_SECONDS = 365 * 24 * 3600  # 525 600 minutes
AUTHORIZATION_CODE_SECONDS = 60  # "60 de secunde interval de obținere a unui token valid"

# ANAF dates everything in Romanian time.
ANAF_TIMEZONE = ZoneInfo("Europe/Bucharest")
UPLOAD_NAMESPACE = "mfp:anaf:dgti:spv:respUploadFisier:v1"
STATUS_NAMESPACE = "mfp:anaf:dgti:efactura:stareMesajFactura:v1"
ERRORS_NAMESPACE = "mfp:anaf:dgti:efactura:mesajEroriFactuta:v1"  # sic: ANAF's spelling
XMLDSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
# Written as ANAF writes them; lxml's own declaration uses single quotes.
STANDALONE_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

UPLOAD_ENDPOINTS = ("upload", "uploadb2c")
# Paths without arguments under /{prod|test}/FCTEL/rest/; validare and transformare take the standard in the path.
PLAIN_ENDPOINTS = (*UPLOAD_ENDPOINTS, "stareMesaj", "descarcare", "listaMesajeFactura", "listaMesajePaginatieFactura")
ENDPOINTS = (*PLAIN_ENDPOINTS, "validare", "transformare", "token")
ALL_ENDPOINTS = "*"
# On webservicesp.anaf.ro these two need no token (§1.1); a token sent along must still be a good one.
TOKEN_OPTIONAL_ENDPOINTS = ("validare", "transformare")
# §1.1: published for prod only; ANAFPY-REF saw /test answer 404 for them.
PROD_ONLY_ENDPOINTS = ("validare", "transformare")
EFACTURA_PREFIXES = {"/prod/FCTEL/rest/": "prod", "/test/FCTEL/rest/": "test"}
TOKEN_PATH = "/anaf-oauth2/v1/token"
AUTHORIZE_PATH = "/anaf-oauth2/v1/authorize"
ADMIN_PREFIX = "/__simulator__/"

UPLOAD_STANDARDS = {"UBL": INVOICE, "CN": CREDIT_NOTE, "CII": None, "RASP": None}
VALIDATION_STANDARDS = {"FACT1": INVOICE, "FCN": CREDIT_NOTE}
# Optional upload parameters, each accepting only DA, and the name ANAF's message gives each (the swagger).
UPLOAD_FLAGS = {"extern": "extern", "autofactura": "autofacturare", "executare": "executare"}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_VALIDATION_BYTES = 5 * 1024 * 1024
LIST_PAGE_SIZE = 500
LIST_DAYS = 60
STATUS_QUERIES_PER_DAY = 100  # per message (LIMITS)
DOWNLOADS_PER_DAY = 10  # per message (LIMITS)
TECHNICAL_ERROR = "A aparut o eroare tehnica. Cod: 100"
CERTIFICATE_SERIAL = "53494D554C41544F52"  # the lists' "serial": the token holder's certificate
MESSAGE_TYPES = {
    "E": ("ERORI FACTURA",),
    "T": ("FACTURA TRIMISA",),
    "P": ("FACTURA PRIMITA",),
    "R": ("MESAJ CUMPARATOR PRIMIT", "MESAJ CUMPARATOR TRANSMIS"),
}

FAULT_KINDS = (
    "status_5xx",
    "status_429",
    "hang",
    "html_firewall",
    "malformed",
    "eroare_tehnica",
    "accept_then_drop",
    "duplicate",
    "down",
)
FAULT_FIELDS = ("kind", "endpoint", "times", "seconds", "status", "retry_after")


class DroppedConnection(httpx.RemoteProtocolError):
    """The request was taken and the connection closes without an answer (fault `accept_then_drop`).

    In-process httpx raises it as what it stands for, a RemoteProtocolError; the HTTP server closes the socket."""


class ConnectionRefused(httpx.ConnectError):
    """ANAF is down (fault `down`) and nothing was processed.

    In-process httpx raises it as a ConnectError; the HTTP server resets the connection."""


@dataclass(frozen=True)
class Fault:
    """A misbehaviour the simulator shows on the next calls of `endpoint` ("*": every endpoint).

    - status_5xx: HTTP `status` (500–599) with the JSON error body of ANAF's servers; nothing is processed.
    - status_429: HTTP 429 with `Retry-After: retry_after`; nothing is processed.
    - hang: the call is processed, then the answer waits `seconds` (default 60).
    - html_firewall: HTTP 200 with the F5 firewall's "Request Rejected" page; nothing is processed.
    - malformed: the call is processed and its answer cut in half (truncated XML, JSON or ZIP).
    - eroare_tehnica: the endpoint's own "A aparut o eroare tehnica" answer; nothing is processed. Not on token.
    - accept_then_drop: the call is processed (an upload is recorded and will be processed), then the connection
      closes without an answer.
    - duplicate: upload only. The upload is taken and ends "nok" as a duplicate of an earlier upload of the same
      document; when there was none, the earlier upload is made up (processed, "ok", downloadable).
    - down: every call is refused without processing, for `seconds` from injection (None: until cleared).
    A fault with `times` fires that many times, then is gone; with times=None it stays until cleared.
    """

    kind: str
    endpoint: str = ALL_ENDPOINTS
    times: int | None = None
    seconds: float | None = None
    status: int = 500
    retry_after: int = 1
    id: int = 0
    created_at: float = 0.0

    def applies_to(self, endpoint: str) -> bool:
        if self.endpoint not in (ALL_ENDPOINTS, endpoint):
            return False
        if self.kind == "duplicate":
            return endpoint in UPLOAD_ENDPOINTS
        return self.kind != "eroare_tehnica" or endpoint != "token"

    def is_over(self, now: float) -> bool:
        outage_over = self.kind == "down" and self.seconds is not None and now >= self.created_at + self.seconds
        return outage_over or self.times == 0


@dataclass(frozen=True)
class AcceptedUpload:
    """An upload the simulator took (ExecutionStatus="0"), as received."""

    index: int
    endpoint: str  # "upload" or "uploadb2c"
    standard: str
    cif: str
    flags: tuple[str, ...]  # the optional parameters sent as DA: "extern", "autofactura", "executare"
    received_at: datetime
    body: bytes


def default_state_dir() -> Path:
    """settings.EINVOICE_SIMULATOR_DIR when set, else <MEDIA_ROOT>/anaf-simulator."""
    configured = getattr(settings, "EINVOICE_SIMULATOR_DIR", "")
    return Path(configured) if configured else Path(settings.MEDIA_ROOT) / "anaf-simulator"


# --- The simulator -----------------------------------------------------------------------------------------------


class Simulator:
    """ANAF's e-Factura API as a WSGI application over the state kept in `state_dir`.

    require_token=False is the permissive mode: e-Factura calls need no token, and the token endpoint takes any
    authorization code. client_id/client_secret, when given, are the only client credentials the token endpoint
    accepts; otherwise any Basic credentials do."""

    def __init__(
        self,
        state_dir: str | Path | None = None,
        *,
        processing_seconds: float = DEFAULT_PROCESSING_SECONDS,
        require_token: bool = True,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token_seconds: int = ACCESS_TOKEN_SECONDS,
        refresh_token_seconds: int = REFRESH_TOKEN_SECONDS,
    ) -> None:
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.processing_seconds = processing_seconds
        self.require_token = require_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token_seconds = access_token_seconds
        self.refresh_token_seconds = refresh_token_seconds
        self._store = _Store(self.state_dir)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self._answer(_Request.from_environ(environ))
        headers = [("Content-Type", answer.content_type), ("Content-Length", str(len(answer.body))), *answer.headers]
        status = HTTPStatus(answer.status)
        start_response(f"{status.value} {status.phrase}", headers)
        return [answer.body]

    # --- The API for tests and operators ---

    def accepted_uploads(self) -> list[AcceptedUpload]:
        """Every upload taken, oldest first; uploads rejected at once (ExecutionStatus="1") are not among them."""
        return [
            AcceptedUpload(
                index=upload["index"],
                endpoint=upload["endpoint"],
                standard=upload["standard"],
                cif=upload["cif"],
                flags=tuple(upload["flags"]),
                received_at=datetime.fromtimestamp(upload["received_at"], UTC),
                body=self._store.body(upload["index"]),
            )
            for upload in self._store.uploads()
            if not upload["made_up"]
        ]

    def inject(
        self,
        kind: str,
        *,
        endpoint: str = ALL_ENDPOINTS,
        times: int | None = None,
        seconds: float | None = None,
        status: int = 500,
        retry_after: int = 1,
    ) -> Fault:
        """Switches a fault on (see `Fault`); ValueError for a kind, endpoint or value the simulator does not know."""
        values = {
            "kind": kind,
            "endpoint": endpoint,
            "times": times,
            "seconds": seconds,
            "status": status,
            "retry_after": retry_after,
        }
        return self._store.add_fault(_fault_from(values))

    def faults(self) -> list[Fault]:
        return self._store.faults()

    def clear_faults(self) -> None:
        self._store.clear_faults()

    def reset(self) -> None:
        """Forgets every upload, message, token and fault. Upload indexes start again from a new random base, so an
        index saved before a reset never names an upload made after it."""
        self._store.reset()

    def issue_tokens(self, *, access_token_seconds: int | None = None) -> dict[str, Any]:
        """A new token pair, answered as the token endpoint does; access_token_seconds=0 gives an expired one."""
        seconds = self.access_token_seconds if access_token_seconds is None else access_token_seconds
        with self._store.locked() as state:
            return _issue_tokens(state, self.client_id or "simulator", seconds, self.refresh_token_seconds)

    def authorization_code(self, redirect_uri: str = "") -> str:
        """A code for grant_type=authorization_code, as ANAF's authorize step would redirect with."""
        with self._store.locked() as state:
            return _new_authorization_code(state, redirect_uri)

    def refresh_token_reuses(self) -> int:
        """How many times a refresh token already rotated was presented again (two workers refreshing at once)."""
        with self._store.locked() as state:
            return state["refresh_token_reuses"]

    # --- Dispatch ---

    def _answer(self, request: "_Request") -> "_Answer":
        if request.path.startswith(ADMIN_PREFIX):
            return _admin(self, request)
        if request.path == AUTHORIZE_PATH:
            return _authorize(self, request)
        call = _route(request.path)
        if isinstance(call, _Answer):
            return call
        method, handler = _HANDLERS[call.endpoint]
        if request.method != method:
            return _spring_error(HTTPStatus.METHOD_NOT_ALLOWED, f"Request method '{request.method}' is not supported")
        fault = self._store.take_fault(call.endpoint)
        refusal = _refusal(fault, call.endpoint) if fault else None
        if refusal is not None:
            return refusal
        answer = self._authentication_failure(request, call.endpoint) or handler(
            self, request, replace(call, duplicate=fault is not None and fault.kind == "duplicate")
        )
        return _after_processing(fault, answer) if fault else answer

    def _authentication_failure(self, request: "_Request", endpoint: str) -> "_Answer | None":
        if endpoint == "token" or not self.require_token:
            return None
        if endpoint in TOKEN_OPTIONAL_ENDPOINTS and not request.authorization:
            return None
        scheme, _, token = request.authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _unauthorized("Full authentication is required to access this resource")
        with self._store.locked() as state:
            problem = _access_token_problem(state, token.strip(), time.time())
        return _unauthorized(problem) if problem else None


# --- Requests, answers and routes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    query: dict[str, str]
    authorization: str
    body: bytes

    @classmethod
    def from_environ(cls, environ: WSGIEnvironment) -> "_Request":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        pairs = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return cls(
            method=environ["REQUEST_METHOD"].upper(),
            path=environ.get("PATH_INFO", ""),
            query={name: values[0] for name, values in pairs.items()},
            authorization=environ.get("HTTP_AUTHORIZATION", ""),
            body=environ["wsgi.input"].read(length) if length else b"",
        )


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Call:
    """A call routed to one of ENDPOINTS."""

    endpoint: str
    standard: str = ""  # validare/{standard}, transformare/{standard}
    skip_validation: bool = False  # transformare/{standard}/DA
    duplicate: bool = False  # the `duplicate` fault fired on this upload


def _route(path: str) -> _Call | _Answer:
    if path == TOKEN_PATH:
        return _Call("token")
    prefix = next((prefix for prefix in EFACTURA_PREFIXES if path.startswith(prefix)), None)
    if prefix is None:
        # §1.1: a path without /prod/FCTEL/rest gets a 403 (ts-anaf#2).
        forbidden = path.strip("/").split("/")[0] in ENDPOINTS
        return _spring_error(HTTPStatus.FORBIDDEN, "Access Denied") if forbidden else _not_found(path)
    endpoint, *arguments = path[len(prefix) :].split("/")
    if endpoint in PROD_ONLY_ENDPOINTS and EFACTURA_PREFIXES[prefix] != "prod":
        return _not_found(path)
    if endpoint == "validare" and len(arguments) == 1 and arguments[0]:
        return _Call(endpoint, standard=arguments[0])
    if endpoint == "transformare" and arguments and arguments[0] and arguments[1:] in ([], ["DA"]):
        return _Call(endpoint, standard=arguments[0], skip_validation=arguments[1:] == ["DA"])
    if endpoint in PLAIN_ENDPOINTS and not arguments:
        return _Call(endpoint)
    return _not_found(path)


# --- Faults --------------------------------------------------------------------------------------------------------


def _fault_from(values: dict[str, Any]) -> Fault:
    unknown = set(values) - set(FAULT_FIELDS)
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}; known: {', '.join(FAULT_FIELDS)}")
    kind = values.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    endpoint = values.get("endpoint") or ALL_ENDPOINTS
    if endpoint != ALL_ENDPOINTS and endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be {ALL_ENDPOINTS!r} or one of {', '.join(ENDPOINTS)}")
    if kind == "duplicate" and endpoint not in (ALL_ENDPOINTS, *UPLOAD_ENDPOINTS):
        raise ValueError("a duplicate answers an upload: endpoint must be upload, uploadb2c or '*'")
    times = values.get("times")
    if times is not None and not (_is_integer(times) and times >= 1):
        raise ValueError("times must be a positive integer, or null for until cleared")
    seconds = values.get("seconds")
    if seconds is None and kind == "hang":
        seconds = DEFAULT_HANG_SECONDS
    if seconds is not None and not (_is_real(seconds) and seconds >= 0):
        raise ValueError("seconds must be a number of seconds, 0 or more")
    status = values.get("status", 500)
    if not (_is_integer(status) and 500 <= status <= 599 and status in {member.value for member in HTTPStatus}):
        raise ValueError("status must be an HTTP status between 500 and 599")
    retry_after = values.get("retry_after", 1)
    if not (_is_integer(retry_after) and retry_after >= 0):
        raise ValueError("retry_after must be a whole number of seconds, 0 or more")
    return Fault(kind, endpoint, times, seconds, status, retry_after)


def _refusal(fault: Fault, endpoint: str) -> _Answer | None:
    """The answer of a fault that stops the call before any processing, or None when the call goes on."""
    match fault.kind:
        case "down":
            raise ConnectionRefused("[Errno 111] Connection refused (the ANAF simulator is down)")
        case "status_5xx":
            return _spring_error(fault.status, "")
        case "status_429":
            # The body is not documented; the status and Retry-After are what a client acts on.
            return _spring_error(
                HTTPStatus.TOO_MANY_REQUESTS, "Too many requests", headers=(("Retry-After", str(fault.retry_after)),)
            )
        case "html_firewall":
            return _firewall_page()
        case "eroare_tehnica":
            return _technical_error(endpoint)
    return None


def _after_processing(fault: Fault, answer: _Answer) -> _Answer:
    match fault.kind:
        case "hang":
            time.sleep(fault.seconds or 0)
        case "malformed":
            return replace(answer, body=answer.body[: len(answer.body) // 2])
        case "accept_then_drop":
            raise DroppedConnection("Server disconnected without sending a response.")
    return answer


# --- upload and uploadb2c (§1.3) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Processed:
    """What processing makes of a document the upload took."""

    errors: tuple[str, ...]  # the error file's messages; none: the document ends "ok"
    document_key: str  # what makes two uploads the same document; "" when not known (CII, RASP)
    seller_cif: str
    buyer_cif: str


@dataclass(frozen=True)
class _Submission:
    """An upload the simulator takes."""

    endpoint: str
    standard: str
    cif: str
    flags: tuple[str, ...]
    body: bytes
    processed: _Processed


def _upload(simulator: Simulator, request: _Request, call: _Call) -> _Answer:
    standard, cif = request.query.get("standard", ""), request.query.get("cif", "")
    if not standard or not cif:
        return _spring_error(HTTPStatus.BAD_REQUEST, "Parametrii standard si cif sunt obligatorii")
    if not request.body:
        return _spring_error(HTTPStatus.BAD_REQUEST, "Trebuie sa aveti atasat in request un fisier de tip xml")
    problem = _upload_parameter_problem(request.query, standard, cif, len(request.body))
    if problem:
        return _upload_answer(errors=(problem,))
    processed = _process(standard, cif, request.body)
    if isinstance(processed, str):
        return _upload_answer(errors=(processed,))
    submission = _Submission(
        endpoint=call.endpoint,
        standard=standard,
        cif=cif,
        flags=tuple(flag for flag in UPLOAD_FLAGS if request.query.get(flag) == "DA"),
        body=request.body,
        processed=processed,
    )
    index = simulator._store.accept_upload(submission, call.duplicate, simulator.processing_seconds)
    return _upload_answer(index=index)


def _upload_parameter_problem(query: dict[str, str], standard: str, cif: str, size: int) -> str:
    if standard not in UPLOAD_STANDARDS:
        return "Valorile acceptate pentru parametrul standard sunt UBL, CN, CII sau RASP"
    if not _is_number(cif):
        return f"CIF introdus= {cif} nu este un numar"
    for flag, name in UPLOAD_FLAGS.items():
        if flag in query and query[flag] != "DA":
            return f"Daca parametrul {name} trebuie completat, valoarea acceptata este DA"
    if size > MAX_UPLOAD_BYTES:
        return "Marime fisier transmis mai mare de 10 MB."
    return ""


def _process(standard: str, cif: str, body: bytes) -> _Processed | str:
    """What processing will conclude, or the message of a synchronous rejection: ANAF checks the XML schema at
    upload (§1.3) and the CIUS-RO rules while processing."""
    root = _parse(body)
    if isinstance(root, str):
        return root
    expected = UPLOAD_STANDARDS[standard]
    if expected is None:  # CII and RASP: only read, never validated here
        return _Processed(errors=(), document_key="", seller_cif=cif, buyer_cif="")
    mismatch = _root_mismatch(root, expected)
    if mismatch:
        return mismatch
    fatal = validate(body).fatal
    schema_errors = [finding for finding in fatal if finding.source == "xsd"]
    if schema_errors:
        return _anaf_message(schema_errors[0])
    seller_cif = _party_cif(root, "cac:AccountingSupplierParty") or cif
    return _Processed(
        errors=tuple(_anaf_message(finding) for finding in fatal),
        document_key="|".join(
            (etree.QName(root).localname, seller_cif, _text(root, "cbc:ID"), _text(root, "cbc:IssueDate"))
        ),
        seller_cif=seller_cif,
        buyer_cif=_party_cif(root, "cac:AccountingCustomerParty"),
    )


def _upload_answer(*, index: int | None = None, errors: tuple[str, ...] = ()) -> _Answer:
    """§1.3 (the swagger's upload examples): ExecutionStatus 0 with the index, or 1 with the Errors."""
    attributes = {"dateResponse": _minute_stamp(time.time()), "ExecutionStatus": "1" if errors else "0"}
    if index is not None:
        attributes["index_incarcare"] = str(index)
    return _xml_answer(_header(UPLOAD_NAMESPACE, attributes, "Errors", errors))


# --- stareMesaj (§1.4) ---------------------------------------------------------------------------------------------


def _status(simulator: Simulator, request: _Request, call: _Call) -> _Answer:
    raw = request.query.get("id_incarcare", "")
    if not raw:
        return _spring_error(HTTPStatus.BAD_REQUEST, "Parametrul id_incarcare este obligatoriu")
    if not _is_number(raw):
        return _status_error(f"Id_incarcare introdus= {raw} nu este un numar intreg")
    now = time.time()
    upload, within_limit = simulator._store.count_call(int(raw), "status_queries", STATUS_QUERIES_PER_DAY, now)
    if upload is None:
        return _status_error(f"Nu exista factura cu id_incarcare= {raw}")
    if not within_limit:
        # The swagger's text for this limit, with LIMITS' number of status queries per message.
        return _status_error(f"S-au facut deja {STATUS_QUERIES_PER_DAY} descarcari de mesaj in cursul zilei")
    if now < upload["ready_at"]:
        return _xml_answer(_header(STATUS_NAMESPACE, {"stare": "in prelucrare"}))
    attributes = {"stare": upload["outcome"], "id_descarcare": str(upload["download_id"])}
    return _xml_answer(_header(STATUS_NAMESPACE, attributes))


def _status_error(message: str) -> _Answer:
    """§1.4: an error about the query, an Errors element without `stare`."""
    return _xml_answer(_header(STATUS_NAMESPACE, {}, "Errors", (message,)))


# --- descarcare (§1.6) ---------------------------------------------------------------------------------------------


def _download(simulator: Simulator, request: _Request, call: _Call) -> _Answer:
    raw = request.query.get("id", "")
    if not raw:
        return _spring_error(HTTPStatus.BAD_REQUEST, "Parametrul id este obligatoriu")
    if not _is_number(raw):
        return _download_error(f"Id descarcare introdus= {raw} nu este un numar intreg")
    now = time.time()
    index = simulator._store.upload_index_of(int(raw))
    no_upload: tuple[dict | None, bool] = (None, True)
    upload, within_limit = (
        no_upload if index is None else simulator._store.count_call(index, "downloads", DOWNLOADS_PER_DAY, now)
    )
    if upload is None or now < upload["ready_at"]:
        return _download_error(f"Pentru id={raw} nu exista inregistrata nici o factura")
    if not within_limit:
        return _download_error(f"S-au facut deja {DOWNLOADS_PER_DAY} descarcari de mesaj in cursul zilei")
    disposition = ("Content-Disposition", f'attachment; filename="{raw}.zip"')
    return _Answer(200, simulator._store.archive(int(raw)), "application/zip", (disposition,))


def _download_error(message: str) -> _Answer:
    """§1.6: HTTP 200 with JSON instead of the ZIP."""
    return _json_answer(200, {"eroare": message, "titlu": "Descarcare mesaj"})


def _archive(index: int, content: bytes, signing_key: str) -> bytes:
    """§1.6: {index}.xml and its detached signature semnatura_{index}.xml."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{index}.xml", content)
        archive.writestr(f"semnatura_{index}.xml", _signature(f"{index}.xml", content, signing_key))
    return buffer.getvalue()


def _error_file(index: int, seller_cif: str, errors: tuple[str, ...]) -> bytes:
    """§1.6 (OCA-FIX 3828.zip): one Error per finding, the namespace and capitals as ANAF writes them."""
    return _header(ERRORS_NAMESPACE, {"Index_incarcare": str(index), "Cif_emitent": seller_cif}, "Error", errors)


def _signature(filename: str, content: bytes, signing_key: str) -> bytes:
    """An XMLDSig detached signature (rsa-sha256 as ANAF's, §1.6) whose digest is the file's real SHA-256. The
    signature value is an HMAC: it is shaped like ANAF's, not verifiable like it."""
    digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
    value = base64.b64encode(hmac.new(signing_key.encode(), digest.encode(), hashlib.sha256).digest()).decode()
    ds = f"{{{XMLDSIG_NAMESPACE}}}"
    signature = etree.Element(f"{ds}Signature", nsmap={None: XMLDSIG_NAMESPACE})
    signed_info = etree.SubElement(signature, f"{ds}SignedInfo")
    c14n = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    etree.SubElement(signed_info, f"{ds}CanonicalizationMethod", Algorithm=c14n)
    etree.SubElement(signed_info, f"{ds}SignatureMethod", Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    reference = etree.SubElement(signed_info, f"{ds}Reference", URI=filename)
    etree.SubElement(reference, f"{ds}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    etree.SubElement(reference, f"{ds}DigestValue").text = digest
    etree.SubElement(signature, f"{ds}SignatureValue").text = value
    x509 = etree.SubElement(etree.SubElement(signature, f"{ds}KeyInfo"), f"{ds}X509Data")
    etree.SubElement(x509, f"{ds}X509SubjectName").text = "CN=RO e-Factura simulator, O=stornare"
    return DECLARATION + etree.tostring(signature, encoding="UTF-8", xml_declaration=False, pretty_print=True)


# --- listaMesajeFactura and listaMesajePaginatieFactura (§1.5) ------------------------------------------------------


def _simple_list(simulator: Simulator, request: _Request, call: _Call) -> _Answer:
    days_text, cif, message_filter = (request.query.get(name, "") for name in ("zile", "cif", "filtru"))
    if not days_text or not cif:
        return _spring_error(HTTPStatus.BAD_REQUEST, "Parametrii zile si cif sunt obligatorii")
    problem = _simple_list_problem(days_text, cif, message_filter)
    if problem:
        return _list_error(200, problem)
    now = time.time()
    days = int(days_text)
    messages = _messages(simulator, cif, message_filter, since=now - days * 86400, until=now)
    if not messages:
        return _list_error(200, f"Nu exista mesaje in ultimele {days} zile")
    if len(messages) > LIST_PAGE_SIZE:
        too_many = (
            f"Lista de mesaje este mai mare decat numarul de {LIST_PAGE_SIZE} elemente permise in pagina. "
            "Folositi endpoint-ul cu paginatie."
        )
        return _list_error(200, too_many)
    title = f"Lista Mesaje disponibile din ultimele {days} zile"
    return _json_answer(200, {"mesaje": messages, "serial": CERTIFICATE_SERIAL, "cui": cif, "titlu": title})


def _simple_list_problem(days: str, cif: str, message_filter: str) -> str:
    """The swagger files these under HTTP 200 for the simple list."""
    if not _is_number(cif):
        return f"CIF introdus= {cif} nu este un numar"
    if not _is_number(days):
        return f"Numarul de zile introdus= {days} nu este un numar intreg"
    if not 1 <= int(days) <= LIST_DAYS:
        return f"Numarul de zile trebuie sa fie intre 1 si {LIST_DAYS}"
    if message_filter and message_filter not in MESSAGE_TYPES:
        return "Valorile acceptate pentru parametrul filtru sunt E, T, P sau R"
    return ""


def _paged_list(simulator: Simulator, request: _Request, call: _Call) -> _Answer:
    names = ("startTime", "endTime", "cif", "pagina")
    start_text, end_text, cif, page_text = (request.query.get(name, "") for name in names)
    if not all((start_text, end_text, cif, page_text)):
        return _spring_error(HTTPStatus.BAD_REQUEST, "Parametrii startTime, endTime, cif si pagina sunt obligatorii")
    now = time.time()
    message_filter = request.query.get("filtru", "")
    problem = _paged_list_problem(start_text, end_text, cif, page_text, message_filter, now)
    if problem:
        # The swagger files these under HTTP 400 for the paginated list.
        return _list_error(400, problem)
    start, end = int(start_text) / 1000, int(end_text) / 1000
    messages = _messages(simulator, cif, message_filter, since=start, until=end)
    if not messages:
        # ANAFPY-REF [LIVE-3P]: "no messages" came back as HTTP 200 on the paginated list.
        return _list_error(200, "Nu exista mesaje in intervalul selectat")
    page, pages = int(page_text), math.ceil(len(messages) / LIST_PAGE_SIZE)
    if page > pages:
        return _list_error(400, f"Pagina solicitata {page} este mai mare decat numarul toatal de pagini {pages}")
    on_page = messages[(page - 1) * LIST_PAGE_SIZE : page * LIST_PAGE_SIZE]
    return _json_answer(
        200,
        {
            "mesaje": on_page,
            "numar_inregistrari_in_pagina": len(on_page),
            "numar_total_inregistrari_per_pagina": LIST_PAGE_SIZE,
            "numar_total_inregistrari": len(messages),
            "numar_total_pagini": pages,
            "index_pagina_curenta": page,
            "serial": CERTIFICATE_SERIAL,
            "cui": cif,
            "titlu": f"Lista Mesaje disponibile din intervalul {_second_stamp(start)} - {_second_stamp(end)}",
        },
    )


def _paged_list_problem(start: str, end: str, cif: str, page: str, message_filter: str, now: float) -> str:
    if not _is_number(cif):
        return f"CIF introdus= {cif} nu este un numar sau nu are o valoare acceptata de sistem"
    for name, value in (("startTime", start), ("endTime", end), ("pagina", page)):
        if not _is_number(value) or int(value) == 0:
            return f"{name} = {value} nu este un numar sau nu are o valoare acceptata de sistem"
    start_at, end_at = int(start) / 1000, int(end) / 1000
    if start_at < now - LIST_DAYS * 86400:
        return f"startTime = {_second_stamp(start_at)} nu poate fi mai vechi de 60 de zile fata de momentul requestului"
    if end_at <= start_at:
        return f"endTime = {_second_stamp(end_at)} nu poate fi <= startTime = {_second_stamp(start_at)}"
    if end_at > now:
        # §5 pitfall 6: ANAF's clock decides; a client without a margin gets this.
        return f"endTime = {_second_stamp(end_at)} nu poate in viitor fata de momentul requestului"
    if message_filter and message_filter not in MESSAGE_TYPES:
        return "Valorile acceptate pentru parametrul filtru sunt E, T, P sau R"
    return ""


def _list_error(status: int, message: str) -> _Answer:
    return _json_answer(status, {"eroare": message, "titlu": "Lista Mesaje"})


def _messages(simulator: Simulator, cif: str, message_filter: str, *, since: float, until: float) -> list[dict]:
    """The list entries of `cif` for the uploads processed between the two times, newest first."""
    processed = [upload for upload in simulator._store.uploads() if since <= upload["ready_at"] <= until]
    processed.sort(key=lambda upload: (upload["ready_at"], upload["index"]), reverse=True)
    wanted = MESSAGE_TYPES.get(message_filter)
    return [
        entry
        for upload in processed
        for entry in _list_entries(upload, cif)
        if wanted is None or entry["tip"] in wanted
    ]


def _list_entries(upload: dict, cif: str) -> Iterator[dict]:
    """The swagger's EfacturaDetailedMessage; §1.5: the seller sees FACTURA TRIMISA or ERORI FACTURA, the buyer
    FACTURA PRIMITA, and a self-billed invoice gives both."""
    index = upload["index"]

    def entry(kind: str, details: str) -> dict:
        return {
            "data_creare": _minute_stamp(upload["ready_at"]),
            "cif": cif,
            "id_solicitare": str(index),
            "detalii": details,
            "tip": kind,
            "id": str(upload["download_id"]),
        }

    if upload["outcome"] == "nok":
        if upload["cif"] == cif:
            yield entry("ERORI FACTURA", f"Erori de validare identificate la factura primita cu id_incarcare={index}")
        return
    if upload["standard"] == "RASP":
        if upload["cif"] == cif:
            yield entry("MESAJ CUMPARATOR TRANSMIS", f"Mesaj cumparator transmis cu id_incarcare={index}")
        return
    details = (
        f"Factura cu id_incarcare={index} emisa de cif_emitent={upload['seller_cif']} "
        f"pentru cif_beneficiar={upload['buyer_cif']}"
    )
    if upload["cif"] == cif:
        yield entry("FACTURA TRIMISA", details)
    if upload["buyer_cif"] == cif:
        yield entry("FACTURA PRIMITA", details)


# --- validare and transformare (§1.7) ------------------------------------------------------------------------------


def _validare(simulator: Simulator, request: _Request, call: _Call) -> _Answer:
    root = _document_for_validation(call.standard, request.body)
    errors = [root] if isinstance(root, str) else _validation_errors(root, call.standard, request.body)
    return _validation_answer(errors)


def _transformare(simulator: Simulator, request: _Request, call: _Call) -> _Answer:
    root = _document_for_validation(call.standard, request.body)
    if isinstance(root, str):
        return _validation_answer([root])
    errors = [] if call.skip_validation else _validation_errors(root, call.standard, request.body)
    if errors:
        return _validation_answer(errors)
    return _Answer(200, _pdf(_pdf_lines(root)), "application/pdf")


def _document_for_validation(standard: str, body: bytes) -> etree._Element | str:
    if standard not in VALIDATION_STANDARDS:
        return "Valorile acceptate pentru parametrul standard sunt FACT1 si FCN"
    if len(body) > MAX_VALIDATION_BYTES:
        return "Marime fisier transmis mai mare de 5 MB."
    return _parse(body)


def _validation_errors(root: etree._Element, standard: str, body: bytes) -> list[str]:
    mismatch = _root_mismatch(root, VALIDATION_STANDARDS[standard])
    if mismatch:
        return [mismatch]
    return [_anaf_message(finding) for finding in validate(body).fatal]


def _validation_answer(errors: list[str]) -> _Answer:
    """§1.7 and the swagger's validare examples."""
    trace_id = str(uuid.uuid4())
    if not errors:
        return _json_answer(200, {"stare": "ok", "trace_id": trace_id})
    messages = [{"message": message} for message in errors]
    return _json_answer(200, {"stare": "nok", "Messages": messages, "trace_id": trace_id})


def _pdf_lines(root: etree._Element) -> list[str]:
    kind = "Nota de credit" if root.tag == CREDIT_NOTE else "Factura"
    party_name = "cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"
    total = f"{_text(root, 'cac:LegalMonetaryTotal/cbc:PayableAmount')} {_text(root, 'cbc:DocumentCurrencyCode')}"
    return [
        f"{kind} {_text(root, 'cbc:ID')} din {_text(root, 'cbc:IssueDate')}",
        f"Furnizor: {_text(root, f'cac:AccountingSupplierParty/{party_name}')}",
        f"Client: {_text(root, f'cac:AccountingCustomerParty/{party_name}')}",
        f"Total de plata: {total}",
        "Generat de simulatorul RO e-Factura.",
    ]


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF 1.4 showing the lines in Helvetica, with a correct cross-reference table."""
    text = " ".join(f"({_pdf_string(line)}) '" for line in lines)
    content = f"BT /F1 11 Tf 14 TL 56 800 Td {text} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    cross_reference = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, cross_reference)
    return bytes(pdf)


def _pdf_string(text: str) -> str:
    # Helvetica's standard encoding has no ș or ț: letters lose their diacritics, anything else outside Latin-1 is "?".
    plain = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    latin = plain.encode("latin-1", "replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


# --- The OAuth2 token endpoint (§1.2) -------------------------------------------------------------------------------


def _token(simulator: Simulator, request: _Request, call: _Call) -> _Answer:
    client_id = _client_id(simulator, request.authorization)
    if client_id is None:
        # ANAFPY-REF's live probe: a bad client gets {"error":"invalid_client",…} with HTTP 400.
        return _oauth_error("invalid_client", "Client authentication failed")
    form = {name: values[0] for name, values in parse_qs(request.body.decode("utf-8", "replace")).items()}
    grant_type = form.get("grant_type", "")
    if grant_type == "authorization_code":
        return _exchange_code(simulator, form, client_id)
    if grant_type == "refresh_token":
        return _refresh(simulator, form, client_id)
    return _oauth_error("unsupported_grant_type", f"Unsupported grant_type {grant_type!r}")


def _client_id(simulator: Simulator, authorization: str) -> str | None:
    """The client_id of good Basic credentials, else None."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, client_secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    if simulator.client_id is None:
        return client_id or None
    matches = hmac.compare_digest(client_id.encode(), simulator.client_id.encode()) and hmac.compare_digest(
        client_secret.encode(), (simulator.client_secret or "").encode()
    )
    return client_id if matches else None


def _exchange_code(simulator: Simulator, form: dict[str, str], client_id: str) -> _Answer:
    code = form.get("code", "")
    if not code:
        return _oauth_error("invalid_request", "The code parameter is required")
    with simulator._store.locked() as state:
        grant = state["authorization_codes"].pop(code, None)
        if grant is None and simulator.require_token:
            return _oauth_error("invalid_grant", "Unknown or already used authorization code")
        if grant is not None and grant["expires_at"] <= time.time():
            return _oauth_error("invalid_grant", "The authorization code expired")
        if grant is not None and grant["redirect_uri"] and grant["redirect_uri"] != form.get("redirect_uri"):
            return _oauth_error("invalid_grant", "redirect_uri does not match the authorization request")
        tokens = _issue_tokens(state, client_id, simulator.access_token_seconds, simulator.refresh_token_seconds)
    return _json_answer(200, tokens)


def _refresh(simulator: Simulator, form: dict[str, str], client_id: str) -> _Answer:
    with simulator._store.locked() as state:
        claims = _jwt_claims(form.get("refresh_token", ""), state["signing_key"])
        record = state["refresh_tokens"].get(claims.get("jti", "")) if claims.get("token_type") == "Refresh" else None
        if record is None:
            return _oauth_error("invalid_grant", "Invalid refresh token")
        if record["rotated"]:
            state["refresh_token_reuses"] += 1
            return _oauth_error("invalid_grant", "The refresh token was already used")
        if record["expires_at"] <= time.time():
            return _oauth_error("invalid_grant", "The refresh token expired")
        # §1.2 (BEE): refresh tokens rotate; the one just used is dead.
        record["rotated"] = True
        tokens = _issue_tokens(state, client_id, simulator.access_token_seconds, simulator.refresh_token_seconds)
    return _json_answer(200, tokens)


def _authorize(simulator: Simulator, request: _Request) -> _Answer:
    """The browser step, approved at once (no certificate to pick): a redirect to redirect_uri with a code."""
    redirect_uri = request.query.get("redirect_uri", "")
    if request.query.get("response_type") != "code" or not request.query.get("client_id") or not redirect_uri:
        return _oauth_error("invalid_request", "response_type=code, client_id and redirect_uri are required")
    code = simulator.authorization_code(redirect_uri)
    parameters = {"code": code, **({"state": request.query["state"]} if "state" in request.query else {})}
    location = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(parameters)}"
    return _Answer(HTTPStatus.FOUND, b"", "text/plain", (("Location", location),))


def _issue_tokens(state: dict, client_id: str, access_seconds: int, refresh_seconds: int) -> dict[str, Any]:
    now = int(time.time())
    # ANAFPY-REF §7: the claims of ANAF's JWTs.
    claims = {
        "iss": "https://logincert.anaf.ro",
        "iat": now,
        "nbf": now,
        "scope": "clientappid info issuer role serial",
        "role": "EFACTURA",
        "clientappid": client_id,
        "serial": CERTIFICATE_SERIAL,
    }
    access = {**claims, "token_type": "Bearer", "exp": now + access_seconds, "jti": uuid.uuid4().hex}
    refresh = {**claims, "token_type": "Refresh", "exp": now + refresh_seconds, "jti": uuid.uuid4().hex}
    state["access_tokens"][access["jti"]] = access["exp"]
    state["refresh_tokens"][refresh["jti"]] = {"expires_at": refresh["exp"], "rotated": False}
    return {
        "access_token": _jwt(access, state["signing_key"]),
        "token_type": "Bearer",
        "expires_in": access_seconds,
        "refresh_token": _jwt(refresh, state["signing_key"]),
    }


def _new_authorization_code(state: dict, redirect_uri: str) -> str:
    code = secrets.token_urlsafe(24)
    state["authorization_codes"][code] = {
        "expires_at": time.time() + AUTHORIZATION_CODE_SECONDS,
        "redirect_uri": redirect_uri,
    }
    return code


def _access_token_problem(state: dict, token: str, now: float) -> str:
    claims = _jwt_claims(token, state["signing_key"])
    expires_at = state["access_tokens"].get(claims.get("jti", "")) if claims.get("token_type") == "Bearer" else None
    if expires_at is None:
        return "Invalid access token"
    if expires_at <= now:
        return "Access token expired"
    return ""


def _jwt(claims: dict[str, Any], key: str) -> str:
    header = _base64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _base64url(json.dumps(claims).encode())
    signature = hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_base64url(signature)}"


def _jwt_claims(token: str, key: str) -> dict[str, Any]:
    """The claims of a token this simulator signed; {} for anything else."""
    header, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    expected = _base64url(hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
        return {}
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims if isinstance(claims, dict) else {}


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- The admin endpoints (not ANAF's) -------------------------------------------------------------------------------


def _admin(simulator: Simulator, request: _Request) -> _Answer:
    """GET/POST/DELETE /__simulator__/faults, POST /__simulator__/reset, GET /__simulator__/uploads,
    POST /__simulator__/tokens. Never faulted, never authenticated."""
    action = (request.method, request.path[len(ADMIN_PREFIX) :].strip("/"))
    if action == ("GET", "faults"):
        return _json_answer(200, [asdict(fault) for fault in simulator.faults()])
    if action == ("POST", "faults"):
        return _add_faults(simulator, request.body)
    if action == ("DELETE", "faults"):
        simulator.clear_faults()
        return _Answer(HTTPStatus.NO_CONTENT, b"", "text/plain")
    if action == ("POST", "reset"):
        simulator.reset()
        return _Answer(HTTPStatus.NO_CONTENT, b"", "text/plain")
    if action == ("GET", "uploads"):
        return _json_answer(200, [_upload_json(upload) for upload in simulator.accepted_uploads()])
    if action == ("POST", "tokens"):
        return _json_answer(200, simulator.issue_tokens())
    return _json_answer(404, {"error": f"no admin action {request.method} {request.path}"})


def _add_faults(simulator: Simulator, body: bytes) -> _Answer:
    """The body is one fault object or a list of them, with the fields of `Fault` (kind, endpoint, times, seconds,
    status, retry_after); all are checked before any is switched on."""
    try:
        parsed = json.loads(body or b"null")
        objects = parsed if isinstance(parsed, list) else [parsed]
        if not all(isinstance(values, dict) for values in objects):
            raise ValueError("send a fault object, or a list of them")
        faults = [_fault_from(values) for values in objects]
    except ValueError as error:
        return _json_answer(400, {"error": str(error)})
    return _json_answer(201, [asdict(simulator._store.add_fault(fault)) for fault in faults])


def _upload_json(upload: AcceptedUpload) -> dict[str, Any]:
    return {
        **asdict(upload),
        "received_at": upload.received_at.isoformat(),
        "body": upload.body.decode("utf-8", "replace"),
    }


_Handler = Callable[[Simulator, _Request, _Call], _Answer]
_HANDLERS: dict[str, tuple[str, _Handler]] = {
    "upload": ("POST", _upload),
    "uploadb2c": ("POST", _upload),
    "stareMesaj": ("GET", _status),
    "descarcare": ("GET", _download),
    "listaMesajeFactura": ("GET", _simple_list),
    "listaMesajePaginatieFactura": ("GET", _paged_list),
    "validare": ("POST", _validare),
    "transformare": ("POST", _transformare),
    "token": ("POST", _token),
}


# --- Answers that several endpoints share ---------------------------------------------------------------------------


def _header(namespace: str, attributes: dict[str, str], child: str = "", messages: Iterable[str] = ()) -> bytes:
    """ANAF's XML answers: a <header> in the endpoint's namespace, with one child element per message."""
    root = etree.Element(f"{{{namespace}}}header", nsmap={None: namespace})
    for name, value in attributes.items():
        root.set(name, value)
    for message in messages:
        etree.SubElement(root, f"{{{namespace}}}{child}", errorMessage=message)
    return STANDALONE_DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)


def _xml_answer(body: bytes) -> _Answer:
    return _Answer(200, body, "application/xml")


def _json_answer(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> _Answer:
    return _Answer(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json", headers)


def _spring_error(status: int, message: str, *, headers: tuple[tuple[str, str], ...] = ()) -> _Answer:
    """The swagger's GeneralErrorMessage, which ANAF's servers use for HTTP errors."""
    payload = {
        "timestamp": _second_stamp(time.time()),
        "status": int(status),
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    return _json_answer(status, payload, headers)


def _not_found(path: str) -> _Answer:
    """The swagger's 404 example for validare/transformare."""
    timestamp = datetime.now(UTC).isoformat(timespec="milliseconds")
    return _json_answer(404, {"timestamp": timestamp, "status": 404, "error": "Not Found", "path": path})


def _unauthorized(message: str) -> _Answer:
    """§1.2 (REBOOT README): a token ANAF does not take gets 401. The body is not documented."""
    return _spring_error(
        HTTPStatus.UNAUTHORIZED, message, headers=(("WWW-Authenticate", 'Bearer error="invalid_token"'),)
    )


def _oauth_error(error: str, description: str) -> _Answer:
    return _json_answer(400, {"error": error, "error_description": description})


def _firewall_page() -> _Answer:
    """§1.7 and §5 pitfall 3: the F5 firewall's page, served as HTTP 200 text/html."""
    support_id = secrets.randbelow(9 * 10**18) + 10**18
    page = (
        "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. "
        f"Please consult with your administrator.<br><br>Your support ID is: {support_id}<br><br>"
        "<a href='javascript:history.back();'>[Go Back]</a></body></html>"
    )
    return _Answer(200, page.encode(), "text/html; charset=utf-8")


def _technical_error(endpoint: str) -> _Answer:
    """Each endpoint's own way of saying "A aparut o eroare tehnica" (§1.9: retryable)."""
    if endpoint in UPLOAD_ENDPOINTS:
        return _upload_answer(errors=(TECHNICAL_ERROR,))
    if endpoint == "stareMesaj":
        return _status_error(TECHNICAL_ERROR)
    if endpoint == "descarcare":
        return _download_error(TECHNICAL_ERROR)
    if endpoint in ("validare", "transformare"):
        return _validation_answer([TECHNICAL_ERROR])
    return _list_error(200, TECHNICAL_ERROR)


# --- Reading documents ------------------------------------------------------------------------------------------------


def _parse(body: bytes) -> etree._Element | str:
    """The document's root, or ANAF's message for bytes that are not XML."""
    # Entities stay unresolved and nothing is fetched: the bytes come from outside.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        return etree.fromstring(body, parser)
    except etree.XMLSyntaxError as error:
        return (
            f"Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: {error.lineno}; {error.msg}"
        )


def _root_mismatch(root: etree._Element, expected: str) -> str:
    """ANAF reads the document with the schema the standard names; another root fails at its first element."""
    if root.tag == expected:
        return ""
    return (
        "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 1; "
        f"cvc-elt.1.a: Cannot find the declaration of element '{etree.QName(root).localname}'. "
    )


def _anaf_message(finding: Finding) -> str:
    """A finding as ANAF words it: the schema's words at upload (§1.3), the rule id in brackets otherwise (§1.7)."""
    if finding.source == "xsd":
        return f"Fisierul transmis nu este valid. {finding.location}; {finding.message}"
    # ANAF's schematron texts open with their rule id already; the own checks' texts do not.
    tagged = f"[{finding.rule_id}]"
    text = finding.message if finding.message.startswith(tagged) else f"{tagged}-{finding.message}"
    return f"E: validari globale  SCHEMATRON   eroare: {text}"


def _party_cif(root: etree._Element, party: str) -> str:
    """The party's CIF without the RO prefix, "" when it has no numeric one."""
    for path in ("cac:Party/cac:PartyTaxScheme/cbc:CompanyID", "cac:Party/cac:PartyLegalEntity/cbc:CompanyID"):
        value = _text(root, f"{party}/{path}").upper().removeprefix("RO")
        if _is_number(value):
            return value
    return ""


def _text(root: etree._Element, path: str) -> str:
    return " ".join(root.findtext(path, "", NAMESPACES).split())


# --- Small helpers ------------------------------------------------------------------------------------------------


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return _is_integer(value) or isinstance(value, float)


def _minute_stamp(epoch: float) -> str:
    """dateResponse and data_creare: yyyyMMddHHmm, Romanian time."""
    return datetime.fromtimestamp(epoch, ANAF_TIMEZONE).strftime("%Y%m%d%H%M")


def _second_stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, ANAF_TIMEZONE).strftime("%d-%m-%Y %H:%M:%S")


def _anaf_day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, ANAF_TIMEZONE).date().isoformat()


# --- State ----------------------------------------------------------------------------------------------------------


class _Store:
    """The simulator's state in a folder that several processes share.

    state.json holds the counters, tokens, faults and the download-id → upload index; uploads/{index}.json and
    uploads/{index}.xml each upload; archives/{download id}.zip each ZIP. Every read-modify-write holds an exclusive
    fcntl lock on state.lock, and every file is replaced atomically, so files read without the lock are whole."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "uploads").mkdir(parents=True, exist_ok=True)
        (folder / "archives").mkdir(exist_ok=True)
        with self.locked():
            pass  # writes the initial state.json once, whichever process comes first

    @contextmanager
    def locked(self) -> Iterator[dict[str, Any]]:
        """The state under the lock; written back when changed. Never nest: a second lock in the same process
        waits for the first like one from another process."""
        with open(self.folder / "state.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                path = self.folder / "state.json"
                stored = path.read_text() if path.exists() else ""
                state = json.loads(stored) if stored else _initial_state()
                yield state
                if json.dumps(state) != stored:
                    _write_atomically(path, json.dumps(state).encode())
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def accept_upload(self, submission: _Submission, duplicate: bool, processing_seconds: float) -> int:
        """Records an upload and what its processing ends with; answers its index. `duplicate`: the fault fired."""
        now = time.time()
        key = submission.processed.document_key
        with self.locked() as state:
            earlier = state["documents"].get(key) if key else None
            if duplicate and earlier is None:
                earlier = self._record(state, submission, errors=(), received_at=now, ready_at=now, made_up=True)
                if key:
                    state["documents"][key] = earlier
            errors = submission.processed.errors
            if earlier is not None and (duplicate or not errors):
                received_on = _anaf_day(self.upload(earlier)["received_at"])
                errors = (f"Factura a mai fost transmisa anterior cu index={earlier} si data incarcare={received_on}",)
            ready_at = now + processing_seconds
            index = self._record(state, submission, errors=errors, received_at=now, ready_at=ready_at, made_up=False)
            if key and not errors:
                state["documents"][key] = index
        return index

    def _record(
        self,
        state: dict,
        submission: _Submission,
        *,
        errors: tuple[str, ...],
        received_at: float,
        ready_at: float,
        made_up: bool,
    ) -> int:
        index, download_id = state["next_upload_index"], state["next_download_id"]
        state["next_upload_index"] += 1
        state["next_download_id"] += 1
        state["downloads"][str(download_id)] = index
        processed = submission.processed
        content = _error_file(index, processed.seller_cif, errors) if errors else submission.body
        _write_atomically(
            self.folder / "archives" / f"{download_id}.zip", _archive(index, content, state["signing_key"])
        )
        _write_atomically(self.folder / "uploads" / f"{index}.xml", submission.body)
        upload = {
            "index": index,
            "download_id": download_id,
            "endpoint": submission.endpoint,
            "standard": submission.standard,
            "cif": submission.cif,
            "flags": list(submission.flags),
            "received_at": received_at,
            "ready_at": ready_at,
            "outcome": "nok" if errors else "ok",
            "errors": list(errors),
            "seller_cif": processed.seller_cif,
            "buyer_cif": processed.buyer_cif,
            "made_up": made_up,  # invented by the `duplicate` fault as the earlier upload
        }
        self._save_upload(upload)
        return index

    def count_call(self, index: int, counter: str, limit: int, now: float) -> tuple[dict | None, bool]:
        """The upload, and whether one more call today stays within `limit` (counted when it does)."""
        with self.locked():
            upload = self.upload(index)
            if upload is None:
                return None, True
            today = _anaf_day(now)
            calls = upload.get(counter) or {"day": today, "count": 0}
            if calls["day"] != today:
                calls = {"day": today, "count": 0}
            if calls["count"] >= limit:
                return upload, False
            upload[counter] = {"day": today, "count": calls["count"] + 1}
            self._save_upload(upload)
            return upload, True

    def upload(self, index: int) -> dict | None:
        return _read_json(self.folder / "uploads" / f"{index}.json")

    def uploads(self) -> list[dict]:
        """Every upload, by index."""
        uploads = [_read_json(path) for path in (self.folder / "uploads").glob("*.json")]
        return sorted((upload for upload in uploads if upload), key=lambda upload: upload["index"])

    def upload_index_of(self, download_id: int) -> int | None:
        with self.locked() as state:
            return state["downloads"].get(str(download_id))

    def body(self, index: int) -> bytes:
        return (self.folder / "uploads" / f"{index}.xml").read_bytes()

    def archive(self, download_id: int) -> bytes:
        return (self.folder / "archives" / f"{download_id}.zip").read_bytes()

    def add_fault(self, fault: Fault) -> Fault:
        with self.locked() as state:
            stored = replace(fault, id=state["next_fault_id"], created_at=time.time())
            state["next_fault_id"] += 1
            state["faults"].append(asdict(stored))
        return stored

    def take_fault(self, endpoint: str) -> Fault | None:
        """The first fault that applies to a call of `endpoint`, one of its `times` used up."""
        now = time.time()
        with self.locked() as state:
            faults = [fault for fault in map(_fault_of, state["faults"]) if not fault.is_over(now)]
            taken = next((fault for fault in faults if fault.applies_to(endpoint)), None)
            if taken is not None and taken.times is not None:
                faults[faults.index(taken)] = replace(taken, times=taken.times - 1)
            state["faults"] = [asdict(fault) for fault in faults if not fault.is_over(now)]
        return taken

    def faults(self) -> list[Fault]:
        now = time.time()
        with self.locked() as state:
            return [fault for fault in map(_fault_of, state["faults"]) if not fault.is_over(now)]

    def clear_faults(self) -> None:
        with self.locked() as state:
            state["faults"] = []

    def reset(self) -> None:
        with self.locked() as state:
            for folder in ("uploads", "archives"):
                for path in (self.folder / folder).iterdir():
                    path.unlink()
            state.clear()
            state.update(_initial_state())

    def _save_upload(self, upload: dict) -> None:
        _write_atomically(self.folder / "uploads" / f"{upload['index']}.json", json.dumps(upload).encode())


def _initial_state() -> dict[str, Any]:
    return {
        # ANAF-like numbers (index_incarcare 50011…, id 30014…), from a random base so that numbers from before a
        # reset never name a later upload.
        "next_upload_index": 5_001_000_000 + secrets.randbelow(10**8),
        "next_download_id": 3_001_000_000 + secrets.randbelow(10**8),
        "next_fault_id": 1,
        "signing_key": secrets.token_hex(32),
        "downloads": {},
        "documents": {},
        "access_tokens": {},
        "refresh_tokens": {},
        "authorization_codes": {},
        "refresh_token_reuses": 0,
        "faults": [],
    }


def _fault_of(values: dict[str, Any]) -> Fault:
    return Fault(**values)


def _read_json(path: Path) -> dict | None:
    """The file's JSON; None when it is not there (never written, or removed by a reset in another process)."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


# --- The HTTP server ------------------------------------------------------------------------------------------------


class SimulatorServer(ThreadingMixIn, WSGIServer):
    """The simulator on a port, one thread per connection. `url` is its base; e-Factura lives under
    {url}/prod/FCTEL/rest/ and {url}/test/FCTEL/rest/, the token endpoint at {url}/anaf-oauth2/v1/token."""

    daemon_threads = True
    block_on_close = False  # a call held by the `hang` fault must not hold up shutdown
    allow_reuse_address = True

    def __init__(self, host: str, port: int, simulator: Simulator) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _RequestHandler)
        self.simulator = simulator
        self.set_app(simulator)
        self._thread: threading.Thread | None = None

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up in DNS, which can take seconds and tells nothing here.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> "SimulatorServer":
        # shutdown() waits up to one poll interval; socketserver's 0.5 s would make every test wait that long.
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=f"anaf-simulator {self.url}", daemon=True
        )
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stops serving and frees the port."""
        if self._thread is not None:
            super().shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()


def make_server(host: str, port: int, simulator: Simulator) -> SimulatorServer:
    """The server, bound and not yet serving: call serve_forever(), or start() for a thread."""
    return SimulatorServer(host, port, simulator)


def serve(
    host: str = "127.0.0.1", port: int = 0, *, state_dir: str | Path | None = None, simulator: Simulator | None = None
) -> SimulatorServer:
    """A server answering in a thread, on `port` (0: any free port; see `.url`), over `simulator` or a new one
    over `state_dir`. Stop it with `.shutdown()`."""
    return make_server(host, port, simulator or Simulator(state_dir)).start()


class _ServerHandler(ServerHandler):
    severed_by: Exception | None = None

    def handle_error(self) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, DroppedConnection | ConnectionRefused):
            self.severed_by = error  # nothing was written: the client gets no answer at all
            return
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    def handle(self) -> None:
        # WSGIRequestHandler.handle, with a ServerHandler that can leave a request unanswered.
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        if not self.parse_request():
            return
        handler = _ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=False)
        handler.request_handler = self
        handler.run(self.server.get_app())
        if isinstance(handler.severed_by, ConnectionRefused):
            # An immediate RST instead of an orderly close, as from a host that is not there.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

"""HTTP client for ANAF's e-Factura REST API: upload, stareMesaj, the message lists, descarcare, validare and
transformare (see ../shared/reference/anaf-efactura.md, section 1).

Celery workers call it, so it reads no settings and touches no database: the base URL, the token and the
timeouts are passed in. Create one AnafClient per worker process (after the fork) and close it.

ANAF answers most business errors with HTTP 200, in XML, JSON or, from its F5 firewall, an HTML page, and the
namespaces differ per endpoint. So every answer is read by its content (first bytes and elements' local names),
and each failure is an AnafError that says whether the same call can succeed later:

- RetryableError: try again later; nothing was done (network, HTTP 5xx or 429, "eroare tehnica", a firewall
  page, an answer we cannot read);
- AmbiguousUpload, a RetryableError: an upload whose body may have reached ANAF while no usable answer came back.
  ANAF may have filed the document: look for it in the message list before uploading again, or it is filed twice;
- TerminalError: repeating the call cannot help (no rights for the CIF, bad parameters, a daily limit, the 60-day
  download window, a document rejected at upload).

Every exception carries ANAF's answer (`raw`, `status_code`), and every result keeps `raw` for the event log.
"""

import io
import json
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from lxml import etree

# ANAF's timestamps (dateResponse, data_creare) are Romanian local time without an offset.
ANAF_TIME_ZONE = ZoneInfo("Europe/Bucharest")
# The paginated list refuses a startTime older than 60 days or an endTime in the future, both checked against
# ANAF's clock: a second of drift fails the whole request, so the window keeps margins on both sides.
LIST_WINDOW = timedelta(days=60)
LIST_START_MARGIN = timedelta(minutes=5)
LIST_END_MARGIN = timedelta(seconds=60)
SIMPLE_LIST_DAYS = range(1, 61)
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Answers are untrusted input: no entities, no DTD, no network access.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
_CIF = re.compile(r"(?:RO)?\s*(\d{2,10})")
# The rule a message names: "[BR-RO-065]-…" (schematron) or "eroare regula: R6.1: …" (ANAF's own checks).
_RULE_CODE = re.compile(r"\[(?P<bracketed>[A-Za-z][\w.-]*)\]|eroare regula:\s*(?P<named>[A-Za-z][\w.-]*)\s*:")
# Matched on the folded text (lower case, no diacritics) of ANAF's messages.
_TECHNICAL = re.compile(r"eroare tehnica")
_EXPIRED = re.compile(r"nu mai poate fi descarcat|a trecut perioada")
_DAILY_LIMIT = re.compile(r"s-au (facut|incarcat) deja|limita|in cursul zilei")
_NO_MESSAGES = re.compile(r"nu exista mesaje")
_HTML_START = re.compile(rb"<(!doctype\s+html|html)")
# What a body may start with before its first meaningful byte: a UTF-8 byte-order mark and blanks.
_LEADING_NOISE = b"\xef\xbb\xbf \t\r\n"
# A body read through these stops was sent whole; ANAF may have acted on it without our hearing back.
_SENT_WITHOUT_ANSWER = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


class Environment(StrEnum):
    """ANAF's base URLs (API-PDF). Any other base URL works the same way (the simulator serves the same paths)."""

    TEST = "https://api.anaf.ro/test/FCTEL/rest/"
    PROD = "https://api.anaf.ro/prod/FCTEL/rest/"
    # validare and transformare without a token, production only: /test answers 404 for them.
    PUBLIC = "https://webservicesp.anaf.ro/prod/FCTEL/rest/"


class UploadStandard(StrEnum):
    UBL = "UBL"  # an Invoice, including a 380 storno with negative amounts
    CN = "CN"  # a CreditNote (381)
    CII = "CII"
    RASP = "RASP"  # a buyer's message to the seller


class DocumentStandard(StrEnum):
    """How validare and transformare name the documents: FCN for a CreditNote, FACT1 for an Invoice."""

    FACT1 = "FACT1"
    FCN = "FCN"


class MessageFilter(StrEnum):
    ERRORS = "E"
    SENT = "T"
    RECEIVED = "P"
    BUYER_MESSAGE = "R"


class State(StrEnum):
    """stareMesaj's `stare`."""

    OK = "ok"  # processed: the ZIP holds the document signed by the Ministry of Finance
    NOK = "nok"  # refused after processing: the ZIP holds the errors
    PROCESSING = "in prelucrare"
    REJECTED = "XML cu erori nepreluat de sistem"  # refused at upload; the upload's answer said why


@dataclass(frozen=True)
class Timeouts:
    """Seconds. A connect or write timeout means ANAF never got the whole request; a read timeout does not."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 5.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


DEFAULT_TIMEOUTS = Timeouts()


class AnafError(Exception):
    def __init__(self, message: str, *, raw: str = "", status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.raw = raw  # ANAF's answer as text; "" when none came
        self.status_code = status_code  # None when no answer came


class RetryableError(AnafError):
    def __init__(
        self, message: str, *, raw: str = "", status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, raw=raw, status_code=status_code)
        self.retry_after = retry_after  # seconds, from a 429's Retry-After


class AmbiguousUpload(RetryableError):
    """The upload may have been filed: reconcile through the message list before any new upload."""


class TerminalError(AnafError):
    pass


class Unauthorized(TerminalError):
    """HTTP 401: the access token is expired, revoked or not a JWT; refresh it (or authorize again)."""


class DailyLimitReached(TerminalError):
    """A daily limit per message or per CUI; repeating the call today only risks ANAF blocking the application."""


class DownloadExpired(TerminalError):
    """descarcare refuses messages older than 60 days, even when the lists still show them."""


@dataclass(frozen=True)
class ErrorDetail:
    code: str | None  # the rule: "BR-RO-065", "R6.1", "R_BT_32_cui"; None when the message names none
    message: str


@dataclass(frozen=True)
class Upload:
    upload_index: int  # index_incarcare: what stareMesaj takes, and id_solicitare in the lists
    received_at: datetime | None  # dateResponse, to the minute; None if unreadable (the index matters, not this)
    raw: str


@dataclass(frozen=True)
class Status:
    state: State
    download_id: str | None  # id_descarcare, once the state is ok or nok
    raw: str

    @property
    def is_final(self) -> bool:
        return self.state is not State.PROCESSING


@dataclass(frozen=True)
class Download:
    archive: bytes  # the ZIP as ANAF sent it: the legally original document lives in it, keep it as is
    document_name: str
    document: bytes  # the signed invoice, or ANAF's error report after a nok
    signature_name: str
    signature: bytes  # the Ministry of Finance's detached XMLDSig over the document
    is_error_report: bool
    errors: tuple[ErrorDetail, ...]  # the error report's entries, every one of them
    raw: str  # the document's text (the archive itself is binary)


@dataclass(frozen=True)
class Message:
    id: str  # what descarcare takes
    id_solicitare: str | None  # the upload index
    tip: str  # "FACTURA TRIMISA", "FACTURA PRIMITA", "ERORI FACTURA", "MESAJ CUMPARATOR PRIMIT / TRANSMIS"
    data_creare: datetime
    cif: str
    detalii: str  # the only place the issuer's and the buyer's CIF appear


@dataclass(frozen=True)
class MessagesPage:
    messages: tuple[Message, ...]
    page: int
    total_pages: int  # 0 when there are no messages; the simple list is a single page
    total: int
    start: datetime | None  # the window actually asked for, after the clock margins (paginated list only)
    end: datetime | None
    raw: str

    @property
    def has_next_page(self) -> bool:
        return self.page < self.total_pages


@dataclass(frozen=True)
class Validation:
    valid: bool
    errors: tuple[ErrorDetail, ...]
    trace_id: str | None
    raw: str


def numeric_cif(cif: str) -> str:
    """The CIF as ANAF's parameters take it: digits only, without the RO of a VAT number."""
    match = _CIF.fullmatch(cif.strip().upper())
    if match is None:
        raise ValueError(f"{cif!r} is not a Romanian CIF (2 to 10 digits, optionally after RO)")
    return match.group(1)


def with_trailing_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds, whether written as seconds or as an HTTP date."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def transport_failure(error: httpx.TransportError, *, upload: bool) -> RetryableError:
    """No answer came. For an upload it matters whether the body was sent whole before the failure."""
    description = f"{type(error).__name__}: {error}"
    if upload and isinstance(error, _SENT_WITHOUT_ANSWER):
        return AmbiguousUpload(f"The upload was sent but no answer came back ({description})")
    return RetryableError(f"No answer from ANAF ({description})")


class AnafClient:
    def __init__(
        self,
        base_url: str,
        token_provider: Callable[[], str],
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        transport: httpx.BaseTransport | None = None,
        validation_base_url: str | None = None,
    ) -> None:
        """`token_provider` returns the current access token; it is called for every request, so a refreshed
        token is used at once. `validation_base_url` sends validare and transformare elsewhere, without the token
        (Environment.PUBLIC, needed with Environment.TEST, where they do not exist)."""
        self._base_url = with_trailing_slash(base_url)
        self._validation_base_url = with_trailing_slash(validation_base_url or base_url)
        self._validation_needs_token = self._validation_base_url == self._base_url
        self._token_provider = token_provider
        self._http = httpx.Client(timeout=timeouts.to_httpx(), transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "AnafClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- upload ------------------------------------------------------------------------------------------------

    def upload(
        self,
        xml: bytes,
        *,
        cif: str,
        standard: str,
        extern: bool = False,
        autofactura: bool = False,
        executare: bool = False,
    ) -> Upload:
        """Files a document: standard "UBL" for an invoice or a 380 storno, "CN" for a 381 credit note. Never
        repeat it blindly: on AmbiguousUpload the document may already be filed."""
        return self._upload("upload", xml, cif, standard, extern=extern, autofactura=autofactura, executare=executare)

    def upload_b2c(
        self,
        xml: bytes,
        *,
        cif: str,
        standard: str,
        extern: bool = False,
        autofactura: bool = False,
        executare: bool = False,
    ) -> Upload:
        """The same for a buyer who is a consumer (mandatory for B2C since 2025-03-31)."""
        return self._upload(
            "uploadb2c", xml, cif, standard, extern=extern, autofactura=autofactura, executare=executare
        )

    def _upload(self, endpoint: str, xml: bytes, cif: str, standard: str, **options: bool) -> Upload:
        params = {"standard": UploadStandard(standard).value, "cif": numeric_cif(cif)}
        params.update({name: "DA" for name, wanted in options.items() if wanted})  # "DA" is the only value
        answer = self._send(
            "POST", self._base_url + endpoint, params=params, content=xml, content_type="application/xml", upload=True
        )
        answer.raise_json_error()
        header = answer.header()
        errors = _error_messages(header)
        if errors:
            # ExecutionStatus="1": refused synchronously (XSD, rights, parameters), so not filed.
            raise answer.business_error("; ".join(errors))
        index = header.get("index_incarcare", "")
        if header.get("ExecutionStatus") != "0" or not index.isdigit():
            raise answer.unreadable("no index_incarcare")
        return Upload(
            upload_index=int(index), received_at=_anaf_minute_or_none(header.get("dateResponse")), raw=answer.raw
        )

    # --- status and download -----------------------------------------------------------------------------------

    def status(self, upload_index: int) -> Status:
        """stareMesaj: ANAF allows 100 queries per message per day, so poll with backoff."""
        answer = self._send("GET", self._base_url + "stareMesaj", params={"id_incarcare": str(upload_index)})
        answer.raise_json_error()
        header = answer.header()
        stare = header.get("stare")
        if stare is None:
            # An Errors-only answer is about the query (rights, unknown index, a limit), not the document.
            errors = _error_messages(header)
            if errors:
                raise answer.business_error("; ".join(errors))
            raise answer.unreadable("neither stare nor Errors")
        try:
            state = State(stare.strip())
        except ValueError:
            raise answer.unreadable(f"unknown stare {stare!r}") from None
        download_id = header.get("id_descarcare") or None
        if state in (State.OK, State.NOK) and download_id is None:
            raise answer.unreadable(f"stare {stare!r} without id_descarcare")
        return Status(state=state, download_id=download_id, raw=answer.raw)

    def download(self, download_id: str) -> Download:
        """descarcare: 10 downloads per message per day and only for 60 days, so store the archive at once."""
        answer = self._send("GET", self._base_url + "descarcare", params={"id": str(download_id)})
        if not answer.is_zip:
            # Errors (limits, rights, the 60-day expiry) come as JSON with HTTP 200 instead of a ZIP.
            answer.raise_json_error()
            raise answer.unreadable("not a ZIP")
        return _read_archive(answer)

    # --- message lists -----------------------------------------------------------------------------------------

    def messages(
        self,
        *,
        cif: str,
        days: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        filter: str | None = None,
        page: int | None = None,
    ) -> MessagesPage:
        """With `days` (1 to 60), the simple list (listaMesajeFactura, at most 500 messages); otherwise a page of
        the paginated list between `start` and `end` (aware datetimes), which default to the widest window ANAF
        accepts and are narrowed to it. `filter` is a MessageFilter: E, T, P or R."""
        params = {"cif": numeric_cif(cif)}
        if filter is not None:
            params["filtru"] = MessageFilter(filter).value
        if days is None:
            return self._messages_page(params, start, end, page or 1)
        if start is not None or end is not None or page is not None:
            raise ValueError("days asks the simple list, which takes no start, end or page")
        if days not in SIMPLE_LIST_DAYS:
            raise ValueError(f"days must be between 1 and 60, not {days}")
        answer = self._send("GET", self._base_url + "listaMesajeFactura", params={**params, "zile": str(days)})
        return _read_messages(answer, page=1, start=None, end=None)

    def _messages_page(
        self, params: dict[str, str], start: datetime | None, end: datetime | None, page: int
    ) -> MessagesPage:
        start, end = _listable_window(start, end, now=datetime.now(UTC))
        params = {**params, "startTime": _unix_millis(start), "endTime": _unix_millis(end), "pagina": str(page)}
        answer = self._send("GET", self._base_url + "listaMesajePaginatieFactura", params=params)
        return _read_messages(answer, page=page, start=start, end=end)

    # --- validare and transformare -----------------------------------------------------------------------------

    def validate(self, xml: bytes, standard: str) -> Validation:
        """ANAF's own validation, which adds checks local validation cannot run (the CUI checksum R_BT_32_cui,
        the seller's registration R6.1). `standard` is "FCN" for a CreditNote, "FACT1" for an Invoice."""
        answer = self._send_for_validation(f"validare/{DocumentStandard(standard)}", xml)
        body = answer.json_object()
        if body is None:
            raise answer.unreadable("not JSON")
        if body.get("stare") not in ("ok", "nok"):
            raise answer.json_error(body) or answer.unreadable("no stare")
        return Validation(
            valid=body["stare"] == "ok", errors=_validation_errors(body), trace_id=body.get("trace_id"), raw=answer.raw
        )

    def to_pdf(self, xml: bytes, standard: str, validate: bool = True) -> bytes:
        """ANAF's PDF rendering; with validate=False it skips validation (the /DA path, stricter at the firewall)."""
        path = f"transformare/{DocumentStandard(standard)}" + ("" if validate else "/DA")
        answer = self._send_for_validation(path, xml)
        if answer.is_pdf:
            return answer.content
        body = answer.json_object()
        if body is None:
            raise answer.unreadable("neither a PDF nor JSON")
        if body.get("stare") == "nok":
            messages = "; ".join(error.message for error in _validation_errors(body))
            raise TerminalError(f"ANAF found errors: {messages}", raw=answer.raw, status_code=answer.status_code)
        raise answer.json_error(body) or answer.unreadable("JSON without a PDF")

    def _send_for_validation(self, path: str, xml: bytes) -> "_Answer":
        return self._send(
            "POST",
            self._validation_base_url + path,
            content=xml,
            content_type="text/plain",
            authenticated=self._validation_needs_token,
        )

    # --- transport ---------------------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        authenticated: bool = True,
        upload: bool = False,
    ) -> "_Answer":
        headers: dict[str, str] = {}
        if authenticated:
            headers["Authorization"] = f"Bearer {self._token_provider()}"
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            response = self._http.request(method, url, params=params, content=content, headers=headers)
        except httpx.TransportError as error:
            raise transport_failure(error, upload=upload) from error
        answer = _Answer(response, upload=upload)
        answer.raise_for_status()
        return answer


class _Answer:
    """One answer from ANAF, read by its content: the status code alone says little, as business errors are 200."""

    def __init__(self, response: httpx.Response, *, upload: bool) -> None:
        self.content = response.content
        self.status_code = response.status_code
        self._response = response
        # After an upload's body was sent, any unusable answer leaves open whether ANAF filed the document.
        self._upload = upload
        self._start = self.content.lstrip(_LEADING_NOISE)[:512]

    @property
    def raw(self) -> str:
        return self._response.text

    @property
    def is_zip(self) -> bool:
        return self._start.startswith(b"PK\x03\x04")

    @property
    def is_pdf(self) -> bool:
        return self._start.startswith(b"%PDF")

    @property
    def is_html(self) -> bool:
        # By the bytes, not Content-Type: the firewall's page always has an <html> element.
        return self._start.startswith(b"<") and bool(_HTML_START.search(self._start.lower()))

    def raise_for_status(self) -> None:
        """The statuses that mean something whatever the body; 2xx and 400 are left to the endpoint's reader."""
        code = self.status_code
        if code == 429:
            raise RetryableError(
                "Too many requests (ANAF allows 1000 calls a minute)",
                raw=self.raw,
                status_code=code,
                retry_after=retry_after_seconds(self._response),
            )
        if code >= 500:
            # A gateway may answer 502/504 after the application took the upload.
            error_class = AmbiguousUpload if self._upload else RetryableError
            raise error_class(f"HTTP {code} from ANAF", raw=self.raw, status_code=code)
        if code == 401:
            raise Unauthorized("ANAF refused the access token", raw=self.raw, status_code=code)
        if code == 403:
            # ANAF's answer to a path without /{test|prod}/FCTEL/rest as well as to missing rights.
            raise TerminalError("HTTP 403 from ANAF: no rights, or a wrong path", raw=self.raw, status_code=code)
        if not (200 <= code < 300 or code == 400):
            raise TerminalError(f"HTTP {code} from ANAF", raw=self.raw, status_code=code)
        if self.is_html:
            # The F5 firewall's "The requested URL was rejected" page: it stops the request before e-Factura.
            raise RetryableError("ANAF's firewall answered with an HTML page", raw=self.raw, status_code=code)

    def json_object(self) -> dict[str, Any] | None:
        if not self._start.startswith(b"{"):
            return None
        try:
            body = json.loads(self.content)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def header(self) -> etree._Element:
        """The root `header` element of ANAF's XML answers, whatever its namespace."""
        try:
            root = etree.fromstring(self.content, _PARSER)
        except etree.XMLSyntaxError as error:
            raise self.unreadable(f"malformed XML: {error}") from error
        if _local_name(root) != "header":
            raise self.unreadable(f"root element {root.tag!r}, not header")
        return root

    def raise_json_error(self) -> None:
        """For the endpoints that answer XML or a ZIP: a JSON body is an error."""
        body = self.json_object()
        if body is not None:
            raise self.json_error(body) or self.unreadable("JSON without an error")

    def json_error(self, body: dict[str, Any]) -> AnafError | None:
        if isinstance(body.get("eroare"), str):
            return self.business_error(body["eroare"])
        if isinstance(body.get("message"), str):
            # The web framework's HTTP 400: a parameter is missing.
            return TerminalError(body["message"], raw=self.raw, status_code=self.status_code)
        return None

    def business_error(self, message: str) -> AnafError:
        text = _folded(message)
        if _TECHNICAL.search(text):
            error_class: type[AnafError] = RetryableError
        elif _EXPIRED.search(text):
            error_class = DownloadExpired
        elif _DAILY_LIMIT.search(text):
            error_class = DailyLimitReached
        else:
            error_class = TerminalError
        return error_class(message, raw=self.raw, status_code=self.status_code)

    def unreadable(self, why: str) -> AnafError:
        message = f"Unreadable answer from ANAF: {why}"
        if self.status_code == 400:
            return TerminalError(message, raw=self.raw, status_code=self.status_code)
        error_class = AmbiguousUpload if self._upload else RetryableError
        return error_class(message, raw=self.raw, status_code=self.status_code)


def _read_archive(answer: _Answer) -> Download:
    try:
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
            files = [(info.filename, archive.read(info)) for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise answer.unreadable(f"a broken ZIP: {error}") from error
    roots = {name: _xml_root_or_none(content) for name, content in files}
    signatures = [(name, content) for name, content in files if _is_signature(name, roots[name])]
    documents = [(name, content) for name, content in files if not _is_signature(name, roots[name])]
    if len(signatures) != 1 or len(documents) != 1:
        raise answer.unreadable(f"expected a document and its signature, got {[name for name, _ in files]}")
    (document_name, document), (signature_name, signature) = documents[0], signatures[0]
    root = roots[document_name]
    if root is None:
        raise answer.unreadable(f"{document_name} is not XML")
    # The invoice's root is Invoice or CreditNote; ANAF's error report is a `header` of Error elements.
    is_error_report = _local_name(root) == "header"
    errors = tuple(_error_detail(message) for message in _error_messages(root)) if is_error_report else ()
    return Download(
        archive=answer.content,
        document_name=document_name,
        document=document,
        signature_name=signature_name,
        signature=signature,
        is_error_report=is_error_report,
        errors=errors,
        raw=document.decode("utf-8", errors="replace"),
    )


def _is_signature(name: str, root: etree._Element | None) -> bool:
    """ANAF names it semnatura_{index}.xml; its root is XMLDSig's Signature."""
    named_so = PurePosixPath(name).name.lower().startswith("semnatura")
    return named_so or (root is not None and _local_name(root) == "Signature")


def _read_messages(answer: _Answer, *, page: int, start: datetime | None, end: datetime | None) -> MessagesPage:
    body = answer.json_object()
    if body is None:
        raise answer.unreadable("not JSON")
    error = body.get("eroare")
    if isinstance(error, str) and _NO_MESSAGES.search(_folded(error)):
        # "Nu exista mesaje …": an empty list, answered as an error (with HTTP 200 or 400).
        return MessagesPage(messages=(), page=page, total_pages=0, total=0, start=start, end=end, raw=answer.raw)
    listed = body.get("mesaje")
    if not isinstance(listed, list):
        raise answer.json_error(body) or answer.unreadable("no mesaje")
    try:
        messages = tuple(_message(item) for item in listed)
        total_pages = int(body.get("numar_total_pagini", 1))
        total = int(body.get("numar_total_inregistrari", len(messages)))
        page = int(body.get("index_pagina_curenta", page))
    except (KeyError, TypeError, ValueError) as error:
        raise answer.unreadable(f"a message list with {type(error).__name__}: {error}") from error
    return MessagesPage(
        messages=messages, page=page, total_pages=total_pages, total=total, start=start, end=end, raw=answer.raw
    )


def _message(item: dict[str, Any]) -> Message:
    upload_index = item.get("id_solicitare")
    return Message(
        id=str(item["id"]),
        id_solicitare=None if upload_index in (None, "") else str(upload_index),
        tip=str(item["tip"]),
        data_creare=_anaf_minute(str(item["data_creare"])),
        cif=str(item.get("cif", "")),
        detalii=str(item.get("detalii", "")),
    )


def _listable_window(start: datetime | None, end: datetime | None, *, now: datetime) -> tuple[datetime, datetime]:
    for moment in (start, end):
        if moment is not None and moment.tzinfo is None:
            raise ValueError("start and end must be aware datetimes: ANAF's clock is Romanian time")
    earliest = now - LIST_WINDOW + LIST_START_MARGIN
    latest = now - LIST_END_MARGIN
    # ANAF takes milliseconds: the start rounds up and the end down, so rounding never leaves the window.
    start = _to_millisecond(earliest if start is None else max(start, earliest), up=True)
    end = _to_millisecond(latest if end is None else min(end, latest), up=False)
    if end <= start:
        raise ValueError(f"nothing ANAF can list: the window ends at {end} before it starts at {start}")
    return start, end


def _validation_errors(body: dict[str, Any]) -> tuple[ErrorDetail, ...]:
    entries = body.get("Messages") or []
    return tuple(
        _error_detail(entry["message"])
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("message"), str)
    )


def _error_messages(root: etree._Element) -> list[str]:
    """errorMessage of the Errors (upload, stareMesaj) or Error (the error report) elements, in any namespace."""
    return [
        element.get("errorMessage", "")
        for element in root.iter(etree.Element)
        if _local_name(element) in ("Errors", "Error") and element.get("errorMessage")
    ]


def _error_detail(message: str) -> ErrorDetail:
    match = _RULE_CODE.search(message)
    code = (match["bracketed"] or match["named"]) if match else None
    return ErrorDetail(code=code, message=message.strip())


def _xml_root_or_none(content: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError:
        return None


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def _folded(text: str) -> str:
    """Lower case without diacritics, so "tehnică" and "tehnica" read alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def _anaf_minute(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=ANAF_TIME_ZONE)


def _anaf_minute_or_none(text: str | None) -> datetime | None:
    try:
        return _anaf_minute(text or "")
    except ValueError:
        return None


def _to_millisecond(moment: datetime, *, up: bool) -> datetime:
    excess = timedelta(microseconds=moment.microsecond % 1000)
    if not excess:
        return moment
    return moment - excess + (timedelta(milliseconds=1) if up else timedelta(0))


def _unix_millis(moment: datetime) -> str:
    return str((moment - _UNIX_EPOCH) // timedelta(milliseconds=1))

"""einvoice.anaf.client and einvoice.anaf.oauth against a real HTTP server on loopback, serving ANAF's answers as
its OpenAPI files and the reference document show them (../shared/validation/anaf-api, anaf-efactura.md)."""

import base64
import io
import json
import socket
import struct
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from einvoice.anaf import oauth
from einvoice.anaf.client import (
    ANAF_TIME_ZONE,
    AmbiguousUpload,
    AnafClient,
    DailyLimitReached,
    DownloadExpired,
    Environment,
    ErrorDetail,
    RetryableError,
    State,
    TerminalError,
    Timeouts,
    Unauthorized,
    numeric_cif,
)

# Short enough for a fast suite, long enough for loopback on a busy machine.
FAST = Timeouts(connect=1.0, read=0.3, write=1.0, pool=1.0)
TOKEN = "access-token-1"
PREFIX = "/test/FCTEL/rest/"
DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>'
)

# --- ANAF's answers (upload.json, lista.json, validare.json, the reference's samples) ------------------------------

UPLOAD_OK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    '<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202108051140" ExecutionStatus="0" '
    'index_incarcare="3828"/>'
)


def upload_error(message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202108051144" ExecutionStatus="1">\r\n'
        f'    <Errors errorMessage="{message}"/>\r\n</header>'
    )


def status_answer(attributes: str = "", errors: str = "") -> str:
    body = f'\n    <Errors errorMessage="{errors}"/>\n' if errors else ""
    header = f'<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1"{attributes}'
    header += f">{body}</header>" if body else "/>"
    return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + header


SAX_ERROR = (
    "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 15; columnNumber: 155; "
    "cvc-elt.1.a: Cannot find the declaration of element 'Invoice1'. "
)
ERROR_REPORT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<header xmlns="mfp:anaf:dgti:efactura:mesajEroriFactuta:v1" Index_incarcare="3828" Cif_emitent="47024170">\n'
    '    <Error errorMessage="E: validari globale&#xA; eroare regula: R6.1: CIF-ul vanzatorului nu figureaza in baza '
    'de date:6443019833"/>\n'
    '    <Error errorMessage="E: validari globale  SCHEMATRON   eroare: [BR-RO-065]-Codul tipului facturii (BT-3) '
    'trebuie sa fie unul din: 380 384 389 751 381"/>\n'
    "</header>"
)
SIGNATURE = (
    '<?xml version="1.0" encoding="UTF-8"?><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/>'
    "<SignatureValue>AAAA</SignatureValue></Signature>"
)
PAGE = {
    "mesaje": [
        {
            "data_creare": "202210311452",
            "cif": "8000000000",
            "id_solicitare": "5001120362",
            "detalii": "Erori de validare identificate la factura primita cu id_incarcare=5001120362",
            "tip": "ERORI FACTURA",
            "id": "3001474425",
        },
        {
            "data_creare": "202210311452",
            "cif": "8000000000",
            "id_solicitare": "5001120366",
            "detalii": "Erori de validare identificate la factura primita cu id_incarcare=5001120366",
            "tip": "ERORI FACTURA",
            "id": "3001474424",
        },
    ],
    "numar_inregistrari_in_pagina": 2,
    "numar_total_inregistrari_per_pagina": 500,
    "numar_total_inregistrari": 14130,
    "numar_total_pagini": 29,
    "index_pagina_curenta": 28,
    "serial": "1234AA456",
    "cui": "8000000000",
    "titlu": "Lista Mesaje disponibile din intervalul 06-09-2022 09:48:20 - 02-11-2022 11:49:24",
}
SIMPLE_LIST = {
    "mesaje": [
        {
            "data_creare": "202211011336",
            "cif": "8000000000",
            "id_solicitare": "5001131297",
            "detalii": "Factura cu id_incarcare=5001131297 emisa de cif_emitent=8000000000 pentru cif_beneficiar=3",
            "tip": "FACTURA TRIMISA",
            "id": "3001503294",
        }
    ],
    "serial": "1234AA456",
    "cui": "8000000000",
    "titlu": "Lista Mesaje disponibile din ultimele 1 zile",
}
VALIDATION_NOK = {
    "stare": "nok",
    "Messages": [
        {
            "message": "E: validari globale  SCHEMATRON   eroare: [BR-RO-110]-Daca Codul ţării vânzătorului (BT-40) "
            "este  RO , atunci Subdiviziunea ţării vânzătorului (BT-39) trebuie să fie codificată"
        },
        {
            "message": "E: AccountingSupplierParty (1) sectiune Party (1) sectiune PartyTaxScheme (1) sectiune "
            "CompanyID (1)  eroare regula: R_BT_32_cui: Cui vanzator incorect / validare CUI (1234) "
        },
    ],
    "trace_id": "2c9b28f2-be33-4d",
}
FIREWALL_PAGE = (
    "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with "
    "your administrator.<br><br>Your support ID is: 1234567890123456789<br><br>"
    "<a href='javascript:history.back();'>[Go Back]</a></body></html>"
)


def lista_error(message: str, title: str = "Lista Mesaje") -> str:
    return json.dumps({"eroare": message, "titlu": title})


def zipped(*files: tuple[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            archive.writestr(name, content)
    return buffer.getvalue()


def jwt(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS512', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


# --- The fake ANAF: a real HTTP server on loopback ------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Canned:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/xml"
    headers: dict[str, str] = field(default_factory=dict)
    behaviour: str = "answer"  # "answer"; "stall": read the body, never answer; "reset": read the body, reset


class FakeAnaf:
    def __init__(self) -> None:
        self.canned = Canned()
        self.received: list[Received] = []
        self.released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        # A short poll interval, or shutting the server down takes half a second per test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.origin + PREFIX

    @property
    def last(self) -> Received:
        return self.received[-1]

    def answer(
        self,
        body: str | bytes,
        *,
        status: int = 200,
        content_type: str = "application/xml",
        headers: dict[str, str] | None = None,
    ) -> None:
        content = body.encode() if isinstance(body, str) else body
        self.canned = Canned(content, status, content_type, headers or {})

    def answer_json(self, body: object, *, status: int = 200) -> None:
        self.answer(body if isinstance(body, str) else json.dumps(body), status=status, content_type="application/json")

    def misbehave(self, behaviour: str) -> None:
        self.canned = Canned(behaviour=behaviour)

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        fake: FakeAnaf = self.server.fake  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake.received.append(Received(self.command, url.path, dict(parse_qsl(url.query)), headers, body))
        canned = fake.canned
        if canned.behaviour == "stall":
            fake.released.wait(timeout=5)
            self.close_connection = True
            return
        if canned.behaviour == "reset":
            # SO_LINGER with a zero timeout: closing sends RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # before socketserver's shutdown(SHUT_WR), which would send a FIN first
            self.close_connection = True
            return
        self.send_response(canned.status)
        self.send_header("Content-Type", canned.content_type)
        self.send_header("Content-Length", str(len(canned.body)))
        for name, value in canned.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(canned.body)


@pytest.fixture
def anaf() -> Iterator[FakeAnaf]:
    fake = FakeAnaf()
    yield fake
    fake.stop()


@pytest.fixture
def client(anaf: FakeAnaf) -> Iterator[AnafClient]:
    with AnafClient(anaf.base_url, token_provider=lambda: TOKEN, timeouts=FAST) as anaf_client:
        yield anaf_client


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port bound but not listening: connecting is refused at once, and no other test can take it meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


# --- Configuration ----------------------------------------------------------------------------------------------


def test_environments_are_anafs_hosts() -> None:
    assert Environment.TEST == "https://api.anaf.ro/test/FCTEL/rest/"
    assert Environment.PROD == "https://api.anaf.ro/prod/FCTEL/rest/"
    assert Environment.PUBLIC == "https://webservicesp.anaf.ro/prod/FCTEL/rest/"


def test_default_timeouts() -> None:
    assert Timeouts() == Timeouts(connect=5.0, read=30.0, write=30.0, pool=5.0)


@pytest.mark.parametrize(
    ("written", "numeric"), [("RO12345678", "12345678"), (" ro 123 ", "123"), ("47024170", "47024170")]
)
def test_numeric_cif_drops_the_ro_prefix(written: str, numeric: str) -> None:
    assert numeric_cif(written) == numeric


@pytest.mark.parametrize("written", ["", "RO", "123a", "DE123456789", "12345678901"])
def test_numeric_cif_refuses_what_anaf_refuses(written: str) -> None:
    with pytest.raises(ValueError):
        numeric_cif(written)


# --- upload -----------------------------------------------------------------------------------------------------


def test_upload_sends_the_document_and_reads_the_index(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer(UPLOAD_OK)

    upload = client.upload(DOCUMENT, cif="RO47024170", standard="CN")

    assert upload.upload_index == 3828
    assert upload.received_at == datetime(2021, 8, 5, 11, 40, tzinfo=ANAF_TIME_ZONE)
    assert upload.raw == UPLOAD_OK
    request = anaf.last
    assert (request.method, request.path) == ("POST", PREFIX + "upload")
    assert request.query == {"standard": "CN", "cif": "47024170"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/xml"
    assert request.body == DOCUMENT


def test_upload_options_are_sent_as_da(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer(UPLOAD_OK)

    client.upload(DOCUMENT, cif="47024170", standard="UBL", extern=True, executare=True)

    assert anaf.last.query == {"standard": "UBL", "cif": "47024170", "extern": "DA", "executare": "DA"}


def test_upload_b2c_uses_its_own_endpoint(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer(UPLOAD_OK)

    assert client.upload_b2c(DOCUMENT, cif="47024170", standard="UBL", autofactura=True).upload_index == 3828
    assert anaf.last.path == PREFIX + "uploadb2c"
    assert anaf.last.query["autofactura"] == "DA"


@pytest.mark.parametrize(("cif", "standard"), [("RO12ab", "UBL"), ("47024170", "FCN"), ("47024170", "ubl")])
def test_upload_refuses_bad_arguments_without_calling_anaf(
    anaf: FakeAnaf, client: AnafClient, cif: str, standard: str
) -> None:
    with pytest.raises(ValueError):
        client.upload(DOCUMENT, cif=cif, standard=standard)
    assert anaf.received == []


@pytest.mark.parametrize(
    "message",
    [SAX_ERROR, "Nu aveti drept in SPV pentru CIF=1234", "Valorile acceptate pentru parametrul standard sunt UBL, CN"],
)
def test_upload_refused_at_upload_is_terminal(anaf: FakeAnaf, client: AnafClient, message: str) -> None:
    anaf.answer(upload_error(message))

    with pytest.raises(TerminalError) as raised:
        client.upload(DOCUMENT, cif="47024170", standard="UBL")

    assert type(raised.value) is TerminalError
    assert raised.value.message == message
    assert raised.value.raw == upload_error(message)
    assert raised.value.status_code == 200


def test_upload_rasp_daily_limit(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer(upload_error("S-au incarcat deja 1000 de mesaje de tip RASP pentru cui=1234 in cursul zile"))

    with pytest.raises(DailyLimitReached):
        client.upload(DOCUMENT, cif="47024170", standard="RASP")


def test_upload_technical_error_is_retryable_and_not_ambiguous(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer(upload_error("A aparut o eroare tehnica. Cod: XXX"))

    with pytest.raises(RetryableError) as raised:
        client.upload(DOCUMENT, cif="47024170", standard="UBL")

    assert not isinstance(raised.value, AmbiguousUpload)
    assert "eroare tehnica" in raised.value.message


def test_upload_bad_request_json_is_terminal(anaf: FakeAnaf, client: AnafClient) -> None:
    answer = {
        "timestamp": "05-08-2021 12:04:01",
        "status": 400,
        "error": "Bad Request",
        "message": "Trebuie sa aveti atasat in request un fisier de tip xml",
    }
    anaf.answer_json(answer, status=400)

    with pytest.raises(TerminalError) as raised:
        client.upload(DOCUMENT, cif="47024170", standard="UBL")

    assert raised.value.message == "Trebuie sa aveti atasat in request un fisier de tip xml"
    assert raised.value.status_code == 400
    assert json.loads(raised.value.raw) == answer


def test_upload_unreadable_answer_is_ambiguous(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer('<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" ExecutionStatus="0"')

    with pytest.raises(AmbiguousUpload) as raised:
        client.upload(DOCUMENT, cif="47024170", standard="UBL")

    assert raised.value.raw.startswith("<header")


def test_upload_server_error_is_ambiguous(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer_json({"status": 500, "error": "Internal Server Error"}, status=500)

    with pytest.raises(AmbiguousUpload) as raised:
        client.upload(DOCUMENT, cif="47024170", standard="UBL")

    assert raised.value.status_code == 500


def test_upload_firewall_page_is_retryable_not_ambiguous(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer(FIREWALL_PAGE, content_type="text/html; charset=utf-8")

    with pytest.raises(RetryableError) as raised:
        client.upload(DOCUMENT, cif="47024170", standard="UBL")

    assert not isinstance(raised.value, AmbiguousUpload)
    assert "The requested URL was rejected" in raised.value.raw
    assert raised.value.status_code == 200


def test_upload_unanswered_after_the_body_arrived_is_ambiguous(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.misbehave("stall")

    with pytest.raises(AmbiguousUpload) as raised:
        client.upload(DOCUMENT, cif="47024170", standard="UBL")

    assert anaf.last.body == DOCUMENT  # ANAF has the document, we have no index
    assert "ReadTimeout" in raised.value.message
    assert raised.value.status_code is None


def test_upload_reset_after_the_body_arrived_is_ambiguous(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.misbehave("reset")

    with pytest.raises(AmbiguousUpload):
        client.upload(DOCUMENT, cif="47024170", standard="UBL")

    assert anaf.last.body == DOCUMENT


def test_upload_to_a_refusing_port_is_retryable_not_ambiguous(refusing_port: int) -> None:
    base_url = f"http://127.0.0.1:{refusing_port}{PREFIX}"
    with AnafClient(base_url, token_provider=lambda: TOKEN, timeouts=FAST) as refused:
        with pytest.raises(RetryableError) as raised:
            refused.upload(DOCUMENT, cif="47024170", standard="UBL")

    assert not isinstance(raised.value, AmbiguousUpload)
    assert "ConnectError" in raised.value.message
    assert (raised.value.raw, raised.value.status_code) == ("", None)


@pytest.mark.parametrize(
    "failure", [httpx.ConnectTimeout("connect"), httpx.WriteTimeout("write"), httpx.PoolTimeout("pool")]
)
def test_upload_failing_before_the_body_was_sent_is_not_ambiguous(failure: httpx.TransportError) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    with AnafClient(Environment.TEST, lambda: TOKEN, transport=httpx.MockTransport(fail)) as failing:
        with pytest.raises(RetryableError) as raised:
            failing.upload(DOCUMENT, cif="47024170", standard="UBL")

    assert not isinstance(raised.value, AmbiguousUpload)


# --- stareMesaj -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "state", "download_id", "final"),
    [
        (' stare="ok" id_descarcare="1234"', State.OK, "1234", True),
        (' stare="nok" id_descarcare="123"', State.NOK, "123", True),
        (' stare="in prelucrare"', State.PROCESSING, None, False),
        (' stare="XML cu erori nepreluat de sistem"', State.REJECTED, None, True),
    ],
)
def test_status_states(
    anaf: FakeAnaf, client: AnafClient, attributes: str, state: State, download_id: str | None, final: bool
) -> None:
    anaf.answer(status_answer(attributes))

    status = client.status(3828)

    assert (status.state, status.download_id, status.is_final) == (state, download_id, final)
    assert status.raw == status_answer(attributes)
    assert (anaf.last.method, anaf.last.path, anaf.last.query) == (
        "GET",
        PREFIX + "stareMesaj",
        {"id_incarcare": "3828"},
    )
    assert anaf.last.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("message", "error_class"),
    [
        ("Nu exista factura cu id_incarcare= 15000", TerminalError),
        ("Nu aveti dreptul de inteorgare pentru id_incarcare= 18", TerminalError),
        ("Id_incarcare introdus= aaa nu este un numar intreg", TerminalError),
        ("S-au facut deja 20 descarcari de mesaj in cursul zilei", DailyLimitReached),
    ],
)
def test_status_errors_about_the_query(
    anaf: FakeAnaf, client: AnafClient, message: str, error_class: type[TerminalError]
) -> None:
    anaf.answer(status_answer(errors=message))

    with pytest.raises(error_class) as raised:
        client.status(15000)

    assert type(raised.value) is error_class
    assert raised.value.message == message
    assert "stareMesajFactura" in raised.value.raw


@pytest.mark.parametrize(
    "answer", ['<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1" stare="ok"', status_answer(' stare="ok"')]
)
def test_status_malformed_is_retryable(anaf: FakeAnaf, client: AnafClient, answer: str) -> None:
    anaf.answer(answer)

    with pytest.raises(RetryableError) as raised:
        client.status(3828)

    assert not isinstance(raised.value, AmbiguousUpload)
    assert raised.value.raw == answer


def test_status_server_error_is_retryable(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer("Internal Server Error", status=500, content_type="text/plain")

    with pytest.raises(RetryableError) as raised:
        client.status(3828)

    assert not isinstance(raised.value, AmbiguousUpload)
    assert (raised.value.status_code, raised.value.raw) == (500, "Internal Server Error")


def test_status_unanswered_is_retryable_not_ambiguous(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.misbehave("stall")

    with pytest.raises(RetryableError) as raised:
        client.status(3828)

    assert not isinstance(raised.value, AmbiguousUpload)


def test_bad_request_without_a_readable_body_is_terminal(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer("Bad Request", status=400, content_type="text/plain")

    with pytest.raises(TerminalError) as raised:
        client.status(3828)

    assert (raised.value.raw, raised.value.status_code) == ("Bad Request", 400)


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), (None, None)])
def test_too_many_requests(anaf: FakeAnaf, client: AnafClient, header: str | None, seconds: float | None) -> None:
    anaf.answer(
        "Too Many Requests", status=429, content_type="text/plain", headers={"Retry-After": header} if header else {}
    )

    with pytest.raises(RetryableError) as raised:
        client.status(3828)

    assert (raised.value.retry_after, raised.value.status_code) == (seconds, 429)


def test_retry_after_as_an_http_date(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer("", status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

    with pytest.raises(RetryableError) as raised:
        client.status(3828)

    assert raised.value.retry_after == 0.0  # a date in the past: no wait


@pytest.mark.parametrize(
    ("status_code", "error_class"), [(401, Unauthorized), (403, TerminalError), (404, TerminalError)]
)
def test_refusals_by_status_code(
    anaf: FakeAnaf, client: AnafClient, status_code: int, error_class: type[TerminalError]
) -> None:
    anaf.answer_json({"status": status_code}, status=status_code)

    with pytest.raises(error_class) as raised:
        client.status(3828)

    assert type(raised.value) is error_class
    assert raised.value.status_code == status_code


def test_token_is_asked_for_every_request(anaf: FakeAnaf) -> None:
    tokens = iter(["first", "second"])
    anaf.answer(status_answer(' stare="in prelucrare"'))
    with AnafClient(anaf.base_url, token_provider=lambda: next(tokens), timeouts=FAST) as rotating:
        rotating.status(1)
        rotating.status(1)

    assert [request.headers["authorization"] for request in anaf.received] == ["Bearer first", "Bearer second"]


# --- descarcare -------------------------------------------------------------------------------------------------


def test_download_of_an_accepted_invoice(anaf: FakeAnaf, client: AnafClient) -> None:
    # The signature first: the two files are told apart by name and content, not by their order.
    archive = zipped(("semnatura_3828.xml", SIGNATURE), ("3828.xml", DOCUMENT.decode()))
    anaf.answer(archive, content_type="application/octet-stream")

    download = client.download("1234")

    assert download.archive == archive
    assert (download.document_name, download.document) == ("3828.xml", DOCUMENT)
    assert (download.signature_name, download.signature) == ("semnatura_3828.xml", SIGNATURE.encode())
    assert (download.is_error_report, download.errors) == (False, ())
    assert download.raw == DOCUMENT.decode()
    assert (anaf.last.path, anaf.last.query) == (PREFIX + "descarcare", {"id": "1234"})


@pytest.mark.parametrize(
    ("signature_name", "signature"),
    [("3828.sig.xml", SIGNATURE), ("semnatura_3828.xml", "MIIB signature in another format")],
)
def test_download_tells_the_signature_by_its_content_or_its_name(
    anaf: FakeAnaf, client: AnafClient, signature_name: str, signature: str
) -> None:
    anaf.answer(zipped(("3828.xml", DOCUMENT.decode()), (signature_name, signature)))

    download = client.download("1234")

    assert (download.document_name, download.signature_name) == ("3828.xml", signature_name)


def test_download_after_nok_reads_every_error(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer(zipped(("3828.xml", ERROR_REPORT), ("semnatura_3828.xml", SIGNATURE)))

    download = client.download("1234")

    assert download.is_error_report
    assert [error.code for error in download.errors] == ["R6.1", "BR-RO-065"]
    assert download.errors[0] == ErrorDetail(
        code="R6.1",
        message="E: validari globale\n eroare regula: R6.1: CIF-ul vanzatorului nu figureaza in baza de "
        "date:6443019833",
    )
    assert download.raw == ERROR_REPORT


def test_download_of_a_duplicate_has_an_error_without_a_rule(anaf: FakeAnaf, client: AnafClient) -> None:
    report = (
        '<header xmlns="mfp:anaf:dgti:efactura:mesajEroriFactuta:v1" Index_incarcare="3829" Cif_emitent="47024170">'
        '<Error errorMessage="Factura a mai fost transmisa anterior cu index=3828 si data incarcare=2025-02-13"/>'
        "</header>"
    )
    anaf.answer(zipped(("3828.xml", report), ("semnatura_3828.xml", SIGNATURE)))

    assert [error.code for error in client.download("1234").errors] == [None]


@pytest.mark.parametrize(
    ("message", "error_class"),
    [
        ("S-au facut deja 10 descarcari de mesaj in cursul zilei", DailyLimitReached),
        (
            "Fisierul nu mai poate fi descarcat pentru ca a trecut perioada de 60 de zile in care este disponibil",
            DownloadExpired,
        ),
        ("Nu aveti dreptul sa descarcati acesta factura", TerminalError),
        ("Pentru id=21 nu exista inregistrata nici o factura", TerminalError),
    ],
)
def test_download_errors_come_as_json_with_200(
    anaf: FakeAnaf, client: AnafClient, message: str, error_class: type[TerminalError]
) -> None:
    anaf.answer_json(lista_error(message, title="Descarcare mesaj"))

    with pytest.raises(error_class) as raised:
        client.download("21")

    assert type(raised.value) is error_class
    assert raised.value.raw == lista_error(message, title="Descarcare mesaj")


@pytest.mark.parametrize(
    "archive",
    [
        b"PK\x03\x04 not really a zip",
        zipped(("3828.xml", DOCUMENT.decode())),
        zipped(("3828.xml", "not xml"), ("semnatura_3828.xml", SIGNATURE)),
    ],
)
def test_download_broken_archive_is_retryable(anaf: FakeAnaf, client: AnafClient, archive: bytes) -> None:
    anaf.answer(archive, content_type="application/zip")

    with pytest.raises(RetryableError):
        client.download("1234")


# --- message lists ----------------------------------------------------------------------------------------------


def test_paginated_list(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer_json(PAGE)
    start = (datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0)
    end = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)

    page = client.messages(cif="RO8000000000", start=start, end=end, filter="E", page=28)

    assert (page.page, page.total_pages, page.total, page.has_next_page) == (28, 29, 14130, True)
    assert (page.start, page.end) == (start, end)
    assert page.messages[0].id == "3001474425"
    assert page.messages[0].id_solicitare == "5001120362"
    assert page.messages[0].tip == "ERORI FACTURA"
    assert page.messages[0].data_creare == datetime(2022, 10, 31, 14, 52, tzinfo=ANAF_TIME_ZONE)
    assert page.messages[0].cif == "8000000000"
    assert "id_incarcare=5001120362" in page.messages[0].detalii
    assert page.raw == json.dumps(PAGE)
    assert anaf.last.path == PREFIX + "listaMesajePaginatieFactura"
    assert anaf.last.query == {
        "cif": "8000000000",
        "filtru": "E",
        "startTime": str(int(start.timestamp() * 1000)),
        "endTime": str(int(end.timestamp() * 1000)),
        "pagina": "28",
    }


def test_paginated_list_keeps_clear_of_anafs_clock(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer_json(PAGE)
    before = datetime.now(UTC)

    page = client.messages(cif="8000000000", start=before - timedelta(days=90), end=before + timedelta(days=1))

    after = datetime.now(UTC)
    start_ms, end_ms = int(anaf.last.query["startTime"]), int(anaf.last.query["endTime"])
    # Not older than 60 days minus 5 minutes, not later than a minute ago, whatever ANAF's clock says.
    assert start_ms >= (before - timedelta(days=60) + timedelta(minutes=5)).timestamp() * 1000
    assert end_ms <= (after - timedelta(seconds=60)).timestamp() * 1000
    assert anaf.last.query["pagina"] == "1"
    assert page.start is not None and page.end is not None
    assert (page.end - page.start) < timedelta(days=60)


@pytest.mark.parametrize("status_code", [200, 400])
def test_no_messages_is_an_empty_page(anaf: FakeAnaf, client: AnafClient, status_code: int) -> None:
    anaf.answer_json(lista_error("Nu exista mesaje in intervalul selectat"), status=status_code)

    page = client.messages(cif="8000000000")

    assert (page.messages, page.total, page.has_next_page) == ((), 0, False)


@pytest.mark.parametrize(
    ("message", "status_code", "error_class"),
    [
        ("Nu aveti drept in SPV pentru CIF=8000000000", 400, TerminalError),
        ("Pagina solicitata 50 este mai mare decat numarul toatal de pagini 29", 400, TerminalError),
        ("S-au facut deja 1000 interogari de lista mesaje de catre utilizator in cursul zilei", 200, DailyLimitReached),
    ],
)
def test_list_errors(
    anaf: FakeAnaf, client: AnafClient, message: str, status_code: int, error_class: type[TerminalError]
) -> None:
    anaf.answer_json(lista_error(message), status=status_code)

    with pytest.raises(error_class) as raised:
        client.messages(cif="8000000000")

    assert type(raised.value) is error_class
    assert (raised.value.message, raised.value.status_code) == (message, status_code)


def test_simple_list(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer_json(SIMPLE_LIST)

    page = client.messages(cif="8000000000", days=1, filter="T")

    assert [message.id for message in page.messages] == ["3001503294"]
    assert (page.page, page.total_pages, page.total, page.start) == (1, 1, 1, None)
    assert anaf.last.path == PREFIX + "listaMesajeFactura"
    assert anaf.last.query == {"cif": "8000000000", "filtru": "T", "zile": "1"}


def test_simple_list_over_500_messages_is_terminal(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer_json(
        lista_error(
            "Lista de mesaje este mai mare decat numarul de 500 elemente permise in pagina. Folositi endpoint-ul cu "
            "paginatie."
        )
    )

    with pytest.raises(TerminalError):
        client.messages(cif="8000000000", days=60)


@pytest.mark.parametrize(
    "arguments",
    [
        {"days": 0},
        {"days": 61},
        {"days": 1, "page": 2},
        {"start": datetime(2026, 1, 1)},  # naive
        {"start": datetime.now(UTC) - timedelta(days=80), "end": datetime.now(UTC) - timedelta(days=70)},
        {"filter": "X"},
    ],
)
def test_list_refuses_bad_arguments_without_calling_anaf(
    anaf: FakeAnaf, client: AnafClient, arguments: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        client.messages(cif="8000000000", **arguments)  # type: ignore[arg-type]
    assert anaf.received == []


# --- validare and transformare ----------------------------------------------------------------------------------


def test_validate_ok(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer_json({"stare": "ok", "trace_id": "c8c9da20-843f-4130-91d1-4ee8b0baaa30"})

    validation = client.validate(DOCUMENT, "FCN")

    assert (validation.valid, validation.errors) == (True, ())
    assert validation.trace_id == "c8c9da20-843f-4130-91d1-4ee8b0baaa30"
    assert (anaf.last.path, anaf.last.body) == (PREFIX + "validare/FCN", DOCUMENT)
    assert anaf.last.headers["content-type"] == "text/plain"
    assert anaf.last.headers["authorization"] == f"Bearer {TOKEN}"


def test_validate_nok_lists_the_rules(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer_json(VALIDATION_NOK)

    validation = client.validate(DOCUMENT, "FACT1")

    assert not validation.valid
    assert [error.code for error in validation.errors] == ["BR-RO-110", "R_BT_32_cui"]
    assert json.loads(validation.raw) == VALIDATION_NOK


def test_validation_on_the_public_host_goes_without_the_token(anaf: FakeAnaf) -> None:
    anaf.answer_json({"stare": "ok", "trace_id": "t"})
    public = anaf.origin + "/prod/FCTEL/rest"
    with AnafClient(anaf.base_url, lambda: TOKEN, timeouts=FAST, validation_base_url=public) as split:
        split.validate(DOCUMENT, "FCN")

    assert anaf.last.path == "/prod/FCTEL/rest/validare/FCN"
    assert "authorization" not in anaf.last.headers


def test_validate_refuses_an_unknown_standard(anaf: FakeAnaf, client: AnafClient) -> None:
    with pytest.raises(ValueError):
        client.validate(DOCUMENT, "CN")
    assert anaf.received == []


def test_validate_behind_the_firewall(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer(FIREWALL_PAGE, content_type="text/html")

    with pytest.raises(RetryableError) as raised:
        client.validate(DOCUMENT, "FCN")

    assert "Your support ID is" in raised.value.raw


@pytest.mark.parametrize(("validate", "path"), [(True, "transformare/FCN"), (False, "transformare/FCN/DA")])
def test_to_pdf(anaf: FakeAnaf, client: AnafClient, validate: bool, path: str) -> None:
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF"
    anaf.answer(pdf, content_type="application/pdf")

    assert client.to_pdf(DOCUMENT, "FCN", validate=validate) == pdf
    assert anaf.last.path == PREFIX + path


def test_to_pdf_of_an_invalid_document_is_terminal(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer_json(VALIDATION_NOK)

    with pytest.raises(TerminalError) as raised:
        client.to_pdf(DOCUMENT, "FACT1")

    assert "BR-RO-110" in raised.value.message
    assert json.loads(raised.value.raw) == VALIDATION_NOK


def test_to_pdf_technical_error_is_retryable(anaf: FakeAnaf, client: AnafClient) -> None:
    anaf.answer_json({"eroare": "Eroare tehnică. Cod: 17", "titlu": "Transformare"})

    with pytest.raises(RetryableError):
        client.to_pdf(DOCUMENT, "FACT1")


# --- OAuth ------------------------------------------------------------------------------------------------------


def test_authorize_url() -> None:
    url = httpx.URL(oauth.authorize_url("client-1", "https://stornare.example/anaf/callback", state="s1"))

    assert str(url).startswith("https://logincert.anaf.ro/anaf-oauth2/v1/authorize?")
    assert dict(url.params) == {
        "response_type": "code",
        "client_id": "client-1",
        "redirect_uri": "https://stornare.example/anaf/callback",
        "token_content_type": "jwt",
        "state": "s1",
    }


def test_exchange_code(anaf: FakeAnaf) -> None:
    refresh_expiry = datetime(2027, 6, 1, tzinfo=UTC)
    refresh_token = jwt({"exp": int(refresh_expiry.timestamp())})
    anaf.answer_json({"access_token": "a1", "refresh_token": refresh_token, "token_type": "Bearer", "expires_in": 3600})
    before = datetime.now(UTC)

    tokens = oauth.exchange_code(
        client_id="client-1",
        client_secret="secret-1",
        code="code-1",
        redirect_uri="https://stornare.example/anaf/callback",
        base_url=anaf.origin + "/anaf-oauth2/v1",
        timeouts=FAST,
    )

    assert (tokens.access_token, tokens.refresh_token, tokens.refresh_expires_at) == (
        "a1",
        refresh_token,
        refresh_expiry,
    )
    assert before + timedelta(seconds=3600) <= tokens.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)
    assert "a1" not in repr(tokens) and refresh_token not in repr(tokens)
    request = anaf.last
    assert (request.method, request.path) == ("POST", "/anaf-oauth2/v1/token")
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"client-1:secret-1").decode()
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.body.decode())) == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "redirect_uri": "https://stornare.example/anaf/callback",
        "token_content_type": "jwt",
    }


def test_refresh_reads_the_expiry_from_the_jwt(anaf: FakeAnaf) -> None:
    access_expiry = datetime(2027, 2, 1, tzinfo=UTC)
    access_token = jwt({"exp": int(access_expiry.timestamp())})
    anaf.answer_json({"access_token": access_token, "refresh_token": "opaque"})

    tokens = oauth.refresh(
        client_id="client-1", client_secret="secret-1", refresh_token="r0", base_url=anaf.origin, timeouts=FAST
    )

    assert (tokens.access_token, tokens.refresh_token) == (access_token, "opaque")
    assert (tokens.expires_at, tokens.refresh_expires_at) == (access_expiry, None)
    assert dict(parse_qsl(anaf.last.body.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": "r0",
        "token_content_type": "jwt",
    }


def test_refresh_refused_is_terminal(anaf: FakeAnaf) -> None:
    answer = {"error": "invalid_grant", "error_description": "refresh token expired"}
    anaf.answer_json(answer, status=400)

    with pytest.raises(TerminalError) as raised:
        oauth.refresh(client_id="c", client_secret="s", refresh_token="r0", base_url=anaf.origin, timeouts=FAST)

    assert raised.value.message == "invalid_grant: refresh token expired"
    assert (json.loads(raised.value.raw), raised.value.status_code) == (answer, 400)


def test_token_answer_without_both_tokens_keeps_them_out_of_raw(anaf: FakeAnaf) -> None:
    anaf.answer_json({"access_token": "secret-access", "expires_in": 3600})

    with pytest.raises(RetryableError) as raised:
        oauth.refresh(client_id="c", client_secret="s", refresh_token="r0", base_url=anaf.origin, timeouts=FAST)

    assert "secret-access" not in raised.value.raw
    assert json.loads(raised.value.raw) == {"access_token": "<redacted>", "expires_in": 3600}


@pytest.mark.parametrize(
    ("body", "status_code", "content_type"),
    [("busy", 503, "text/plain"), (FIREWALL_PAGE, 200, "text/html")],
)
def test_token_endpoint_unavailable_is_retryable(
    anaf: FakeAnaf, body: str, status_code: int, content_type: str
) -> None:
    anaf.answer(body, status=status_code, content_type=content_type)

    with pytest.raises(RetryableError) as raised:
        oauth.refresh(client_id="c", client_secret="s", refresh_token="r0", base_url=anaf.origin, timeouts=FAST)

    assert (raised.value.raw, raised.value.status_code) == (body, status_code)


def test_token_endpoint_refusing_connections_is_retryable(refusing_port: int) -> None:
    with pytest.raises(RetryableError):
        oauth.refresh(
            client_id="c",
            client_secret="s",
            refresh_token="r0",
            base_url=f"http://127.0.0.1:{refusing_port}",
            timeouts=FAST,
        )

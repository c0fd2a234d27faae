"""The ANAF e-Factura simulator over real HTTP on loopback: ANAF's answer shapes, processing, faults, shared state
and OAuth token rotation."""

import base64
import hashlib
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest
from lxml import etree

from einvoice.anaf.simulator import ConnectionRefused, Simulator, SimulatorServer, serve
from einvoice.ubl.builder import build
from tests import factories

PROCESSING_SECONDS = 0.2
SELLER_CIF = "1234567"  # the seller of the reference examples (RO1234567)
BUYER_CIF = "7654321"
UPLOAD = "{mfp:anaf:dgti:spv:respUploadFisier:v1}"
STATUS = "{mfp:anaf:dgti:efactura:stareMesajFactura:v1}"
ERRORS = "{mfp:anaf:dgti:efactura:mesajEroriFactuta:v1}"
XMLDSIG = "{http://www.w3.org/2000/09/xmldsig#}"
ROMANIA = ZoneInfo("Europe/Bucharest")


# --- Fixtures and helpers -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def examples(validation_artifacts: Path) -> Path:
    return validation_artifacts / "examples" / "reference-ours"


@pytest.fixture(scope="module")
def credit_note(examples: Path) -> bytes:
    return (examples / "creditnote_ro_381.xml").read_bytes()


@pytest.fixture(scope="module")
def negative_price(examples: Path) -> bytes:
    """A 380 storno that fails BR-27 (a negative item price)."""
    return (examples / "storno_invoice_neg_price.xml").read_bytes()


@pytest.fixture
def simulator(tmp_path: Path) -> Simulator:
    return Simulator(tmp_path / "anaf", processing_seconds=PROCESSING_SECONDS)


@pytest.fixture
def server(simulator: Simulator) -> Iterator[SimulatorServer]:
    server = serve(simulator=simulator)
    yield server
    server.shutdown()


@pytest.fixture
def access_token(simulator: Simulator) -> str:
    return simulator.issue_tokens()["access_token"]


@pytest.fixture
def anaf(server: SimulatorServer, access_token: str) -> Iterator[httpx.Client]:
    """An e-Factura client of the simulator, with a good token."""
    headers = {"Authorization": f"Bearer {access_token}"}
    with httpx.Client(base_url=f"{server.url}/prod/FCTEL/rest/", headers=headers, timeout=5) as client:
        yield client


@pytest.fixture
def admin(server: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/__simulator__/", timeout=5) as client:
        yield client


def upload(anaf: httpx.Client, xml: bytes, *, standard: str = "CN", cif: str = SELLER_CIF) -> int:
    header = upload_header(anaf, xml, standard=standard, cif=cif)
    assert header.get("ExecutionStatus") == "0", etree.tostring(header)
    return int(header.get("index_incarcare"))


def upload_header(anaf: httpx.Client, xml: bytes, *, standard: str = "CN", cif: str = SELLER_CIF) -> etree._Element:
    response = anaf.post("upload", params={"standard": standard, "cif": cif}, content=xml)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xml"
    return etree.fromstring(response.content)


def status(anaf: httpx.Client, index: int) -> etree._Element:
    response = anaf.get("stareMesaj", params={"id_incarcare": index})
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def final_status(anaf: httpx.Client, index: int, timeout: float = 5.0) -> etree._Element:
    deadline = time.monotonic() + timeout
    while (header := status(anaf, index)).get("stare") == "in prelucrare":
        assert time.monotonic() < deadline, f"upload {index} is still 'in prelucrare' after {timeout} s"
        time.sleep(0.05)
    return header


def download(anaf: httpx.Client, download_id: str) -> zipfile.ZipFile:
    response = anaf.get("descarcare", params={"id": download_id})
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


def error_messages(archive: zipfile.ZipFile, index: int) -> list[str]:
    errors = etree.fromstring(archive.read(f"{index}.xml"))
    assert errors.tag == f"{ERRORS}header"
    assert errors.get("Index_incarcare") == str(index)
    return [error.get("errorMessage") for error in errors.iter(f"{ERRORS}Error")]


def unix_millis(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


# --- Upload, status and download -------------------------------------------------------------------------------------


def test_a_valid_credit_note_is_processing_then_ok_and_its_zip_holds_it_signed(
    anaf: httpx.Client, simulator: Simulator, credit_note: bytes
):
    header = upload_header(anaf, credit_note)
    index = int(header.get("index_incarcare"))

    assert header.tag == f"{UPLOAD}header"
    assert len(header.get("dateResponse")) == 12  # yyyyMMddHHmm
    processing = status(anaf, index)
    assert processing.tag == f"{STATUS}header"
    assert processing.get("stare") == "in prelucrare"
    assert processing.get("id_descarcare") is None
    done = final_status(anaf, index)
    assert done.get("stare") == "ok"

    archive = download(anaf, done.get("id_descarcare"))
    assert sorted(archive.namelist()) == [f"{index}.xml", f"semnatura_{index}.xml"]
    assert archive.read(f"{index}.xml") == credit_note
    signature = etree.fromstring(archive.read(f"semnatura_{index}.xml"))
    assert signature.tag == f"{XMLDSIG}Signature"
    assert signature.find(f".//{XMLDSIG}Reference").get("URI") == f"{index}.xml"
    digest = base64.b64encode(hashlib.sha256(credit_note).digest()).decode()
    assert signature.findtext(f".//{XMLDSIG}DigestValue") == digest

    [accepted] = simulator.accepted_uploads()
    assert (accepted.index, accepted.endpoint, accepted.standard, accepted.cif) == (index, "upload", "CN", SELLER_CIF)
    assert accepted.body == credit_note
    assert abs(accepted.received_at - datetime.now(UTC)) < timedelta(seconds=10)


def test_documents_built_by_the_services_end_ok(anaf: httpx.Client, company):
    invoice = factories.invoice(company)
    note = factories.credit(invoice)
    seller_cif = company.cif.removeprefix("RO")

    invoice_index = upload(anaf, build(invoice), standard="UBL", cif=seller_cif)
    note_index = upload(anaf, build(note), standard="CN", cif=seller_cif)

    assert final_status(anaf, invoice_index).get("stare") == "ok"
    assert final_status(anaf, note_index).get("stare") == "ok"


def test_a_document_with_a_fatal_finding_ends_nok_with_anaf_error_file(anaf: httpx.Client, negative_price: bytes):
    index = upload(anaf, negative_price, standard="UBL")

    done = final_status(anaf, index)

    assert done.get("stare") == "nok"
    archive = download(anaf, done.get("id_descarcare"))
    assert sorted(archive.namelist()) == [f"{index}.xml", f"semnatura_{index}.xml"]
    assert etree.fromstring(archive.read(f"{index}.xml")).get("Cif_emitent") == SELLER_CIF
    [message] = error_messages(archive, index)
    assert message.startswith("E: validari globale  SCHEMATRON   eroare: [BR-27]-")


def test_uploadb2c_takes_documents_like_upload(anaf: httpx.Client, simulator: Simulator, credit_note: bytes):
    response = anaf.post("uploadb2c", params={"standard": "CN", "cif": SELLER_CIF, "extern": "DA"}, content=credit_note)

    index = int(etree.fromstring(response.content).get("index_incarcare"))
    assert final_status(anaf, index).get("stare") == "ok"
    [accepted] = simulator.accepted_uploads()
    assert (accepted.endpoint, accepted.flags) == ("uploadb2c", ("extern",))


def _with_unknown_element(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    etree.SubElement(root, "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}Nonsense")
    return etree.tostring(root)


@pytest.mark.parametrize(
    ("change", "standard", "cif", "message"),
    [
        (None, "UBL", SELLER_CIF, "cvc-elt.1.a: Cannot find the declaration of element 'CreditNote'"),
        (_with_unknown_element, "CN", SELLER_CIF, "Fisierul transmis nu este valid."),
        (lambda xml: xml[:200], "CN", SELLER_CIF, "Fisierul transmis nu este valid. org.xml.sax.SAXParseException"),
        (None, "XML", SELLER_CIF, "Valorile acceptate pentru parametrul standard sunt UBL, CN, CII sau RASP"),
        (None, "CN", "RO1234567", "CIF introdus= RO1234567 nu este un numar"),
    ],
    ids=["standard-for-another-root", "schema-error", "not-xml", "unknown-standard", "cif-with-prefix"],
)
def test_an_upload_anaf_cannot_take_is_rejected_at_once(
    anaf: httpx.Client, simulator: Simulator, credit_note: bytes, change, standard: str, cif: str, message: str
):
    header = upload_header(anaf, change(credit_note) if change else credit_note, standard=standard, cif=cif)

    assert header.get("ExecutionStatus") == "1"
    assert header.get("index_incarcare") is None
    [error] = header.iter(f"{UPLOAD}Errors")
    assert message in error.get("errorMessage")
    assert simulator.accepted_uploads() == []


def test_missing_parameters_are_http_400_json(anaf: httpx.Client, credit_note: bytes):
    without_cif = anaf.post("upload", params={"standard": "CN"}, content=credit_note)
    without_body = anaf.post("upload", params={"standard": "CN", "cif": SELLER_CIF})
    without_index = anaf.get("stareMesaj")

    assert (without_cif.status_code, without_cif.json()["message"]) == (
        400,
        "Parametrii standard si cif sunt obligatorii",
    )
    assert without_body.json()["message"] == "Trebuie sa aveti atasat in request un fisier de tip xml"
    assert (without_index.status_code, without_index.json()["message"]) == (
        400,
        "Parametrul id_incarcare este obligatoriu",
    )


def test_status_and_download_of_unknown_ids_answer_anaf_errors(anaf: httpx.Client):
    unknown = status(anaf, 42)
    not_a_number = anaf.get("stareMesaj", params={"id_incarcare": "aaa"})
    no_download = anaf.get("descarcare", params={"id": "21"})

    assert unknown.get("stare") is None  # an error about the query, not a state of a document
    assert [error.get("errorMessage") for error in unknown.iter(f"{STATUS}Errors")] == [
        "Nu exista factura cu id_incarcare= 42"
    ]
    assert b"Id_incarcare introdus= aaa nu este un numar intreg" in not_a_number.content
    assert no_download.json() == {
        "eroare": "Pentru id=21 nu exista inregistrata nici o factura",
        "titlu": "Descarcare mesaj",
    }


def test_a_message_downloads_ten_times_a_day(anaf: httpx.Client, credit_note: bytes):
    download_id = final_status(anaf, upload(anaf, credit_note)).get("id_descarcare")
    for _ in range(10):
        download(anaf, download_id)

    eleventh = anaf.get("descarcare", params={"id": download_id})

    assert eleventh.json()["eroare"] == "S-au facut deja 10 descarcari de mesaj in cursul zilei"


def test_resending_a_document_that_ended_ok_ends_nok_as_a_duplicate(anaf: httpx.Client, credit_note: bytes):
    first = upload(anaf, credit_note)
    assert final_status(anaf, first).get("stare") == "ok"

    second = upload(anaf, credit_note)
    done = final_status(anaf, second)

    assert done.get("stare") == "nok"
    [message] = error_messages(download(anaf, done.get("id_descarcare")), second)
    uploaded_on = datetime.now(ROMANIA).date().isoformat()
    assert message == f"Factura a mai fost transmisa anterior cu index={first} si data incarcare={uploaded_on}"


# --- Message lists ---------------------------------------------------------------------------------------------------


@pytest.fixture
def processed(anaf: httpx.Client, credit_note: bytes, negative_price: bytes) -> dict[str, etree._Element]:
    """One upload that ended ok and one that ended nok, by index."""
    indexes = [upload(anaf, credit_note), upload(anaf, negative_price, standard="UBL")]
    return {str(index): final_status(anaf, index) for index in indexes}


def test_the_simple_list_shows_processed_uploads_to_seller_and_buyer(anaf: httpx.Client, processed):
    seller = anaf.get("listaMesajeFactura", params={"zile": 1, "cif": SELLER_CIF}).json()
    errors_only = anaf.get("listaMesajeFactura", params={"zile": 1, "cif": SELLER_CIF, "filtru": "E"}).json()
    buyer = anaf.get("listaMesajeFactura", params={"zile": 1, "cif": BUYER_CIF}).json()

    ok_index, nok_index = processed
    assert {(m["id_solicitare"], m["tip"], m["id"]) for m in seller["mesaje"]} == {
        (ok_index, "FACTURA TRIMISA", processed[ok_index].get("id_descarcare")),
        (nok_index, "ERORI FACTURA", processed[nok_index].get("id_descarcare")),
    }
    assert (seller["cui"], seller["titlu"]) == (SELLER_CIF, "Lista Mesaje disponibile din ultimele 1 zile")
    assert [m["id_solicitare"] for m in errors_only["mesaje"]] == [nok_index]
    [received] = buyer["mesaje"]
    assert (received["tip"], received["cif"]) == ("FACTURA PRIMITA", BUYER_CIF)
    assert received["detalii"] == (
        f"Factura cu id_incarcare={ok_index} emisa de cif_emitent={SELLER_CIF} pentru cif_beneficiar={BUYER_CIF}"
    )


def test_the_paginated_list_shows_processed_uploads_in_its_envelope(anaf: httpx.Client, processed):
    now = datetime.now(UTC)
    window = {"startTime": unix_millis(now - timedelta(hours=1)), "endTime": unix_millis(now), "cif": SELLER_CIF}

    page = anaf.get("listaMesajePaginatieFactura", params={**window, "pagina": 1})
    beyond = anaf.get("listaMesajePaginatieFactura", params={**window, "pagina": 2})

    assert page.status_code == 200
    body = page.json()
    assert {m["id_solicitare"] for m in body["mesaje"]} == set(processed)
    assert {key: body[key] for key in body if key.startswith(("numar", "index"))} == {
        "numar_inregistrari_in_pagina": 2,
        "numar_total_inregistrari_per_pagina": 500,
        "numar_total_inregistrari": 2,
        "numar_total_pagini": 1,
        "index_pagina_curenta": 1,
    }
    assert (beyond.status_code, beyond.json()["eroare"]) == (
        400,
        "Pagina solicitata 2 este mai mare decat numarul toatal de pagini 1",
    )


def test_lists_answer_empty_results_and_bad_windows_as_anaf(anaf: httpx.Client):
    now = datetime.now(UTC)
    past = {"startTime": unix_millis(now - timedelta(hours=1)), "endTime": unix_millis(now), "pagina": 1}
    future = {**past, "endTime": unix_millis(now + timedelta(minutes=5))}

    empty_simple = anaf.get("listaMesajeFactura", params={"zile": 15, "cif": SELLER_CIF})
    empty_paged = anaf.get("listaMesajePaginatieFactura", params={**past, "cif": SELLER_CIF})
    in_future = anaf.get("listaMesajePaginatieFactura", params={**future, "cif": SELLER_CIF})
    too_many_days = anaf.get("listaMesajeFactura", params={"zile": 61, "cif": SELLER_CIF})

    assert (empty_simple.status_code, empty_simple.json()) == (
        200,
        {"eroare": "Nu exista mesaje in ultimele 15 zile", "titlu": "Lista Mesaje"},
    )
    assert (empty_paged.status_code, empty_paged.json()["eroare"]) == (200, "Nu exista mesaje in intervalul selectat")
    assert in_future.status_code == 400
    assert "nu poate in viitor fata de momentul requestului" in in_future.json()["eroare"]
    assert too_many_days.json()["eroare"] == "Numarul de zile trebuie sa fie intre 1 si 60"


# --- validare and transformare ---------------------------------------------------------------------------------------


@pytest.fixture
def public(server: SimulatorServer) -> Iterator[httpx.Client]:
    """validare and transformare as on webservicesp.anaf.ro: no token."""
    with httpx.Client(base_url=f"{server.url}/prod/FCTEL/rest/", timeout=5) as client:
        yield client


def test_validare_answers_ok_or_nok_with_messages(public: httpx.Client, credit_note: bytes, negative_price: bytes):
    valid = public.post("validare/FCN", content=credit_note).json()
    invalid = public.post("validare/FACT1", content=negative_price).json()
    wrong_root = public.post("validare/FACT1", content=credit_note).json()
    unknown_standard = public.post("validare/FACT2", content=credit_note).json()

    assert valid["stare"] == "ok" and valid["trace_id"]
    assert invalid["stare"] == "nok"
    assert [message["message"][:50] for message in invalid["Messages"]] == [
        "E: validari globale  SCHEMATRON   eroare: [BR-27]-"
    ]
    assert "Cannot find the declaration of element 'CreditNote'" in wrong_root["Messages"][0]["message"]
    assert unknown_standard["Messages"] == [
        {"message": "Valorile acceptate pentru parametrul standard sunt FACT1 si FCN"}
    ]


def test_transformare_answers_a_pdf_or_the_validation_errors(
    public: httpx.Client, credit_note: bytes, negative_price: bytes
):
    pdf = public.post("transformare/FCN", content=credit_note)
    invalid = public.post("transformare/FACT1", content=negative_price)
    unvalidated = public.post("transformare/FACT1/DA", content=negative_price)

    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.4") and pdf.content.rstrip().endswith(b"%%EOF")
    assert b"(Nota de credit NC-0001 din 2025-09-15)" in pdf.content
    assert invalid.json()["stare"] == "nok"
    assert unvalidated.content.startswith(b"%PDF")


def test_validare_and_transformare_exist_only_in_production(server: SimulatorServer, credit_note: bytes):
    answer = httpx.post(f"{server.url}/test/FCTEL/rest/validare/FCN", content=credit_note)

    assert answer.status_code == 404
    assert answer.json()["path"] == "/test/FCTEL/rest/validare/FCN"


# --- Faults ----------------------------------------------------------------------------------------------------------


def test_status_5xx_fires_the_given_times_on_its_endpoint_only(
    anaf: httpx.Client, admin: httpx.Client, credit_note: bytes
):
    created = admin.post("faults", json={"kind": "status_5xx", "endpoint": "stareMesaj", "times": 2, "status": 503})
    assert created.status_code == 201

    index = upload(anaf, credit_note)  # another endpoint: untouched
    answers = [anaf.get("stareMesaj", params={"id_incarcare": index}) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [503, 503, 200]
    assert answers[0].json()["status"] == 503
    assert admin.get("faults").json() == []


def test_status_429_says_when_to_retry(anaf: httpx.Client, simulator: Simulator):
    simulator.inject("status_429", times=1, retry_after=7)

    answer = anaf.get("listaMesajeFactura", params={"zile": 1, "cif": SELLER_CIF})

    assert (answer.status_code, answer.headers["retry-after"]) == (429, "7")


def test_hang_holds_the_answer_past_the_client_timeout(anaf: httpx.Client, simulator: Simulator, credit_note: bytes):
    index = upload(anaf, credit_note)
    simulator.inject("hang", endpoint="stareMesaj", times=1, seconds=0.5)

    with pytest.raises(httpx.ReadTimeout):
        anaf.get("stareMesaj", params={"id_incarcare": index}, timeout=0.1)

    assert status(anaf, index).get("stare") in ("in prelucrare", "ok")


def test_html_firewall_answers_200_with_the_f5_page(anaf: httpx.Client, simulator: Simulator, credit_note: bytes):
    simulator.inject("html_firewall", endpoint="upload", times=1)

    answer = anaf.post("upload", params={"standard": "CN", "cif": SELLER_CIF}, content=credit_note)

    assert (answer.status_code, answer.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert "<title>Request Rejected</title>" in answer.text
    assert "Your support ID is: " in answer.text
    assert simulator.accepted_uploads() == []


def test_malformed_truncates_the_answer_of_a_processed_call(
    anaf: httpx.Client, simulator: Simulator, credit_note: bytes
):
    simulator.inject("malformed", endpoint="upload", times=1)

    answer = anaf.post("upload", params={"standard": "CN", "cif": SELLER_CIF}, content=credit_note)

    assert answer.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(answer.content)
    assert len(simulator.accepted_uploads()) == 1


def test_eroare_tehnica_answers_each_endpoint_in_its_own_shape(
    anaf: httpx.Client, simulator: Simulator, credit_note: bytes
):
    simulator.inject("eroare_tehnica", times=3)

    upload_answer = upload_header(anaf, credit_note)
    list_answer = anaf.get("listaMesajeFactura", params={"zile": 1, "cif": SELLER_CIF}).json()
    status_answer = status(anaf, 1)

    assert upload_answer.get("ExecutionStatus") == "1"
    assert next(upload_answer.iter(f"{UPLOAD}Errors")).get("errorMessage").startswith("A aparut o eroare tehnica")
    assert list_answer["eroare"].startswith("A aparut o eroare tehnica")
    assert next(status_answer.iter(f"{STATUS}Errors")).get("errorMessage").startswith("A aparut o eroare tehnica")
    assert simulator.accepted_uploads() == []


def test_accept_then_drop_takes_the_upload_and_closes_without_an_answer(
    anaf: httpx.Client, admin: httpx.Client, simulator: Simulator, credit_note: bytes
):
    admin.post("faults", json={"kind": "accept_then_drop", "endpoint": "upload", "times": 1})

    with pytest.raises(httpx.RemoteProtocolError):
        anaf.post("upload", params={"standard": "CN", "cif": SELLER_CIF}, content=credit_note)

    [accepted] = simulator.accepted_uploads()
    assert final_status(anaf, accepted.index).get("stare") == "ok"


def test_accept_then_drop_in_process_surfaces_as_a_dropped_connection(simulator: Simulator, credit_note: bytes):
    simulator.inject("accept_then_drop", endpoint="upload", times=1)
    headers = {"Authorization": f"Bearer {simulator.issue_tokens()['access_token']}"}
    transport = httpx.WSGITransport(app=simulator)

    with httpx.Client(transport=transport, base_url="https://api.anaf.ro/prod/FCTEL/rest/", headers=headers) as anaf:
        with pytest.raises(httpx.RemoteProtocolError):
            anaf.post("upload", params={"standard": "CN", "cif": SELLER_CIF}, content=credit_note)

    assert len(simulator.accepted_uploads()) == 1


def test_duplicate_ends_nok_naming_an_earlier_upload_that_ended_ok(
    anaf: httpx.Client, simulator: Simulator, credit_note: bytes
):
    simulator.inject("duplicate", endpoint="upload", times=1)

    index = upload(anaf, credit_note)
    done = final_status(anaf, index)

    assert done.get("stare") == "nok"
    [message] = error_messages(download(anaf, done.get("id_descarcare")), index)
    assert message.startswith("Factura a mai fost transmisa anterior cu index=")
    earlier = int(message.split("index=")[1].split()[0])
    assert earlier != index
    assert final_status(anaf, earlier).get("stare") == "ok"
    assert [accepted.index for accepted in simulator.accepted_uploads()] == [index]


def test_down_refuses_every_call_until_cleared(
    anaf: httpx.Client, admin: httpx.Client, simulator: Simulator, credit_note: bytes
):
    admin.post("faults", json={"kind": "down"})

    with pytest.raises(httpx.TransportError):
        anaf.post("upload", params={"standard": "CN", "cif": SELLER_CIF}, content=credit_note)
    with pytest.raises(httpx.TransportError):
        anaf.get("listaMesajeFactura", params={"zile": 1, "cif": SELLER_CIF})
    assert simulator.accepted_uploads() == []

    assert admin.delete("faults").status_code == 204
    upload(anaf, credit_note)


def test_down_for_a_while_refuses_in_process_with_a_connect_error(simulator: Simulator):
    simulator.inject("down", seconds=0.3)
    transport = httpx.WSGITransport(app=simulator)

    with httpx.Client(transport=transport, base_url="https://api.anaf.ro/prod/FCTEL/rest/") as anaf:
        with pytest.raises(httpx.ConnectError) as refused:
            anaf.get("stareMesaj", params={"id_incarcare": 1})
        deadline = time.monotonic() + 5
        while simulator.faults():
            assert time.monotonic() < deadline, "the outage did not end"
            time.sleep(0.05)
        assert anaf.get("stareMesaj", params={"id_incarcare": 1}).status_code == 401  # up again, asking for a token

    assert isinstance(refused.value, ConnectionRefused)


def test_the_admin_endpoint_refuses_faults_it_does_not_know(admin: httpx.Client):
    unknown_kind = admin.post("faults", json={"kind": "flaky"})
    unknown_endpoint = admin.post("faults", json=[{"kind": "hang"}, {"kind": "malformed", "endpoint": "nowhere"}])

    assert unknown_kind.status_code == 400 and "kind must be one of" in unknown_kind.json()["error"]
    assert unknown_endpoint.status_code == 400
    assert admin.get("faults").json() == []  # neither fault of the refused list was switched on


def test_reset_forgets_uploads_tokens_and_faults(
    anaf: httpx.Client, admin: httpx.Client, simulator: Simulator, credit_note: bytes
):
    index = upload(anaf, credit_note)
    simulator.inject("status_5xx", endpoint="descarcare")

    assert admin.post("reset").status_code == 204

    assert simulator.accepted_uploads() == [] and simulator.faults() == []
    assert anaf.get("stareMesaj", params={"id_incarcare": index}).status_code == 401
    anaf.headers["Authorization"] = f"Bearer {simulator.issue_tokens()['access_token']}"
    [error] = status(anaf, index).iter(f"{STATUS}Errors")
    assert error.get("errorMessage") == f"Nu exista factura cu id_incarcare= {index}"


# --- State shared by several simulators (one per web process) ---------------------------------------------------------


def test_simulators_on_one_state_dir_see_each_others_uploads_tokens_and_faults(
    anaf: httpx.Client, simulator: Simulator, credit_note: bytes
):
    other_process = Simulator(simulator.state_dir, processing_seconds=PROCESSING_SECONDS)
    token = other_process.issue_tokens()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.WSGITransport(app=other_process)

    with httpx.Client(transport=transport, base_url="https://api.anaf.ro/prod/FCTEL/rest/", headers=headers) as other:
        index = upload(other, credit_note)
        other_process.inject("status_5xx", endpoint="listaMesajeFactura", times=1)

        assert final_status(anaf, index).get("stare") == "ok"  # polled through the first simulator, over HTTP
        assert anaf.get("listaMesajeFactura", params={"zile": 1, "cif": SELLER_CIF}).status_code == 500
        listed = anaf.get("listaMesajeFactura", params={"zile": 1, "cif": SELLER_CIF}).json()
        assert [message["id_solicitare"] for message in listed["mesaje"]] == [str(index)]
    assert [accepted.index for accepted in simulator.accepted_uploads()] == [index]


def test_uploads_through_several_simulators_at_once_get_distinct_indexes(
    anaf: httpx.Client, simulator: Simulator, credit_note: bytes
):
    other_process = Simulator(simulator.state_dir, processing_seconds=PROCESSING_SECONDS)
    headers = {"Authorization": f"Bearer {other_process.issue_tokens()['access_token']}"}
    indexes: list[int] = []
    start = threading.Barrier(2)

    def upload_five(client: httpx.Client) -> None:
        start.wait()
        indexes.extend(upload(client, credit_note) for _ in range(5))

    with httpx.Client(
        transport=httpx.WSGITransport(app=other_process), base_url="https://anaf/prod/FCTEL/rest/", headers=headers
    ) as other:
        threads = [threading.Thread(target=upload_five, args=(client,)) for client in (anaf, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert len(set(indexes)) == 10
    assert sorted(accepted.index for accepted in simulator.accepted_uploads()) == sorted(indexes)


# --- OAuth -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def oauth(server: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/anaf-oauth2/v1/", auth=("client-id", "client-secret"), timeout=5) as c:
        yield c


def refresh(oauth: httpx.Client, refresh_token: str) -> httpx.Response:
    return oauth.post("token", data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def test_the_authorization_code_gives_jwt_tokens_that_open_efactura(oauth: httpx.Client, server: SimulatorServer):
    redirect = oauth.get(
        "authorize",
        params={
            "response_type": "code",
            "client_id": "client-id",
            "redirect_uri": "https://localhost/cb",
            "state": "s",
        },
    )
    assert redirect.status_code == 302
    callback = parse_qs(urlparse(redirect.headers["location"]).query)
    assert callback["state"] == ["s"]

    tokens = oauth.post(
        "token",
        data={
            "grant_type": "authorization_code",
            "code": callback["code"][0],
            "redirect_uri": "https://localhost/cb",
            "token_content_type": "jwt",
        },
    ).json()
    again = oauth.post(
        "token", data={"grant_type": "authorization_code", "code": callback["code"][0], "redirect_uri": "x"}
    )

    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 90 * 24 * 3600
    assert tokens["access_token"].count(".") == 2 and tokens["refresh_token"].count(".") == 2
    header = {"Authorization": f"Bearer {tokens['access_token']}"}
    listed = httpx.get(f"{server.url}/prod/FCTEL/rest/listaMesajeFactura?zile=1&cif=1", headers=header)
    assert listed.status_code == 200
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")  # a code serves once


def test_refreshing_rotates_the_refresh_token_and_kills_the_old_one(oauth: httpx.Client, simulator: Simulator):
    first = simulator.issue_tokens()

    rotated = refresh(oauth, first["refresh_token"])
    reused = refresh(oauth, first["refresh_token"])

    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    assert rotated.json()["access_token"] != first["access_token"]
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert simulator.refresh_token_reuses() == 1
    assert refresh(oauth, rotated.json()["refresh_token"]).status_code == 200


def test_two_workers_refreshing_one_token_at_once_get_one_success(oauth: httpx.Client, simulator: Simulator):
    refresh_token = simulator.issue_tokens()["refresh_token"]
    start = threading.Barrier(2)
    statuses: list[int] = []

    def worker() -> None:
        start.wait()
        statuses.append(refresh(oauth, refresh_token).status_code)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(statuses) == [200, 400]
    assert simulator.refresh_token_reuses() == 1


def test_the_token_endpoint_checks_the_client(tmp_path: Path):
    strict = Simulator(tmp_path / "strict", client_id="ours", client_secret="secret")
    refresh_token = strict.issue_tokens()["refresh_token"]
    transport = httpx.WSGITransport(app=strict)

    with httpx.Client(transport=transport, base_url="https://logincert.anaf.ro/anaf-oauth2/v1/") as oauth:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        wrong = oauth.post("token", auth=("ours", "guess"), data=form)
        right = oauth.post("token", auth=("ours", "secret"), data=form)

    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_client")
    assert right.status_code == 200


def test_efactura_calls_need_a_live_access_token(server: SimulatorServer, simulator: Simulator):
    tokens = simulator.issue_tokens()
    expired = simulator.issue_tokens(access_token_seconds=0)["access_token"]

    with httpx.Client(base_url=f"{server.url}/prod/FCTEL/rest/", timeout=5) as anaf:

        def listed_with(authorization: str | None) -> httpx.Response:
            headers = {"Authorization": authorization} if authorization else {}
            return anaf.get("listaMesajeFactura", params={"zile": 1, "cif": SELLER_CIF}, headers=headers)

        refused = [
            listed_with(authorization)
            for authorization in (None, "Bearer not-a-token", f"Bearer {expired}", f"Bearer {tokens['refresh_token']}")
        ]
        accepted = listed_with(f"Bearer {tokens['access_token']}")

    assert [answer.status_code for answer in refused] == [401, 401, 401, 401]
    assert refused[2].json()["message"] == "Access token expired"
    assert accepted.status_code == 200


def test_the_permissive_mode_answers_without_a_token(tmp_path: Path, credit_note: bytes):
    server = serve(simulator=Simulator(tmp_path / "open", processing_seconds=PROCESSING_SECONDS, require_token=False))
    try:
        with httpx.Client(base_url=f"{server.url}/test/FCTEL/rest/", timeout=5) as anaf:
            assert final_status(anaf, upload(anaf, credit_note)).get("stare") == "ok"
    finally:
        server.shutdown()

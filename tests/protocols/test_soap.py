"""SOAP end to end with zeep (a stock client): every operation, faults, hostile XML."""

from __future__ import annotations

import gc
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import sklearn
import zeep
from zeep.exceptions import Fault
from zeep.transports import Transport

from predictions.models import Prediction
from tests.recorded import never_recorded, recorded

pytestmark = pytest.mark.e2e

PHOTO = (Path(sklearn.__file__).parent / "datasets" / "images" / "flower.jpg").read_bytes()
SETOSA = [5.1, 3.5, 1.4, 0.2]


def soap_client(base: str, token: str | None, request_id: str | None = None) -> Any:
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    if request_id:
        session.headers["X-Request-ID"] = request_id
    return zeep.Client(f"{base}/soap/?wsdl", transport=Transport(session=session)).service


@pytest.fixture(scope="module")
def soap(web_server: str, user_jwt: str) -> Any:
    return soap_client(web_server, user_jwt)


def rest_predict(base: str, token: str, model: str, body: dict) -> dict[str, Any]:
    response = requests.post(
        f"{base}/api/v1/models/{model}/predict/",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    return dict(response.json())


def fault_code(fault: Fault) -> str:
    return str(fault.detail.find("code").text)


def test_wsdl_describes_the_contract(web_server: str) -> None:
    wsdl = requests.get(f"{web_server}/soap/?wsdl", timeout=10).text

    assert 'targetNamespace="urn:mlplatform:v1"' in wsdl
    for operation in ("Predict", "PredictBatch", "AnalyzeSentiment", "ClassifyImage", "ListModels"):
        assert f'name="{operation}"' in wsdl


def test_predict_matches_rest(soap: Any, web_server: str, user_jwt: str) -> None:
    result = soap.Predict(model="iris", features={"double": SETOSA})
    rest = rest_predict(web_server, user_jwt, "iris", {"X": [SETOSA]})

    assert result.model == "iris:1"
    assert result.prediction == rest["predictions"][0] == "setosa"
    probabilities = {p.label: p.value for p in result.probabilities.LabelProbability}
    assert probabilities == pytest.approx(rest["probabilities"][0])
    assert isinstance(result.cached, bool)
    assert result.latencyMs >= 0


def test_regression_prediction_is_a_number_as_text(soap: Any) -> None:
    result = soap.Predict(model="demo", features={"double": [1.0, 2.0]})

    assert float(result.prediction) == pytest.approx(1.3, abs=1e-4)
    assert result.probabilities is None


def test_predict_batch_one_result_per_row(soap: Any, web_server: str, user_jwt: str) -> None:
    rows = [[6.9, 3.1, 5.4, 2.1], SETOSA, [6.0, 2.2, 4.0, 1.0]]

    results = soap.PredictBatch(
        model="iris", rows={"DoubleRow": [{"values": {"double": row}} for row in rows]}
    )
    rest = rest_predict(web_server, user_jwt, "iris", {"X": rows})

    assert [r.prediction for r in results] == rest["predictions"]


def test_analyze_sentiment(soap: Any) -> None:
    result = soap.AnalyzeSentiment(model="sentiment", text="I love machine learning!")

    assert result.classification == "Positive"
    assert result.sentimentScore == pytest.approx(0.6696, abs=1e-4)


def test_classify_image(soap: Any) -> None:
    result = soap.ClassifyImage(model="imagenet", image=PHOTO)

    assert result.prediction == "daisy"
    assert result.classes.ClassScore[0]["class"] == "daisy"
    assert len(result.classes.ClassScore) == 3


def test_list_models(soap: Any) -> None:
    models = {m.ref: m for m in soap.ListModels()}

    assert {"demo:1", "iris:1", "diabetes:1", "sentiment:1", "imagenet:1"} <= set(models)
    assert models["iris:1"].featureNames.string == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
    ]


def test_predictions_are_recorded_as_soap(web_server: str, user_jwt: str, db_reader: None) -> None:
    request_id = f"soap-{uuid.uuid4().hex}"

    soap_client(web_server, user_jwt, request_id).Predict(
        model="demo", features={"double": [3.0, 4.0]}
    )

    assert recorded(Prediction.objects.filter(request_id=request_id)).get().protocol == "soap"


@pytest.mark.parametrize(
    ("_case", "call", "faultcode", "code"),
    [
        (
            "short row",
            lambda s: s.Predict(model="iris", features={"double": [1.0]}),
            "Client",
            "invalid_input",
        ),
        (
            "unknown model",
            lambda s: s.Predict(model="nope", features={"double": [1.0]}),
            "Client",
            "model_not_found",
        ),
        (
            "text to tabular",
            lambda s: s.AnalyzeSentiment(model="iris", text="hi"),
            "Client",
            "invalid_input",
        ),
        (
            "not an image",
            lambda s: s.ClassifyImage(model="imagenet", image=b"text"),
            "Client",
            "invalid_input",
        ),
        ("empty batch", lambda s: s.PredictBatch(model="iris", rows=[]), "Client", "invalid_input"),
    ],
)
def test_faults_carry_the_contract_code(
    _case: str,
    call: Any,
    faultcode: str,
    code: str,
    web_server: str,
    user_jwt: str,
    db_reader: None,
) -> None:
    request_id = f"soapfault-{uuid.uuid4().hex}"

    with pytest.raises(Fault) as caught:
        call(soap_client(web_server, user_jwt, request_id))

    assert caught.value.code.endswith(faultcode)
    assert fault_code(caught.value) == code
    assert caught.value.message
    assert never_recorded(Prediction.objects.filter(request_id=request_id))


def test_missing_token_is_a_client_fault(web_server: str) -> None:
    with pytest.raises(Fault) as caught:
        soap_client(web_server, None).Predict(model="iris", features={"double": SETOSA})

    assert fault_code(caught.value) == "unauthenticated"
    with pytest.raises(Fault) as listing:
        soap_client(web_server, None).ListModels()
    assert fault_code(listing.value) == "unauthenticated"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:mlplatform:v1">
<soap:Body><t:AnalyzeSentiment><t:model>sentiment</t:model><t:text>&lol3;</t:text>
</t:AnalyzeSentiment></soap:Body></soap:Envelope>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:mlplatform:v1">
<soap:Body><t:AnalyzeSentiment><t:model>sentiment</t:model><t:text>&xxe;</t:text>
</t:AnalyzeSentiment></soap:Body></soap:Envelope>"""

NOT_XML = "<soap:Envelope this is not xml"


@pytest.mark.parametrize(
    ("_case", "body"),
    [
        ("entity expansion", BILLION_LAUGHS),
        ("external entity", EXTERNAL_ENTITY),
        ("not xml", NOT_XML),
    ],
)
def test_hostile_or_broken_xml_gets_a_client_fault(
    _case: str, body: str, web_server: str, user_jwt: str, soap: Any
) -> None:
    response = requests.post(
        f"{web_server}/soap/",
        data=body.encode(),
        headers={"Content-Type": "text/xml", "Authorization": f"Bearer {user_jwt}"},
        timeout=10,
    )

    assert response.status_code == 500  # SOAP 1.1 faults travel as HTTP 500
    assert "Client" in response.text
    assert "root:" not in response.text
    assert "<html" not in response.text.lower()
    assert soap.Predict(model="demo", features={"double": [1.0, 2.0]}).prediction  # still serving


def test_wsdl_is_stable_and_names_the_callers_host(web_server: str) -> None:
    """Spyne rebuilt without its cache drops the portType on the second build; and the cached
    copy must still point each caller at the address it used."""
    first = requests.get(f"{web_server}/soap/?wsdl", timeout=10).text
    second = requests.get(
        f"{web_server.replace('127.0.0.1', 'localhost')}/soap/?wsdl", timeout=10
    ).text

    assert first.count("<wsdl:portType") == second.count("<wsdl:portType") == 1
    assert f'location="{web_server}/soap/"' in first
    assert f'location="{web_server.replace("127.0.0.1", "localhost")}/soap/"' in second


LIST_MODELS = """<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:mlplatform:v1">
<soap:Body><t:ListModels/></soap:Body></soap:Envelope>"""


def test_calls_never_force_a_full_garbage_collection(client: Any, monkeypatch: Any) -> None:
    """Spyne ran gc.collect() after a call once a second: a third of a SOAP call's CPU, and a
    stall for every other request of the web process."""
    forced: list[object] = []
    monkeypatch.setattr(gc, "collect", lambda *args: forced.append(args) or 0)

    for _ in range(2):
        response = client.post("/soap/", data=LIST_MODELS, content_type="text/xml")
        assert b"unauthenticated" in response.content  # the call ran through Spyne

    assert forced == []

"""/soap/: the Spyne application behind a guard that refuses oversized and DTD-bearing XML."""

from __future__ import annotations

import logging
import re

import spyne.const
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from spyne import Application
from spyne.protocol.soap import Soap11
from spyne.server.django import DjangoView

from predictions.soap.service import PredictionService
from predictions.soap.types import NAMESPACE

# Spyne forces a full gc.collect() when a call ends, once a second at most (MIN_GC_INTERVAL), to
# release its temporary files early. In a process holding Django, scikit-learn and onnxruntime a
# full collection stalls every thread: py-spy put it at a third of a SOAP call's CPU, and it
# showed in the REST p99 of the same process. We attach no files to contexts; CPython's own
# collector is enough.
spyne.const.MIN_GC_INTERVAL = float("inf")

application = Application(
    [PredictionService],
    tns=NAMESPACE,
    name="MLPlatform",
    in_protocol=Soap11(validator="lxml"),
    out_protocol=Soap11(),
)
# Spyne builds the WSDL once and caches it: rebuilding it (cache_wsdl=False) drops the portType
# on the second build. The cached copy names the first caller's host, so the address is
# rewritten per request.
spyne_view = DjangoView.as_view(application=application, cache_wsdl=True)
WSDL_ADDRESS = re.compile(rb'(<wsdlsoap11:address location=")[^"]*(")')

FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soap11env:Envelope xmlns:soap11env="http://schemas.xmlsoap.org/soap/envelope/">
<soap11env:Body><soap11env:Fault><faultcode>soap11env:Client</faultcode>
<faultstring>{message}</faultstring><detail><code>invalid_input</code></detail>
</soap11env:Fault></soap11env:Body></soap11env:Envelope>"""

logger = logging.getLogger(__name__)


@csrf_exempt
def soap_endpoint(request: HttpRequest) -> HttpResponse:
    """SOAP 1.1 forbids DTDs in messages: refusing them stops entity expansion and external
    entities before any parser sees the body."""
    if request.method == "POST":
        body = request.body
        if len(body) > settings.MLP_MAX_BODY_BYTES:
            return _client_fault(f"request body exceeds {settings.MLP_MAX_BODY_BYTES} bytes")
        if b"<!doctype" in body[:4096].lower() or b"<!entity" in body.lower():
            return _client_fault("document type declarations are not allowed in SOAP messages")
    response = spyne_view(request)
    if request.method == "GET" and "wsdl" in request.GET and response.status_code == 200:
        address = request.build_absolute_uri(request.path).encode()
        response.content = WSDL_ADDRESS.sub(rb"\g<1>" + address + rb"\g<2>", response.content)
    return response


def _client_fault(message: str) -> HttpResponse:
    logger.info("refused SOAP request: %s", message)
    return HttpResponse(
        FAULT.format(message=message), status=500, content_type="text/xml; charset=utf-8"
    )

"""The seed's REST baseline: Flask + gunicorn, iris LogisticRegression, no auth, no records."""

from __future__ import annotations

import os

import joblib
from flask import Flask, jsonify, request

app = Flask(__name__)
model = joblib.load(os.environ["IRIS_MODEL"])


@app.post("/predict")
def predict():  # type: ignore[no-untyped-def]
    rows = request.get_json()["X"]
    return jsonify({"predictions": [str(p) for p in model.predict(rows)]})

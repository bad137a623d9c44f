"""SOAP types (document/literal, namespace urn:mlplatform:v1): what the WSDL describes."""

from __future__ import annotations

from spyne import Array, Boolean, ComplexModel, Double, Integer, Unicode

NAMESPACE = "urn:mlplatform:v1"


class LabelProbability(ComplexModel):
    __namespace__ = NAMESPACE
    label = Unicode
    value = Double


class ClassScore(ComplexModel):
    __namespace__ = NAMESPACE
    _type_info = [("class", Unicode), ("confidence", Double)]


class PredictionResult(ComplexModel):
    """One instance's answer: `prediction` is the number or label as text."""

    __namespace__ = NAMESPACE
    _type_info = [
        ("model", Unicode),
        ("prediction", Unicode),
        ("probabilities", Array(LabelProbability)),
        ("sentimentScore", Double),
        ("classification", Unicode),
        ("classes", Array(ClassScore)),
        ("cached", Boolean),
        ("latencyMs", Double),
    ]


class DoubleRow(ComplexModel):
    __namespace__ = NAMESPACE
    values = Array(Double)


class ModelInfo(ComplexModel):
    __namespace__ = NAMESPACE
    _type_info = [
        ("id", Integer),
        ("name", Unicode),
        ("version", Integer),
        ("ref", Unicode),
        ("task", Unicode),
        ("status", Unicode),
        ("stage", Unicode),
        ("featureNames", Array(Unicode)),
        ("labels", Array(Unicode)),
    ]

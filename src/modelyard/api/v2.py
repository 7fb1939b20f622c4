"""The Open Inference Protocol (V2, as KServe and Triton speak it) over deployments: a
deployment is a V2 model, one input tensor per signature column."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from modelyard.api.dataplane import JSON, SCALAR_SCHEMA, DataPlane
from modelyard.api.limits import UNBOUNDED
from modelyard.api.scoring import SCORING_ERRORS, client_of, reply_to, runtime_of, secret_of
from modelyard.domain.errors import NotReady
from modelyard.serving.live import LiveDeployment

router = APIRouter(
    prefix="/v2",
    tags=["scoring (Open Inference Protocol V2)"],
    max_body_size=UNBOUNDED,  # bounded per deployment, after its key is checked
)
V2_TYPES = {"float": "FP64", "integer": "INT64", "boolean": "BOOL"}


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


@router.get("/health/live", response_model=Live, summary="The server process is up")
async def live() -> Live:
    return Live(live=True)


@router.get(
    "/health/ready",
    response_model=Ready,
    responses={503: {"description": "A deployment's current revision is not loaded yet"}},
    summary="Every deployment's current revision is loaded and answering in this worker",
)
async def ready(request: Request) -> Ready:
    if not runtime_of(request).ready:
        raise NotReady("not ready: deployments are still loading or failed to load")
    return Ready(ready=True)


async def _authorized(request: Request, name: str) -> LiveDeployment:
    plane: DataPlane = request.app.state.dataplane
    return await plane.open(name, secret_of(request), client_of(request))


@router.get(
    "/models/{name}",
    response_model=ModelMetadata,
    responses=SCORING_ERRORS,
    summary="A deployment's inputs and outputs as V2 tensors",
)
async def metadata(name: str, request: Request) -> ModelMetadata:
    deployment = await _authorized(request, name)
    first = deployment.live[0]
    inputs = [
        TensorMetadata(name=f.name, datatype=V2_TYPES.get(f.type, "BYTES"), shape=[-1])
        for f in first.schema.fields
    ]
    outputs = [TensorMetadata(name="predict", datatype="BYTES", shape=[-1])]
    if first.model.classes is not None:
        outputs.append(
            TensorMetadata(
                name="predict_proba", datatype="FP64", shape=[-1, len(first.model.classes)]
            )
        )
    return ModelMetadata(
        name=name,
        versions=[v.name for v in deployment.live],
        platform="modelyard",
        inputs=inputs,
        outputs=outputs,
    )


@router.get(
    "/models/{name}/ready",
    response_model=ModelReady,
    responses=SCORING_ERRORS,
    summary="The deployment's current revision is loaded in this worker",
)
async def model_ready(name: str, request: Request) -> ModelReady:
    await _authorized(request, name)
    return ModelReady(name=name, ready=True)


_INFER_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        JSON: {
            "schema": {
                "type": "object",
                "required": ["inputs"],
                "properties": {
                    "id": {"type": "string"},
                    "inputs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "shape", "datatype", "data"],
                            "properties": {
                                "name": {"type": "string"},
                                "shape": {"type": "array", "items": {"type": "integer"}},
                                "datatype": {"type": "string"},
                                "data": {"type": "array", "items": SCALAR_SCHEMA},
                            },
                        },
                    },
                    "outputs": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                    },
                },
            }
        }
    },
}
_INFER_RESPONSE = {
    "description": "Inference response",
    "content": {
        JSON: {
            "schema": {
                "type": "object",
                "required": ["model_name", "outputs"],
                "properties": {
                    "model_name": {"type": "string"},
                    "model_version": {"type": "string"},
                    "id": {"type": "string"},
                    "outputs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "shape", "datatype", "data"],
                            "properties": {
                                "name": {"type": "string"},
                                "shape": {"type": "array", "items": {"type": "integer"}},
                                "datatype": {"type": "string"},
                                "data": {"type": "array", "items": SCALAR_SCHEMA},
                            },
                        },
                    },
                },
            }
        }
    },
}


@router.post(
    "/models/{name}/infer",
    summary="Score with the Open Inference Protocol",
    openapi_extra={"requestBody": _INFER_BODY},
    responses={200: _INFER_RESPONSE, **SCORING_ERRORS},
    response_class=Response,
)
async def infer(name: str, request: Request) -> Response:
    return await reply_to(request, "v2", name)

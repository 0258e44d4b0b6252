"""The API description is a contract: it resolves offline and validates as OpenAPI 3."""
from openapi_spec_validator import validate

from geoserver.openapi import ref_nodes, remote_refs


def test_ogc_openapi_has_no_remote_references(client):
    document = client.get("/ogc/openapi?f=json").json()
    assert remote_refs(document) == []


def test_ogc_openapi_validates_as_openapi_3(client):
    validate(client.get("/ogc/openapi?f=json").json())


def test_every_local_reference_resolves(client):
    document = client.get("/ogc/openapi?f=json").json()
    for ref in {node["$ref"] for node in ref_nodes(document)}:
        node = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        assert node is not None, ref


def test_items_operation_declares_datetime_for_a_collection_without_time(client):
    document = client.get("/ogc/openapi?f=json").json()
    refs = [p.get("$ref", p.get("name")) for p in
            document["paths"]["/collections/districts/items"]["get"]["parameters"]]
    assert "#/components/parameters/datetime" in refs

"""Scenarios run on MLMD's own store and on ours through the same client API.

Together they call every RPC of ``MetadataStoreService`` (the four the Python client
has no method for through ``store._call``), with good input and bad.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ml_metadata.metadata_store import metadata_store as mlmd
from ml_metadata.proto import metadata_store_pb2 as pb
from ml_metadata.proto import metadata_store_service_pb2 as svc

Scenario = Callable[[Any, Any], None]
PUT_EXECUTION = ("e", "a", "c")  # id spaces of put_execution's (execution, artifacts, contexts)
PUT_SUBGRAPH = ("e", "a", "c")
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


class OracleCannot(Exception):
    """MLMD's in-process library has no binding for this RPC (only its server has)."""


def raw(store: Any, method: str, request: Any) -> Any:
    response = getattr(svc, method + "Response")()
    try:
        store._call(method, request, response)
    except AttributeError as exc:
        raise OracleCannot(method) from exc
    return response


def _types(s: Any) -> tuple[int, int, int]:
    at = pb.ArtifactType(name="Dataset", description="rows")
    at.properties["rows"] = pb.INT
    at.properties["split"] = pb.STRING
    at.properties["score"] = pb.DOUBLE
    at.properties["meta"] = pb.STRUCT
    at.properties["ok"] = pb.BOOLEAN
    at.properties["blob"] = pb.PROTO
    et = pb.ExecutionType(name="Trainer", base_type=pb.ExecutionType.TRAIN)
    et.properties["lr"] = pb.DOUBLE
    ct = pb.ContextType(name="Run")
    ct.properties["owner"] = pb.STRING
    return s.put_artifact_type(at), s.put_execution_type(et), s.put_context_type(ct)


@scenario
def types_evolution(s: Any, rec: Any) -> None:
    a, e, c = _types(s)
    rec("types ids", lambda: [a, e, c], "t")
    rec("get artifact type", lambda: s.get_artifact_type("Dataset"))
    rec("get execution type", lambda: s.get_execution_type("Trainer"))
    rec("get context type", lambda: s.get_context_type("Run"))
    grown = pb.ArtifactType(name="Dataset")
    for k, v in (
        ("rows", pb.INT),
        ("split", pb.STRING),
        ("score", pb.DOUBLE),
        ("meta", pb.STRUCT),
        ("ok", pb.BOOLEAN),
        ("blob", pb.PROTO),
        ("extra", pb.STRING),
    ):
        grown.properties[k] = v
    rec("add field without can_add_fields", lambda: s.put_artifact_type(grown))
    rec(
        "add field with can_add_fields",
        lambda: s.put_artifact_type(grown, can_add_fields=True),
        "t",
    )
    fewer = pb.ArtifactType(name="Dataset")
    fewer.properties["rows"] = pb.INT
    rec("omit without can_omit_fields", lambda: s.put_artifact_type(fewer))
    rec("omit with can_omit_fields", lambda: s.put_artifact_type(fewer, can_omit_fields=True), "t")
    changed = pb.ArtifactType(name="Dataset")
    changed.properties["rows"] = pb.STRING
    rec("change data type", lambda: s.put_artifact_type(changed, can_omit_fields=True))
    unknown = pb.ArtifactType(name="Bad")
    unknown.properties["p"] = pb.UNKNOWN
    rec("unknown data type", lambda: s.put_artifact_type(unknown))
    rec("no type name", lambda: s.put_artifact_type(pb.ArtifactType()))
    rec("missing type", lambda: s.get_artifact_type("Nope"))
    rec("missing execution type", lambda: s.get_execution_type("Nope"))
    rec("missing context type", lambda: s.get_context_type("Nope"))
    rec("same name other kind", lambda: s.put_context_type(pb.ContextType(name="Dataset")), "t")
    v2 = pb.ArtifactType(name="Dataset", version="v2", external_id="ds-v2")
    rec("versioned type", lambda: s.put_artifact_type(v2), "t")
    rec("get versioned", lambda: s.get_artifact_type("Dataset", type_version="v2"))
    rec("get missing version", lambda: s.get_artifact_type("Dataset", type_version="v9"))
    rec(
        "dup external id",
        lambda: s.put_artifact_type(pb.ArtifactType(name="Other", external_id="ds-v2")),
    )
    rec("types by external id", lambda: s.get_artifact_types_by_external_ids(["ds-v2", "nope"]))
    rec("execution types by external id", lambda: s.get_execution_types_by_external_ids(["nope"]))
    rec("types by no external ids", lambda: s.get_artifact_types_by_external_ids([]))
    rec("context types by external id", lambda: s.get_context_types_by_external_ids(["nope"]))
    rec("all artifact types", lambda: s.get_artifact_types())
    rec("all execution types", lambda: s.get_execution_types())
    rec("all context types", lambda: s.get_context_types())
    rec("artifact types by id", lambda: s.get_artifact_types_by_id([a, 9999]))
    rec("execution types by id", lambda: s.get_execution_types_by_id([e]))
    rec("context types by id", lambda: s.get_context_types_by_id([c]))
    rec("artifact types by id of an execution type", lambda: s.get_artifact_types_by_id([e]))
    request = svc.PutTypesRequest(can_add_fields=True)
    request.artifact_types.add(name="Model").properties["acc"] = pb.DOUBLE
    request.execution_types.add(name="Evaluator")
    request.context_types.add(name="Pipeline")
    rec("PutTypes", lambda: raw(s, "PutTypes", request))
    rec("PutTypes again", lambda: raw(s, "PutTypes", request))
    bad = svc.PutTypesRequest()
    bad.artifact_types.add(name="Model").properties["acc"] = pb.INT
    rec("PutTypes conflict", lambda: raw(s, "PutTypes", bad))
    with_struct = pb.ExecutionType(name="Typed")
    with_struct.input_type.any.SetInParent()
    rec("execution type with input_type", lambda: s.put_execution_type(with_struct), "t")
    rec("get execution type with input_type", lambda: s.get_execution_type("Typed"))


def _artifact(type_id: int, **fields: Any) -> pb.Artifact:
    props = fields.pop("props", {})
    custom = fields.pop("custom", {})
    a = pb.Artifact(type_id=type_id, **fields)
    for k, v in props.items():
        _set(a.properties[k], v)
    for k, v in custom.items():
        _set(a.custom_properties[k], v)
    return a


def _set(target: pb.Value, v: Any) -> None:
    if isinstance(v, bool):
        target.bool_value = v
    elif isinstance(v, int):
        target.int_value = v
    elif isinstance(v, float):
        target.double_value = v
    elif isinstance(v, str):
        target.string_value = v
    elif isinstance(v, dict):
        target.struct_value.update(v)
    else:
        target.proto_value.Pack(v)


@scenario
def artifacts_crud(s: Any, rec: Any) -> None:
    a, e, c = _types(s)
    one = _artifact(
        a,
        uri="s3://b/1",
        name="one",
        state=pb.Artifact.LIVE,
        external_id="ext-1",
        props={
            "rows": 10,
            "split": "train",
            "score": 0.5,
            "meta": {"k": [1, "x"]},
            "ok": True,
            "blob": pb.Artifact(id=7),
        },
        custom={"note": "hi", "n": 3, "f": 1.25, "b": False, "st": {"a": {"b": 1}}},
    )
    ids = rec("put", lambda: s.put_artifacts([one, _artifact(a, uri="s3://b/2")]), "a")
    if not ids:
        return
    rec("get by id", lambda: s.get_artifacts_by_id(ids + [99999]))
    rec("get and types", lambda: s.get_artifacts_and_types_by_artifact_ids(ids))
    rec("by uri", lambda: s.get_artifacts_by_uri("s3://b/1"))
    rec(
        "by uris",
        lambda: raw(
            s, "GetArtifactsByURI", svc.GetArtifactsByURIRequest(uris=["s3://b/2", "s3://none"])
        ),
    )
    rec("by external id", lambda: s.get_artifacts_by_external_ids(["ext-1"]))
    rec("by type", lambda: s.get_artifacts_by_type("Dataset"))
    rec("by type missing", lambda: s.get_artifacts_by_type("Nope"))
    rec("by type and name", lambda: s.get_artifact_by_type_and_name("Dataset", "one"))
    rec("by type and missing name", lambda: s.get_artifact_by_type_and_name("Dataset", "zzz"))
    rec("wrong property type", lambda: s.put_artifacts([_artifact(a, props={"rows": "x"})]))
    rec("unknown property", lambda: s.put_artifacts([_artifact(a, props={"nope": 1})]))
    rec("unknown type id", lambda: s.put_artifacts([_artifact(9999)]))
    rec("no type id", lambda: s.put_artifacts([pb.Artifact(uri="x")]))
    rec("duplicate name", lambda: s.put_artifacts([_artifact(a, name="one")]))
    rec("duplicate external id", lambda: s.put_artifacts([_artifact(a, external_id="ext-1")]))
    rec("update missing id", lambda: s.put_artifacts([pb.Artifact(id=99999, type_id=a)]))
    rec("change type", lambda: s.put_artifacts([pb.Artifact(id=ids[0], type_id=e)]))
    rec("after failures", lambda: s.get_artifacts())
    update = _artifact(
        a,
        id=ids[0],
        uri="s3://b/1b",
        name="one",
        state=pb.Artifact.DELETED,
        props={"rows": 11},
        custom={"note": "changed"},
    )
    rec("update replaces", lambda: s.put_artifacts([update]), "a")
    rec("after update", lambda: s.get_artifacts_by_id([ids[0]]))
    masked = _artifact(a, id=ids[1], uri="ignored", props={"split": "eval"}, custom={"tag": "x"})
    rec(
        "update with mask",
        lambda: s.put_artifacts(
            [masked], field_mask_paths=["properties.split", "custom_properties.tag"]
        ),
        "a",
    )
    rec("after masked update", lambda: s.get_artifacts_by_id([ids[1]]))
    rec(
        "mask removes",
        lambda: s.put_artifacts(
            [_artifact(a, id=ids[1])], field_mask_paths=["custom_properties.tag"]
        ),
        "a",
    )
    rec("after mask removes", lambda: s.get_artifacts_by_id([ids[1]]))
    rec("empty uris", lambda: raw(s, "GetArtifactsByURI", svc.GetArtifactsByURIRequest()))
    rec("empty ids", lambda: s.get_artifacts_by_id([]))
    rec("empty external ids", lambda: s.get_artifacts_by_external_ids([]))
    rec("empty execution external ids", lambda: s.get_executions_by_external_ids([]))
    rec("empty context external ids", lambda: s.get_contexts_by_external_ids([]))
    odd = _artifact(a, uri="odd", custom={"st": {"nan": math.nan, "inf": math.inf, "m": -math.inf}})
    odd_ids = rec("struct with NaN and infinities", lambda: s.put_artifacts([odd]), "a")
    if odd_ids:
        rec(
            "NaN and infinities read back",
            lambda: sorted(
                (k, repr(v))
                for k, v in s.get_artifacts_by_id(odd_ids)[0]
                .custom_properties["st"]
                .struct_value.items()
            ),
        )


@scenario
def executions_and_contexts(s: Any, rec: Any) -> None:
    a, e, c = _types(s)
    ex = pb.Execution(type_id=e, name="train-1", last_known_state=pb.Execution.RUNNING)
    ex.properties["lr"].double_value = 0.1
    ex.custom_properties["epochs"].int_value = 3
    eids = rec("put executions", lambda: s.put_executions([ex, pb.Execution(type_id=e)]), "e")
    if not eids:
        return
    rec("executions by id", lambda: s.get_executions_by_id(eids))
    rec("executions", lambda: s.get_executions())
    rec("executions by type", lambda: s.get_executions_by_type("Trainer"))
    rec(
        "execution by type and name", lambda: s.get_execution_by_type_and_name("Trainer", "train-1")
    )
    rec("executions by external id", lambda: s.get_executions_by_external_ids(["none"]))
    done = pb.Execution(
        id=eids[0], type_id=e, name="train-1", last_known_state=pb.Execution.COMPLETE
    )
    rec("complete", lambda: s.put_executions([done]), "e")
    rec("after complete", lambda: s.get_executions_by_id([eids[0]]))
    rec(
        "execution bad property",
        lambda: s.put_executions(
            [pb.Execution(type_id=e, properties={"lr": pb.Value(int_value=1)})]
        ),
    )
    ctx = pb.Context(type_id=c, name="run-1", external_id="run-ext")
    ctx.properties["owner"].string_value = "me"
    cids = rec(
        "put contexts", lambda: s.put_contexts([ctx, pb.Context(type_id=c, name="run-2")]), "c"
    )
    if not cids:
        return
    rec("context without name", lambda: s.put_contexts([pb.Context(type_id=c)]))
    rec("duplicate context", lambda: s.put_contexts([pb.Context(type_id=c, name="run-1")]))
    rec("contexts", lambda: s.get_contexts())
    rec("contexts by id", lambda: s.get_contexts_by_id(cids))
    rec("contexts by type", lambda: s.get_contexts_by_type("Run"))
    rec("context by type and name", lambda: s.get_context_by_type_and_name("Run", "run-2"))
    rec("contexts by external id", lambda: s.get_contexts_by_external_ids(["run-ext"]))
    rec(
        "rename context",
        lambda: s.put_contexts([pb.Context(id=cids[1], type_id=c, name="run-2b")]),
        "c",
    )
    rec("after rename", lambda: s.get_contexts_by_id([cids[1]]))

    # An artifact's or execution's name stays as first written: MLMD ignores the name of
    # an update (renamed, cleared, set later, masked), silently.
    _names_stay(rec, s.put_artifacts, s.get_artifacts_by_id, lambda **k: _artifact(a, **k))
    _names_stay(
        rec, s.put_executions, s.get_executions_by_id, lambda **k: pb.Execution(type_id=e, **k)
    )


def _names_stay(rec: Any, put: Any, get: Any, make: Any) -> None:
    [named] = put([make(name="first")])
    [unnamed] = put([make()])
    rec("rename", lambda: put([make(id=named, name="second")]))
    rec("name cleared", lambda: put([make(id=named)]))
    rec("name masked", lambda: put([make(id=named, name="m")], field_mask_paths=["name"]))
    rec("name set later", lambda: put([make(id=unnamed, name="late")]))
    rec("names kept", lambda: [n.name for n in get([named, unnamed])])


@scenario
def events_and_links(s: Any, rec: Any) -> None:
    a, e, c = _types(s)
    aids = s.put_artifacts([_artifact(a, uri="in"), _artifact(a, uri="out")])
    [eid] = s.put_executions([pb.Execution(type_id=e)])
    [cid, cid2, cid3] = s.put_contexts(
        [
            pb.Context(type_id=c, name="p"),
            pb.Context(type_id=c, name="q"),
            pb.Context(type_id=c, name="r"),
        ]
    )
    inp = pb.Event(artifact_id=aids[0], execution_id=eid, type=pb.Event.INPUT)
    inp.path.steps.add().key = "data"
    inp.path.steps.add().index = 0
    out = pb.Event(artifact_id=aids[1], execution_id=eid, type=pb.Event.OUTPUT)
    rec("put events", lambda: s.put_events([inp, out]))
    rec("duplicate event", lambda: s.put_events([inp]))
    rec(
        "event without type",
        lambda: s.put_events([pb.Event(artifact_id=aids[0], execution_id=eid)]),
    )
    rec(
        "event unknown artifact",
        lambda: s.put_events([pb.Event(artifact_id=99999, execution_id=eid, type=pb.Event.INPUT)]),
    )
    rec(
        "event unknown execution",
        lambda: s.put_events(
            [pb.Event(artifact_id=aids[0], execution_id=99999, type=pb.Event.INPUT)]
        ),
    )
    rec("events by execution", lambda: s.get_events_by_execution_ids([eid]))
    rec("events by artifact", lambda: s.get_events_by_artifact_ids([aids[1], 99999]))
    rec(
        "attribution and association",
        lambda: s.put_attributions_and_associations(
            [pb.Attribution(context_id=cid, artifact_id=aids[0])],
            [pb.Association(context_id=cid, execution_id=eid)],
        ),
    )
    rec(
        "attribution again (no error)",
        lambda: s.put_attributions_and_associations(
            [pb.Attribution(context_id=cid, artifact_id=aids[0])], []
        ),
    )
    rec(
        "attribution unknown artifact",
        lambda: s.put_attributions_and_associations(
            [pb.Attribution(context_id=cid, artifact_id=99999)], []
        ),
    )
    rec(
        "association unknown context",
        lambda: s.put_attributions_and_associations(
            [], [pb.Association(context_id=99999, execution_id=eid)]
        ),
    )
    rec("contexts by artifact", lambda: s.get_contexts_by_artifact(aids[0]))
    rec("contexts by execution", lambda: s.get_contexts_by_execution(eid))
    rec("contexts by unattributed artifact", lambda: s.get_contexts_by_artifact(aids[1]))
    rec("artifacts by context", lambda: s.get_artifacts_by_context(cid))
    rec("executions by context", lambda: s.get_executions_by_context(cid))
    rec("parent", lambda: s.put_parent_contexts([pb.ParentContext(child_id=cid2, parent_id=cid)]))
    rec(
        "grandparent",
        lambda: s.put_parent_contexts([pb.ParentContext(child_id=cid3, parent_id=cid2)]),
    )
    rec(
        "duplicate parent",
        lambda: s.put_parent_contexts([pb.ParentContext(child_id=cid2, parent_id=cid)]),
    )
    rec("cycle", lambda: s.put_parent_contexts([pb.ParentContext(child_id=cid, parent_id=cid3)]))
    rec(
        "self parent",
        lambda: s.put_parent_contexts([pb.ParentContext(child_id=cid, parent_id=cid)]),
    )
    rec(
        "missing parent",
        lambda: s.put_parent_contexts([pb.ParentContext(child_id=cid, parent_id=99999)]),
    )
    rec("parents", lambda: s.get_parent_contexts_by_context(cid2))
    rec("children", lambda: s.get_children_contexts_by_context(cid))
    rec("no parents", lambda: s.get_parent_contexts_by_context(cid))
    rec(
        "parents by contexts",
        lambda: raw(
            s,
            "GetParentContextsByContexts",
            svc.GetParentContextsByContextsRequest(context_ids=[cid, cid2, cid3]),
        ),
    )
    rec(
        "children by contexts",
        lambda: raw(
            s,
            "GetChildrenContextsByContexts",
            svc.GetChildrenContextsByContextsRequest(context_ids=[cid, cid2]),
        ),
    )


@scenario
def put_execution_atomic(s: Any, rec: Any) -> None:
    a, e, c = _types(s)
    ctx = pb.Context(type_id=c, name="run-x")
    ex = pb.Execution(type_id=e, last_known_state=pb.Execution.COMPLETE)
    pairs = [
        (_artifact(a, uri="data"), pb.Event(type=pb.Event.INPUT)),
        (_artifact(a, uri="model", external_id="m-1"), pb.Event(type=pb.Event.OUTPUT)),
    ]
    result = rec("put_execution", lambda: s.put_execution(ex, pairs, [ctx]), PUT_EXECUTION)
    if result is None:
        return
    eid, aids, cids = result
    rec("ids", lambda: [eid], "e")
    rec("aids", lambda: aids, "a")
    rec("cids", lambda: cids, "c")
    rec(
        "context reuse off",
        lambda: s.put_execution(pb.Execution(type_id=e), [], [pb.Context(type_id=c, name="run-x")]),
        PUT_EXECUTION,
    )
    rec("count after failed", lambda: s.get_executions())
    rec(
        "context reuse on",
        lambda: s.put_execution(
            pb.Execution(type_id=e),
            [],
            [pb.Context(type_id=c, name="run-x")],
            reuse_context_if_already_exist=True,
        ),
        PUT_EXECUTION,
    )
    rec(
        "artifact reuse by external id",
        lambda: s.put_execution(
            pb.Execution(type_id=e),
            [(_artifact(a, uri="model", external_id="m-1"), pb.Event(type=pb.Event.INPUT))],
            [],
            reuse_artifact_if_already_exist_by_external_id=True,
        ),
        PUT_EXECUTION,
    )
    rec(
        "bad artifact rolls back all",
        lambda: s.put_execution(
            pb.Execution(type_id=e, name="should-not-exist"),
            [
                (_artifact(a, uri="fine"), pb.Event(type=pb.Event.OUTPUT)),
                (_artifact(a, props={"rows": "bad"}), None),
            ],
            [pb.Context(type_id=c, name="also-not")],
        ),
        PUT_EXECUTION,
    )
    rec("nothing half written: executions", lambda: s.get_executions())
    rec("nothing half written: artifacts", lambda: s.get_artifacts())
    rec("nothing half written: contexts", lambda: s.get_contexts())
    rec(
        "update execution via put_execution",
        lambda: s.put_execution(
            pb.Execution(id=eid, type_id=e, last_known_state=pb.Execution.FAILED), [], []
        ),
        PUT_EXECUTION,
    )
    rec("events", lambda: s.get_events_by_execution_ids([eid]))
    rec("attributed", lambda: s.get_artifacts_by_context(cids[0]))
    rec("associated", lambda: s.get_executions_by_context(cids[0]))


@scenario
def lineage_subgraph(s: Any, rec: Any) -> None:
    a, e, c = _types(s)
    [ctx] = s.put_contexts([pb.Context(type_id=c, name="run")])
    previous = None
    for i in range(5):
        pairs = []
        if previous is not None:
            pairs.append((s.get_artifacts_by_id([previous])[0], pb.Event(type=pb.Event.INPUT)))
        pairs.append((_artifact(a, uri=f"a{i}", name=f"a{i}"), pb.Event(type=pb.Event.OUTPUT)))
        _, aids, _ = s.put_execution(
            pb.Execution(type_id=e, name=f"step{i}"),
            pairs,
            [pb.Context(id=ctx, type_id=c, name="run")],
        )
        previous = aids[-1]
    # a side branch: a2 also feeds an evaluator
    [ev] = s.put_executions([pb.Execution(type_id=e, name="eval")])
    a2 = s.get_artifact_by_type_and_name("Dataset", "a2").id
    s.put_events([pb.Event(artifact_id=a2, execution_id=ev, type=pb.Event.INPUT)])

    def subgraph(start: str, hops: int, direction: Any, **kw: Any) -> Any:
        options = pb.LineageSubgraphQueryOptions(max_num_hops=hops, direction=direction)
        if start == "a":
            options.starting_artifacts.filter_query = kw.pop("query", "name = 'a4'")
        else:
            options.starting_executions.filter_query = kw.pop("query", "name = 'step0'")
        if "ending" in kw:
            options.ending_artifacts.filter_query = kw.pop("ending")
            options.ending_artifacts.include_ending_nodes = kw.pop("include", False)
        graph = s.get_lineage_subgraph(options, **kw)
        return _sorted_graph(graph)

    D = pb.LineageSubgraphQueryOptions
    for hops in (0, 1, 2, 4, 20):
        rec(f"upstream a4 hops={hops}", lambda hops=hops: subgraph("a", hops, D.UPSTREAM))
    rec("downstream step0", lambda: subgraph("e", 20, D.DOWNSTREAM))
    rec("bidirectional a2", lambda: subgraph("a", 3, D.BIDIRECTIONAL, query="name = 'a2'"))
    rec("upstream ending at a1", lambda: subgraph("a", 20, D.UPSTREAM, ending="name = 'a1'"))
    rec(
        "upstream from an id, ending at a1",
        lambda: subgraph("a", 20, D.UPSTREAM, query=f"id = {previous}", ending="name = 'a1'"),
    )
    rec(
        "upstream ending at a1 included",
        lambda: subgraph("a", 20, D.UPSTREAM, ending="name = 'a1'", include=True),
    )
    rec(
        "field mask", lambda: subgraph("a", 2, D.UPSTREAM, field_mask_paths=["artifacts", "events"])
    )
    rec(
        "types mask",
        lambda: subgraph(
            "a", 2, D.UPSTREAM, field_mask_paths=["artifact_types", "execution_types"]
        ),
    )
    rec("no match", lambda: subgraph("a", 2, D.UPSTREAM, query="name = 'zzz'"))
    rec("bad filter", lambda: subgraph("a", 2, D.UPSTREAM, query="name = "))
    rec(
        "no starting nodes",
        lambda: s.get_lineage_subgraph(pb.LineageSubgraphQueryOptions(max_num_hops=2)),
    )
    rec("negative hops", lambda: subgraph("a", -1, D.UPSTREAM))
    unset_hops = pb.LineageSubgraphQueryOptions(direction=D.BIDIRECTIONAL)
    unset_hops.starting_artifacts.filter_query = "name = 'a2'"
    rec("hops unset", lambda: _sorted_graph(s.get_lineage_subgraph(unset_hops)))
    request = svc.GetLineageGraphRequest()
    request.options.artifacts_options.filter_query = "name = 'a0'"
    request.options.stop_conditions.max_num_hops = 2
    rec("GetLineageGraph", lambda: _sorted_graph(raw(s, "GetLineageGraph", request).subgraph))
    request2 = svc.GetLineageGraphRequest()
    request2.options.artifacts_options.filter_query = "name = 'a2'"
    request2.options.stop_conditions.max_num_hops = 10
    request2.options.stop_conditions.boundary_executions = "name != 'eval'"
    rec(
        "GetLineageGraph boundary",
        lambda: _sorted_graph(raw(s, "GetLineageGraph", request2).subgraph),
    )


def _sorted_graph(graph: Any) -> Any:
    """MLMD does not promise an order inside a lineage graph: compare sorted."""
    out = pb.LineageGraph()
    out.CopyFrom(graph)
    for name, key in (
        ("artifacts", lambda x: x.id),
        ("executions", lambda x: x.id),
        ("contexts", lambda x: x.id),
        ("artifact_types", lambda x: x.id),
        ("execution_types", lambda x: x.id),
        ("context_types", lambda x: x.id),
        ("events", lambda x: (x.artifact_id, x.execution_id, x.type)),
        ("attributions", lambda x: (x.context_id, x.artifact_id)),
        ("associations", lambda x: (x.context_id, x.execution_id)),
    ):
        items = sorted(getattr(out, name), key=key)
        copies = [type(i)() for i in items]
        for c, i in zip(copies, items, strict=True):
            c.CopyFrom(i)
        del getattr(out, name)[:]
        getattr(out, name).extend(copies)
    return out


@scenario
def listing_and_paging(s: Any, rec: Any) -> None:
    a, e, c = _types(s)
    ids = s.put_artifacts(
        [_artifact(a, uri=f"u{i}", name=f"n{i:02d}", props={"rows": i}) for i in range(25)]
    )
    [ctx] = s.put_contexts([pb.Context(type_id=c, name="ctx")])
    s.put_attributions_and_associations(
        [pb.Attribution(context_id=ctx, artifact_id=i) for i in ids[:12]], []
    )
    L = mlmd.ListOptions
    Order = mlmd.OrderByField
    rec("limit 5", lambda: s.get_artifacts(list_options=L(limit=5)))
    rec(
        "limit 5 desc by id",
        lambda: s.get_artifacts(list_options=L(limit=5, order_by=Order.ID, is_asc=False)),
    )
    rec(
        "by create time",
        lambda: s.get_artifacts(list_options=L(limit=30, order_by=Order.CREATE_TIME, is_asc=True)),
    )
    rec(
        "filtered",
        lambda: s.get_artifacts(list_options=L(filter_query="properties.rows.int_value >= 20")),
    )
    rec(
        "filtered by uri like",
        lambda: s.get_artifacts(list_options=L(filter_query="uri LIKE 'u1%'")),
    )
    by_type = svc.GetArtifactsByTypeRequest(type_name="Dataset")
    by_type.options.max_result_size = 7
    rec("by type paged", lambda: raw(s, "GetArtifactsByType", by_type))
    rec(
        "by context paged",
        lambda: s.get_artifacts_by_context(
            ctx, list_options=L(limit=5, order_by=Order.ID, is_asc=False)
        ),
    )
    rec("bad filter", lambda: s.get_artifacts(list_options=L(filter_query="rows >>> 3")))
    for query in (  # arithmetic, as ZetaSQL has it: '/' divides exactly, by zero is NULL
        "properties.rows.int_value + 1 = 3",
        "properties.rows.int_value * 2 - 1 > 40",
        "properties.rows.int_value / 4 = 1.25",
        "(properties.rows.int_value + 1) / 2 = 3",
        "properties.rows.int_value - 1 - 1 = 5",
        "properties.rows.int_value / 0 = 1",
        "-properties.rows.int_value + 30 BETWEEN 5 AND 7",
        "properties.rows.int_value + 1 IN (2, 4)",
        "uri + 1 = 2",
        "properties.rows.int_value + 'a' = 1",
    ):
        rec(f"filter {query}", lambda q=query: s.get_artifacts(list_options=L(filter_query=q)))
    rec("bad limit", lambda: s.get_artifacts(list_options=L(limit=-1)))
    # raw paging with tokens
    request = svc.GetArtifactsRequest()
    request.options.max_result_size = 10
    pages = []
    while True:
        response = raw(s, "GetArtifacts", request)
        pages.append([x.id for x in response.artifacts])
        if not response.next_page_token:
            break
        request.options.next_page_token = response.next_page_token
    rec("pages", lambda: pages, "a")
    bad = svc.GetArtifactsRequest()
    bad.options.max_result_size = 10
    bad.options.next_page_token = "not-a-token"
    rec("bad token", lambda: raw(s, "GetArtifacts", bad))
    rec("executions paged empty", lambda: s.get_executions(list_options=L(limit=3)))
    rec("contexts filtered", lambda: s.get_contexts(list_options=L(filter_query="name = 'ctx'")))


@scenario
def put_lineage_subgraph(s: Any, rec: Any) -> None:
    a, e, c = _types(s)
    edge_in = pb.Event(type=pb.Event.INPUT)
    edge_out = pb.Event(type=pb.Event.OUTPUT)
    result = rec(
        "put_lineage_subgraph",
        lambda: s.put_lineage_subgraph(
            [pb.Execution(type_id=e, name="x1")],
            [_artifact(a, uri="in"), _artifact(a, uri="out")],
            [pb.Context(type_id=c, name="sub")],
            [(0, 0, edge_in), (0, 1, edge_out)],
        ),
        PUT_SUBGRAPH,
    )
    if result:
        rec("events", lambda: s.get_events_by_execution_ids(result[0]))
        rec("in context", lambda: s.get_artifacts_by_context(result[2][0]))
    rec(
        "bad index rolls back",
        lambda: s.put_lineage_subgraph(
            [pb.Execution(type_id=e, name="x2")], [_artifact(a, uri="z")], [], [(0, 5, edge_in)]
        ),
        PUT_SUBGRAPH,
    )
    rec("no x2", lambda: s.get_execution_by_type_and_name("Trainer", "x2"))
    # An edge may name a stored node by the event's own id instead of an index.
    [stored_e] = s.put_executions([pb.Execution(type_id=e, name="stored")])
    [stored_a] = s.put_artifacts([_artifact(a, uri="stored")])
    rec(
        "edges to stored nodes",
        lambda: s.put_lineage_subgraph(
            [pb.Execution(type_id=e, name="x3")],
            [_artifact(a, uri="new")],
            [],
            [
                (None, 0, pb.Event(type=pb.Event.INPUT, execution_id=stored_e)),
                (0, None, pb.Event(type=pb.Event.INPUT, artifact_id=stored_a)),
                (
                    None,
                    None,
                    pb.Event(type=pb.Event.OUTPUT, execution_id=stored_e, artifact_id=stored_a),
                ),
            ],
        ),
        PUT_SUBGRAPH,
    )
    rec("events of stored", lambda: s.get_events_by_execution_ids([stored_e]))
    rec(
        "edge naming no execution",
        lambda: s.put_lineage_subgraph(
            [], [_artifact(a, uri="lost")], [], [(None, 0, pb.Event(type=pb.Event.INPUT))]
        ),
        PUT_SUBGRAPH,
    )
    rec("no lost artifact", lambda: s.get_artifacts_by_uri("lost"))
    rec(
        "reuse context",
        lambda: s.put_lineage_subgraph(
            [pb.Execution(type_id=e)],
            [],
            [pb.Context(type_id=c, name="sub")],
            [],
            reuse_context_if_already_exist=True,
        ),
        PUT_SUBGRAPH,
    )


@scenario
def edge_requests(s: Any, rec: Any) -> None:
    """Requests at the edges of what MLMD accepts: empty names, built-in types, odd
    filters and masks. MLMD's answer (a result or an error class) is the expected one."""
    a, e, c = _types(s)
    [aid] = s.put_artifacts([_artifact(a, uri="edge", name="edge")])
    [eid] = s.put_executions([pb.Execution(type_id=e)])
    L = mlmd.ListOptions
    rec("artifacts by empty type", lambda: s.get_artifacts_by_type(""))
    rec("executions by empty type", lambda: s.get_executions_by_type(""))
    rec("contexts by empty type", lambda: s.get_contexts_by_type(""))
    rec("artifact by empty type and name", lambda: s.get_artifact_by_type_and_name("", "edge"))
    rec("artifact by type and empty name", lambda: s.get_artifact_by_type_and_name("Dataset", ""))
    rec("execution by empty type", lambda: s.get_execution_by_type_and_name("", "x"))
    rec("context by empty name", lambda: s.get_context_by_type_and_name("Run", ""))
    rec("empty artifact type name", lambda: s.get_artifact_type(""))
    rec("empty execution type name", lambda: s.get_execution_type(""))
    rec("empty context type name", lambda: s.get_context_type(""))
    rec("built-in artifact types by id", lambda: s.get_artifact_types_by_id([1, 2, 3, 4, a, a]))
    rec("built-in execution types by id", lambda: s.get_execution_types_by_id([5, 9, e]))
    not_all = svc.PutArtifactTypeRequest(
        artifact_type=pb.ArtifactType(name="Loose"), all_fields_match=False
    )
    rec("put type, all_fields_match false", lambda: raw(s, "PutArtifactType", not_all))
    rec("whitespace filter", lambda: s.get_artifacts(list_options=L(filter_query="   ")))
    rec(
        "event type out of enum",
        lambda: s.get_artifacts(list_options=L(filter_query="events_0.type = 99")),
    )
    rec(
        "state out of enum",
        lambda: s.get_artifacts(list_options=L(filter_query="state IN (LIVE, 99)")),
    )
    empty_start = pb.LineageSubgraphQueryOptions(max_num_hops=2)
    empty_start.starting_artifacts.filter_query = ""
    rec("lineage from empty filter", lambda: s.get_lineage_subgraph(empty_start))
    start = pb.LineageSubgraphQueryOptions(max_num_hops=2)
    start.starting_artifacts.filter_query = f"id = {aid}"
    rec(
        "lineage with unknown read mask",
        lambda: s.get_lineage_subgraph(start, field_mask_paths=["artifacts", "nonsense"]),
    )
    rec(
        "update with unknown mask path",
        lambda: s.put_artifacts(
            [_artifact(a, id=aid, uri="edge2")], field_mask_paths=["uri", "nonsense"]
        ),
    )
    rec("after unknown mask path", lambda: s.get_artifacts_by_id([aid]))
    rec(
        "update with unknown mask paths only",
        lambda: s.put_artifacts([_artifact(a, id=aid, uri="edge3")], field_mask_paths=["nope"]),
    )
    rec("after unknown mask paths only", lambda: s.get_artifacts_by_id([aid]))
    rec(
        "lineage with unknown read mask only",
        lambda: s.get_lineage_subgraph(start, field_mask_paths=["nonsense"]),
    )
    rec("built-in type by name", lambda: s.get_artifact_type("mlmd.Dataset"))
    rec("built-in types by id, in the order asked", lambda: s.get_artifact_types_by_id([a, 1, a]))
    empty_filter = svc.GetArtifactsRequest()
    empty_filter.options.filter_query = ""
    rec("empty filter set", lambda: raw(s, "GetArtifacts", empty_filter))
    step_less = pb.Event(artifact_id=aid, execution_id=eid, type=pb.Event.INPUT)
    step_less.path.steps.add()
    rec("event with an empty path step", lambda: s.put_events([step_less]))
    rec("events after", lambda: s.get_events_by_execution_ids([eid]))
    rec(
        "artifacts by context without id",
        lambda: raw(s, "GetArtifactsByContext", svc.GetArtifactsByContextRequest()),
    )
    rec(
        "executions by context without id",
        lambda: raw(s, "GetExecutionsByContext", svc.GetExecutionsByContextRequest()),
    )


@scenario
def strings_byte_for_byte(s: Any, rec: Any) -> None:
    """Names, values and filters that differ only by case, trailing spaces, accents or
    emoji are distinct, as in MLMD's SQLite (MySQL's default collations are case- and
    accent-insensitive, pad spaces and take all emoji as one character)."""
    a, e, c = _types(s)
    names = ["Model", "model", "model ", "modèl", "😀", "😁"]
    ids = [s.put_artifacts([_artifact(a, name=n, uri=n, custom={"tag": n})])[0] for n in names]
    rec("distinct names", lambda: ids, "a")
    rec(
        "property names by case",
        lambda: s.put_artifacts([_artifact(a, custom={"k": 1, "K": 2})]),
        "a",
    )
    rec("by type and name", lambda: [s.get_artifact_by_type_and_name("Dataset", n) for n in names])
    rec("by uri", lambda: [s.get_artifacts_by_uri(u) for u in ("model", "😁")])
    rec("types by case", lambda: s.put_artifact_type(pb.ArtifactType(name="dataset")), "t")
    rec("type by name", lambda: s.get_artifact_type("dataset"))
    ctx = [s.put_contexts([pb.Context(type_id=c, name=n)])[0] for n in ("r", "R", "r ")]
    rec("contexts by case", lambda: ctx, "c")
    L = mlmd.ListOptions
    for query in (
        "name = 'model'",
        "name = 'model ' OR name = '😁'",
        "custom_properties.tag.string_value = 'modèl'",
        "name < 'model'",
        "name BETWEEN 'A' AND 'a'",
        "uri LIKE 'MODEL%'",
        "uri LIKE 'mod_l%'",
    ):
        rec(f"filter {query}", lambda q=query: s.get_artifacts(list_options=L(filter_query=q)))


@scenario
def lineage_walked_edges(s: Any, rec: Any) -> None:
    """Which events a lineage answer holds: MLMD's walk adds an event only where it
    walked it, so an edge pointing against the direction stays out even when both of its
    nodes are in the answer; a starting node that is also an ending node is dropped
    unless ending nodes are included, and never walked from."""
    at = s.put_artifact_type(pb.ArtifactType(name="File"))
    et = s.put_execution_type(pb.ExecutionType(name="Step"))
    a1, a2, a3, a4 = s.put_artifacts([pb.Artifact(type_id=at, uri=f"/a{i}") for i in range(4)])
    e1, e2, e3 = s.put_executions([pb.Execution(type_id=et) for _ in range(3)])
    i_, o_ = pb.Event.INPUT, pb.Event.OUTPUT
    # a1 -> e1 -> a2 -> e2 -> a3, and a shortcut a1 -> e2; e3 reads a2 and writes a4
    s.put_events(
        [
            pb.Event(artifact_id=a1, execution_id=e1, type=i_),
            pb.Event(artifact_id=a2, execution_id=e1, type=o_),
            pb.Event(artifact_id=a2, execution_id=e2, type=i_),
            pb.Event(artifact_id=a3, execution_id=e2, type=o_),
            pb.Event(artifact_id=a1, execution_id=e2, type=i_),
            pb.Event(artifact_id=a2, execution_id=e3, type=i_),
            pb.Event(artifact_id=a4, execution_id=e3, type=o_),
        ]
    )
    D = pb.LineageSubgraphQueryOptions

    def subgraph(
        query: str,
        hops: int,
        direction: Any,
        ending: str | None = None,
        include: bool = False,
        executions: bool = False,
    ) -> Any:
        options = pb.LineageSubgraphQueryOptions(max_num_hops=hops, direction=direction)
        start = options.starting_executions if executions else options.starting_artifacts
        start.filter_query = query
        if ending is not None:
            end = options.ending_executions if executions else options.ending_artifacts
            end.filter_query = ending
            end.include_ending_nodes = include
        return _sorted_graph(s.get_lineage_subgraph(options))

    two = f"id IN ({a2}, {a3})"
    for direction in (D.UPSTREAM, D.DOWNSTREAM, D.BIDIRECTIONAL):
        name = D.Direction.Name(direction)
        for hops in (1, 2, 3, 4):
            rec(f"{name} from a2, a3, {hops} hops", lambda d=direction, h=hops: subgraph(two, h, d))
            rec(
                f"{name} from a1, {hops} hops",
                lambda d=direction, h=hops: subgraph(f"id = {a1}", h, d),
            )
        for include in (False, True):
            rec(
                f"{name} from a1 ending at a1, include={include}",
                lambda d=direction, i=include: subgraph(f"id = {a1}", 4, d, f"id = {a1}", i),
            )
            rec(
                f"{name} from a1, a3 ending at a3, include={include}",
                lambda d=direction, i=include: subgraph(
                    f"id IN ({a1}, {a3})", 4, d, f"id = {a3}", i
                ),
            )
            rec(
                f"{name} from a1 ending at a2, include={include}",
                lambda d=direction, i=include: subgraph(f"id = {a1}", 4, d, f"id = {a2}", i),
            )
            rec(
                f"{name} from e2 ending at e2, include={include}",
                lambda d=direction, i=include: subgraph(
                    f"id = {e2}", 4, d, f"id = {e2}", i, executions=True
                ),
            )


@scenario
def upserts_at_the_edges(s: Any, rec: Any) -> None:
    """Reusing an artifact by external_id updates it; an artifact put without a uri
    has uri ''; base types may be added to a type, never changed or unset; a property
    path naming no property is ignored; a page token survives a new filter_query."""
    at = s.put_artifact_type(pb.ArtifactType(name="Blob"))
    et = s.put_execution_type(pb.ExecutionType(name="Job"))
    old = pb.Artifact(type_id=at, uri="/old", external_id="ext-1", state=pb.Artifact.PENDING)
    old.custom_properties["stale"].int_value = 1
    s.put_artifacts([old])
    new = pb.Artifact(type_id=at, uri="/new", external_id="ext-1", state=pb.Artifact.LIVE)
    new.custom_properties["fresh"].string_value = "yes"
    rec(
        "put_execution reusing an artifact by external_id",
        lambda: s.put_execution(
            pb.Execution(type_id=et),
            [(new, pb.Event(type=pb.Event.OUTPUT))],
            [],
            reuse_artifact_if_already_exist_by_external_id=True,
        ),
        PUT_EXECUTION,
    )
    rec("the reused artifact", lambda: s.get_artifacts_by_external_ids(["ext-1"]))

    [bare] = s.put_artifacts([pb.Artifact(type_id=at, name="no-uri")])
    rec("artifact put without a uri", lambda: s.get_artifacts_by_id([bare]))
    rec("artifacts by uri ''", lambda: s.get_artifacts_by_uri(""))
    for query in ("uri = ''", "uri IS NULL", "uri IS NOT NULL"):
        rec(f"filter {query}", lambda q=query: s.get_artifacts(mlmd.ListOptions(filter_query=q)))
    [moved] = s.put_artifacts([pb.Artifact(type_id=at, name="moved", uri="/x")])
    s.put_artifacts([pb.Artifact(id=moved, type_id=at, name="moved")], field_mask_paths=["uri"])
    rec("uri cleared through a field mask", lambda: s.get_artifacts_by_id([moved]))

    A = pb.ArtifactType
    steps = [
        ("no base type, then DATASET", "B1", [None, A.DATASET]),
        ("DATASET, then none", "B2", [A.DATASET, None]),
        ("DATASET, then MODEL", "B3", [A.DATASET, A.MODEL]),
        ("DATASET, then UNSET", "B4", [A.DATASET, A.UNSET]),
        ("UNSET for a new type", "B5", [A.UNSET]),
    ]
    for label, name, bases in steps:
        for base in bases:
            t = A(name=name) if base is None else A(name=name, base_type=base)
            rec(f"base types {label}: put {base}", lambda t=t: s.put_artifact_type(t), "t")
        rec(
            f"base types {label}: stored",
            lambda n=name: s.get_artifact_types_by_id(
                [t.id for t in s.get_artifact_types() if t.name == n]
            ),
        )
    for external_id in ("x-1", "x-2", None, "x-10"):
        t = A(name="Relabelled", external_id=external_id) if external_id else A(name="Relabelled")
        rec(
            f"type put again with external_id {external_id}",
            lambda t=t: s.put_artifact_type(t),
            "t",
        )
        rec(f"type after external_id {external_id}", lambda: s.get_artifact_type("Relabelled"))
        rec(
            f"types by external ids after {external_id}",
            lambda: s.get_artifact_types_by_external_ids(["x-1", "x-2", "x-10"]),
        )
    rec(
        "execution type TRAIN, then PROCESS",
        lambda: [
            s.put_execution_type(pb.ExecutionType(name="EB", base_type=base))
            for base in (pb.ExecutionType.TRAIN, pb.ExecutionType.PROCESS)
        ],
        "t",
    )

    kept = _artifact(at, name="masked", custom={"x": 1}, uri="/m")
    [masked] = s.put_artifacts([kept])
    for path in ("custom_properties.", "properties.", "custom_properties"):
        rec(
            f"field mask {path!r}",
            lambda p=path: (
                s.put_artifacts([pb.Artifact(id=masked, type_id=at)], field_mask_paths=[p]),
                s.get_artifacts_by_id([masked]),
            ),
            ("a", None),
        )

    request = svc.GetArtifactsRequest()
    request.options.max_result_size = 2
    request.options.order_by_field.field = pb.ListOperationOptions.OrderByField.ID
    first = rec("page 1", lambda: raw(s, "GetArtifacts", request))
    if first is not None:
        request.options.next_page_token = first.next_page_token
        request.options.filter_query = "uri LIKE '/%'"
        rec("page 2 under a new filter_query", lambda: raw(s, "GetArtifacts", request))
        request.options.order_by_field.is_asc = False
        rec("page 2 in another order", lambda: raw(s, "GetArtifacts", request))

"""The change feed at /ldes over real HTTP, on a server of the shipped data with two named tokens.

A harvester that knows only the catalogue finds the feed, reads it from the start, and replays it:
the result is exactly the data the store serves (the replay invariant), for the shipped data and
after a series of writes and deletes by two tokens, also for a harvester that stays in sync by
polling. The pages are checked against the TREE and LDES vocabularies and the members about DCAT
entities against the DCAT-AP Feeds shape (tests/external/ldes/).
"""
from __future__ import annotations


import httpx
import pyoxigraph as ox
import pytest
from pyshacl import validate
from rdflib import Graph

from ldes_client import AS, DCAT_AP_FEEDS, LDES, LDES_SPEC, TREE, Harvester, _store
from gros.content.skolem import BlankNodes
from server_fixture import BASE, ROOT, dump_store, start_server

EXTERNAL = ROOT / "tests" / "external" / "ldes"
META = BASE + "graph/meta"
RUNTIME = BASE + "graph/runtime-feed-test"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
ALICE, BOB = "alice-secret-7f3a-0c61e2", "bob-secret-19c2-88d04b"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """`gros serve` on this checkout's data/, with a token file of two named tokens."""
    folder = tmp_path_factory.mktemp("feed")
    tokens = folder / "tokens"
    tokens.write_text(f"alice:{ALICE}\nbob:{BOB}\n")
    tokens.chmod(0o600)
    running = start_server(folder, None, data=ROOT / "data", env={"GROS_UPDATE_TOKEN_FILE": str(tokens)},
                           start_timeout=900)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def http(registry):
    with httpx.Client(base_url=registry.url, timeout=60) as client:
        yield client


def write(http, text: str, token: str) -> httpx.Response:
    response = http.post("/sparql", content=text.encode(), headers={
        "Content-Type": "application/sparql-update", "Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 204), response.text
    return response


def current_data(http) -> set:
    """What the store serves: every triple of every graph but the service's bookkeeping."""
    triples = set()
    for graph, lines in dump_store(http).items():
        if graph == META:
            continue
        triples |= {ox.Triple(q.subject, q.predicate, q.object)
                    for q in ox.parse("\n".join(lines).encode(), format=ox.RdfFormat.N_TRIPLES)}
    return triples


def replayed(harvester: Harvester) -> set:
    """The harvester's replay as a client reads the store: the feed names blank nodes by their skolem
    IRI (the handle a client may send back), the Graph Store answers them as blank nodes."""
    blank = BlankNodes(BASE)
    return {blank.triple(t) for t in harvester.replay()}


def harvest(http) -> Harvester:
    harvester = Harvester(http, BASE)
    harvester.discover()
    harvester.read()
    return harvester


# --- discovery and the replay invariant ---------------------------------------------------------

def test_a_harvester_finds_the_feed_from_the_catalogue_and_replays_the_shipped_data(http):
    harvester = Harvester(http, BASE)
    assert harvester.discover() == BASE + "ldes"
    harvester.read()
    assert harvester.pages_read > 2  # the entry point and more than one page
    kinds = {m.kind for m in harvester.members.values()}
    assert kinds == {"Create"}  # the shipped content: one Create per resource
    objects = [m.object for m in harvester.members.values()]
    assert len(objects) == len(set(objects))
    assert BASE + "id/region/limburg-nl" in objects
    assert replayed(harvester) == current_data(http)


def test_replay_after_writes_and_deletes_by_two_tokens_gives_the_current_data(http):
    early = harvest(http)  # a harvester that read the feed before the writes, and then polls
    limburg = f"<{BASE}id/region/limburg-nl>"
    new = f"<{BASE}id/test/feed-new>"
    write(http, f'INSERT DATA {{ GRAPH <{RUNTIME}> {{ {limburg} <{RDFS}comment> "eerste"@nl . '
                f'{new} <{RDFS}comment> "nieuw" ; <{RDFS}seeAlso> [ <{RDFS}label> "leeg knooppunt" ] }} }}', ALICE)
    write(http, f'DELETE DATA {{ GRAPH <{RUNTIME}> {{ {limburg} <{RDFS}comment> "eerste"@nl }} }} ; '
                f'INSERT DATA {{ GRAPH <{RUNTIME}> {{ {limburg} <{RDFS}comment> "tweede"@nl }} }}', BOB)
    write(http, f'DELETE WHERE {{ GRAPH <{RUNTIME}> {{ {new} ?p ?o }} }}', ALICE)
    write(http, f'DELETE WHERE {{ GRAPH <{RUNTIME}> {{ ?s ?p ?o }} }}', BOB)
    write(http, f'INSERT DATA {{ GRAPH <{RUNTIME}> {{ {limburg} <{RDFS}comment> "derde"@nl }} }}', ALICE)
    data = current_data(http)

    fresh = harvest(http)
    assert replayed(fresh) == data
    kinds = [m.kind for m in sorted(fresh.members.values(), key=lambda m: m.published)
             if m.object == BASE + "id/test/feed-new"]
    assert kinds == ["Create", "Delete"]

    before = len(early.members)
    early.read()  # polling: only the pages it had not finished
    assert len(early.members) > before
    assert replayed(early) == data

    # Who and when: every change names its token's name, never the token.
    actors = {m.actor for m in fresh.members.values() if m.object == BASE + "id/region/limburg-nl"}
    assert actors == {"content", "alice", "bob"}
    for number in range(1, 1 + len(fresh.done_pages) + 1):
        body = http.get(f"/ldes/{number}", headers={"Accept": "application/n-quads"}).text
        assert ALICE not in body and BOB not in body


# --- the pages ----------------------------------------------------------------------------------

def test_finished_pages_are_immutable_and_the_newest_is_fresh_briefly(http):
    root = http.get("/ldes", headers={"Accept": "text/turtle"})
    assert root.status_code == 200 and "max-age=" in root.headers["cache-control"]
    first = http.get("/ldes/1", headers={"Accept": "application/trig"})
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = http.get("/ldes/1", headers={"Accept": "application/trig", "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    pages = Harvester(http, BASE)
    pages.entry = BASE + "ldes"
    pages.read()
    newest = max(int(p.rsplit("/", 1)[1]) for p in [*pages.done_pages, BASE + "ldes/1"]) + 1
    last = http.get(f"/ldes/{newest}")
    assert last.status_code == 200
    assert "immutable" not in last.headers["cache-control"] and "max-age=10" in last.headers["cache-control"]
    assert http.get(f"/ldes/{newest + 1}").status_code == 404


@pytest.mark.parametrize("accept", ["text/turtle", "application/trig", "application/n-quads", "application/ld+json"])
def test_every_format_says_the_same_about_the_members(http, accept):
    response = http.get("/ldes/1", headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["content-type"].startswith(accept)
    fmt = ox.RdfFormat.from_media_type(accept)
    data = _store(ox.parse(response.content, format=fmt))
    members = list(data.quads_for_pattern(None, ox.NamedNode(TREE + "member"), None))
    assert len(members) == 250
    published = list(data.quads_for_pattern(None, ox.NamedNode(AS + "published"), None))
    assert len(published) == 250 and all(q.object.value.endswith("Z") for q in published)


def test_pages_use_only_terms_the_tree_and_ldes_vocabularies_define(http):
    defined = set()
    for name in ("tree-tree.ttl", "ldes-vocabulary.ttl"):
        for quad in ox.parse(path=str(EXTERNAL / name)):
            if isinstance(quad.subject, ox.NamedNode):
                defined.add(quad.subject.value)
    used = set()
    for url in ("/ldes", "/ldes/1", "/ldes/catalog", "/ldes/catalog/1"):
        data = _store(ox.parse(http.get(url, headers={"Accept": "application/n-quads"}).content,
                                   format=ox.RdfFormat.N_QUADS))
        for quad in data:
            for term in (quad.predicate, quad.object):
                if isinstance(term, ox.NamedNode) and term.value.startswith((TREE, LDES)):
                    used.add(term.value)
    assert used and used <= defined, used - defined
    root = _store(ox.parse(http.get("/ldes", headers={"Accept": "application/n-quads"}).content,
                               format=ox.RdfFormat.N_QUADS))
    feed = ox.NamedNode(BASE + "ldes#feed")
    types = {q.object.value for q in root.quads_for_pattern(feed, ox.NamedNode(RDF_TYPE), None)}
    assert {LDES + "EventStream", TREE + "Collection"} <= types
    assert len(list(root.quads_for_pattern(feed, ox.NamedNode(TREE + "view"), None))) == 1
    policies = list(root.quads_for_pattern(ox.NamedNode(BASE + "ldes"), ox.NamedNode(LDES + "retentionPolicy"), None))
    assert len(policies) == 1
    assert list(root.quads_for_pattern(policies[0].object, ox.NamedNode(LDES + "startingFrom"), None))
    kinds = {q.object.value for q in root.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), None)}
    assert {TREE + "GreaterThanOrEqualToRelation"} <= kinds
    assert kinds & {TREE + "LessThanRelation", TREE + "LessThanOrEqualToRelation"}


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#: What DCAT-AP Feeds calls standalone entities: the only things its members may be about.
ENTITY_CLASSES = {"http://www.w3.org/ns/dcat#" + c for c in ("Catalog", "Dataset", "Distribution", "DataService")} | {
    "http://xmlns.com/foaf/0.1/Agent", "http://www.w3.org/2006/vcard/ns#Kind",
    "http://purl.org/dc/terms/LicenseDocument"}
ACTIVITY_SHAPE = "https://semiceu.github.io/LDES-DCAT-AP-feeds/shape.ttl#ActivityShape"
CONTACT = BASE + "id/test/feed-contact"
VCARD = "http://www.w3.org/2006/vcard/ns#"


def feeds_shape() -> Graph:
    """The DCAT-AP Feeds shape as published (tests/external/ldes/README.md: its one broken IRI
    names shapes the file defines itself, so nothing is lost)."""
    return Graph().parse(EXTERNAL / "dcat-ap-feeds-shape.ttl", format="turtle")


def flat(body: bytes, fmt: ox.RdfFormat) -> Graph:
    """A page as one graph: the activities and their payloads (the shape asks the as:object of a
    Create or Update to be typed, and its type is in the payload, the member's named graph)."""
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=fmt)}
    return Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")


def catalogue_entries(http) -> set:
    """What the store serves about the catalogue's entities: the triples of every resource typed
    as one of ENTITY_CLASSES (the catalogue has no blank nodes: their own triples are all)."""
    data = current_data(http)
    typed = {t.subject for t in data if t.predicate.value == RDF_TYPE and t.object.value in ENTITY_CLASSES}
    return {t for t in data if t.subject in typed}


def test_the_catalogue_feed_is_a_dcat_ap_feed_whose_every_page_passes_its_shape(http):
    harvester = Harvester(http, BASE)
    assert harvester.discover(DCAT_AP_FEEDS) == BASE + "ldes/catalog"
    harvester.read()
    assert harvester.members and {m.kind for m in harvester.members.values()} <= {"Create", "Update", "Delete"}
    # Replaying it gives exactly the catalogue's entries as the store serves them.
    assert replayed(harvester) == catalogue_entries(http)
    objects = {m.object for m in harvester.members.values()}
    assert {BASE + "catalog", BASE + "dataset", BASE + "ldes/catalog#feed", BASE + "ldes#feed"} <= objects
    assert BASE + "id/region/limburg-nl" not in objects

    shape = feeds_shape()
    pages = [harvester.entry, *sorted({BASE + f"ldes/catalog/{n}" for n in range(1, harvester.pages_read)})]
    for page in pages:
        response = http.get(harvester.url(page))  # TriG unless asked otherwise, as the profile requires
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/trig")
        body = response.content
        conforms, _, text = validate(flat(body, ox.RdfFormat.TRIG), shacl_graph=shape, advanced=True)
        assert conforms, (page, text)
        data = _store(ox.parse(body, format=ox.RdfFormat.TRIG))
        feed = ox.NamedNode(BASE + "ldes/catalog#feed")
        # The context the profile asks every page to carry.
        for predicate, value in ((TREE + "shape", ACTIVITY_SHAPE), (LDES + "timestampPath", AS + "published"),
                                 (LDES + "versionOfPath", AS + "object"), (TREE + "view", harvester.entry)):
            assert [q.object.value for q in data.quads_for_pattern(feed, ox.NamedNode(predicate), None)] == [value]
        # JSON-LD, the profile's other format, says the same.
        other = http.get(harvester.url(page), headers={"Accept": "application/ld+json"})
        assert other.headers["content-type"].startswith("application/ld+json")
        as_jsonld = list(ox.parse(other.content, format=ox.RdfFormat.JSON_LD))
        assert len(as_jsonld) == len(data)
        named = [q for q in as_jsonld if not isinstance(q.subject, ox.BlankNode)]
        assert named and all(q in data for q in named)

    # The shape does fail: a member about a resource that is no catalogue entry, or one that says more.
    page = http.get("/ldes/1").content
    conforms, _, text = validate(flat(page, ox.RdfFormat.TRIG), shacl_graph=shape, advanced=True)
    assert not conforms
    assert "EntityShape" in text and "ClosedConstraintComponent" in text and "as:actor" in text

    # The full feed does not claim the profile: its stream names no shape, and the catalogue (as
    # the harvester read it) says it conforms to LDES only.
    root = _store(ox.parse(http.get("/ldes").content, format=ox.RdfFormat.TRIG))
    assert not list(root.quads_for_pattern(ox.NamedNode(BASE + "ldes#feed"), ox.NamedNode(TREE + "shape"), None))
    claims = {(q.subject.value, q.object.value) for q in harvester.known.quads_for_pattern(
        None, ox.NamedNode("http://purl.org/dc/terms/conformsTo"), None)}
    assert (BASE + "ldes#feed", LDES_SPEC) in claims
    assert (BASE + "ldes/catalog#feed", DCAT_AP_FEEDS) in claims
    assert (BASE + "ldes#feed", DCAT_AP_FEEDS) not in claims


def test_the_catalogue_feed_follows_writes_and_leaves_who_to_the_full_feed(http):
    early = Harvester(http, BASE)
    early.discover(DCAT_AP_FEEDS)
    early.read()
    dataset = f"<{BASE}dataset>"
    contact = f"<{CONTACT}>"
    write(http, f'INSERT DATA {{ GRAPH <{RUNTIME}> {{ {dataset} <{RDFS}comment> "bijgewerkt"@nl . '
                f'{contact} a <{VCARD}Kind> ; <{VCARD}fn> "Testcontact" }} }}', ALICE)
    # No longer a catalogue entry, though still described: the catalogue sees it deleted.
    write(http, f'DELETE DATA {{ GRAPH <{RUNTIME}> {{ {contact} a <{VCARD}Kind> }} }}', BOB)
    write(http, f'DELETE DATA {{ GRAPH <{RUNTIME}> {{ {dataset} <{RDFS}comment> "bijgewerkt"@nl }} }}', BOB)

    fresh = Harvester(http, BASE)
    fresh.discover(DCAT_AP_FEEDS)
    fresh.read()
    entries = catalogue_entries(http)
    assert replayed(fresh) == entries
    early.read()  # polling
    assert replayed(early) == entries

    ordered = sorted(fresh.members.values(), key=lambda m: m.published)
    assert [m.kind for m in ordered if m.object == CONTACT] == ["Create", "Delete"]
    assert [m.kind for m in ordered if m.object == BASE + "dataset"][-2:] == ["Update", "Update"]
    # Members say no more than the profile allows; the same number in the full feed says who.
    for member in ordered[-4:]:
        assert member.actor is None
        number = member.iri.rsplit("/", 1)[1]
        full = _store(ox.parse(http.get(f"/ldes/event/{number}").content, format=ox.RdfFormat.TRIG))
        agents = [q.object for q in full.quads_for_pattern(None, ox.NamedNode(AS + "actor"), None)]
        names = {q.object.value for a in agents for q in full.quads_for_pattern(a, ox.NamedNode(AS + "name"), None)}
        assert names <= {"alice", "bob"} and len(names) == 1
        assert [q.object.value for q in full.quads_for_pattern(None, ox.NamedNode(AS + "object"), None)] == [
            member.object]
    # A catalogue member on its own; a change of a resource outside the catalogue is none.
    number = ordered[-1].iri.rsplit("/", 1)[1]
    one = http.get(f"/ldes/catalog/event/{number}")
    assert one.status_code == 200 and "immutable" in one.headers["cache-control"]
    conforms, _, text = validate(flat(one.content, ox.RdfFormat.TRIG), shacl_graph=feeds_shape(), advanced=True)
    assert conforms, text
    limburg = [m for m in harvest(http).members.values() if m.object == BASE + "id/region/limburg-nl"]
    assert http.get(f"/ldes/catalog/event/{limburg[0].iri.rsplit('/', 1)[1]}").status_code == 404

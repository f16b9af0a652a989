"""Formats and content negotiation: q-values, wildcards, ?format=, 406 and 415, hostile headers."""
import random

import pytest

from gros.formats import (ALL_FORMATS, CSV, DATASET_FORMATS, GRAPH_FORMATS, HTML, JSON, JSONLD, MAX_ACCEPT,
                          NQUADS, NTRIPLES, RDFXML, RESULT_FORMATS, TRIG, TSV, TURTLE, XML, NotAcceptable,
                          UnknownFormat, UnsupportedMediaType, for_upload, negotiate)

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


# --- the format table --------------------------------------------------------------------

def test_names_media_types_and_extensions_are_unambiguous():
    names = [f.name for f in ALL_FORMATS]
    media_types = [m for f in ALL_FORMATS for m in f.media_types]
    extensions = [f.extension for f in ALL_FORMATS]
    assert len(set(names)) == len(names)
    assert len(set(media_types)) == len(media_types)
    assert len(set(extensions)) == len(extensions)


@pytest.mark.parametrize("fmt", [f for f in ALL_FORMATS if f.oxigraph is not None], ids=lambda f: f.name)
def test_formats_agree_with_pyoxigraph(fmt):
    assert fmt.oxigraph.media_type.split(";")[0] == fmt.media_type
    assert "." + fmt.oxigraph.file_extension == fmt.extension
    for alias in fmt.aliases:  # pyoxigraph reads the alias as this format too
        assert type(fmt.oxigraph).from_media_type(alias) == fmt.oxigraph


def test_defaults_and_dataset_formats():
    assert RESULT_FORMATS[0] is JSON and GRAPH_FORMATS[0] is TURTLE
    assert DATASET_FORMATS == [TRIG, NQUADS]
    assert all(f.oxigraph.supports_datasets for f in DATASET_FORMATS)


def test_content_type_names_the_charset_of_text_formats_only():
    assert CSV.content_type == "text/csv; charset=utf-8"
    assert TURTLE.content_type == "text/turtle; charset=utf-8"
    assert JSON.content_type == "application/sparql-results+json"


# --- Accept ------------------------------------------------------------------------------

@pytest.mark.parametrize("accept", [None, "", "   ", "*/*", "*", "*/*;q=0.5"])
def test_no_preference_gives_the_first_offered(accept):
    assert negotiate(accept, RESULT_FORMATS) is JSON
    assert negotiate(accept, GRAPH_FORMATS) is TURTLE


@pytest.mark.parametrize("accept, expected", [
    ("application/sparql-results+xml;q=0.9, application/sparql-results+json", JSON),
    ("application/sparql-results+xml, application/sparql-results+json;q=0.5", XML),
    ("text/csv;q=0.2, text/tab-separated-values;q=0.3", TSV),
    ("*/*;q=0.1, text/csv;q=0.5", CSV),
    ("*/*;q=0.9, application/sparql-results+xml;q=0.5", JSON),  # the specific range sets xml's q
    ("application/json", JSON),
    ("application/xml", XML),
    ("Application/SPARQL-Results+XML", XML),  # media types are case-insensitive
    ("text/csv; charset=utf-8", CSV),
    ("text/*", CSV),  # the first offered text/ format
    ("text/*;q=0.2, text/tab-separated-values", TSV),
    ("application/*", JSON),
    ("application/sparql-results+json;q=0, */*", XML),  # q=0 excludes
    ("text/*, text/csv;q=0", TSV),
    (BROWSER, XML),  # a browser that asks for nothing better gets XML (via application/xml)
])
def test_result_negotiation(accept, expected):
    assert negotiate(accept, RESULT_FORMATS) is expected


@pytest.mark.parametrize("accept, expected", [
    ("application/x-turtle", TURTLE),
    ("application/n-triples", NTRIPLES),
    ("application/ld+json, text/turtle;q=0.9", JSONLD),
    ("application/rdf+xml", RDFXML),
    ("application/trig", TRIG),
    ("text/x-nquads", NQUADS),
    ("application/*", NTRIPLES),
    ("text/*", TURTLE),
    ("text/turtle;q=0, */*;q=0.1", NTRIPLES),
])
def test_graph_negotiation(accept, expected):
    assert negotiate(accept, GRAPH_FORMATS) is expected


def test_an_offered_html_page_wins_for_browsers():
    assert negotiate(BROWSER, [*GRAPH_FORMATS, HTML]) is HTML
    assert negotiate("text/turtle", [*GRAPH_FORMATS, HTML]) is TURTLE
    assert negotiate(None, [*GRAPH_FORMATS, HTML]) is TURTLE


@pytest.mark.parametrize("accept, offered", [
    ("text/html", RESULT_FORMATS),
    ("image/png, text/html;q=0.9", GRAPH_FORMATS),
    ("text/turtle", RESULT_FORMATS),
    ("application/sparql-results+json;q=0", RESULT_FORMATS),
    ("*/*;q=0", RESULT_FORMATS),
    ("application/json", GRAPH_FORMATS),  # JSON-LD is asked for by its own media type
])
def test_nothing_acceptable_is_406_naming_what_would_work(accept, offered):
    with pytest.raises(NotAcceptable) as caught:
        negotiate(accept, offered)
    assert caught.value.offered == offered
    for fmt in offered:
        assert fmt.media_type in str(caught.value)


# --- ?format= ----------------------------------------------------------------------------

@pytest.mark.parametrize("param, expected", [
    ("xml", XML), ("XML", XML), ("csv", CSV), ("tsv", TSV), ("json", JSON),
    ("application/sparql-results+xml", XML), ("text/csv; charset=utf-8", CSV),
    ("application/json", JSON), ("srx", XML),
])
def test_format_parameter_wins_over_accept(param, expected):
    assert negotiate("application/sparql-results+json", RESULT_FORMATS, param) is expected
    assert negotiate("text/html", RESULT_FORMATS, param) is expected


@pytest.mark.parametrize("param, expected", [("turtle", TURTLE), ("ttl", TURTLE), ("jsonld", JSONLD),
                                             ("rdfxml", RDFXML), ("nquads", NQUADS), ("text/turtle", TURTLE)])
def test_format_parameter_for_graphs(param, expected):
    assert negotiate(None, GRAPH_FORMATS, param) is expected


def test_empty_format_parameter_is_ignored():
    assert negotiate("application/sparql-results+xml", RESULT_FORMATS, "") is XML


@pytest.mark.parametrize("param", ["pdf", "text/html5", "application/x-unknown", "jsonx", ";"])
def test_unknown_format_parameter(param):
    with pytest.raises(UnknownFormat) as caught:
        negotiate(None, RESULT_FORMATS, param)
    assert caught.value.value == param and "json" in str(caught.value)


def test_a_known_format_not_offered_here_is_406():
    with pytest.raises(NotAcceptable) as caught:
        negotiate(None, RESULT_FORMATS, "turtle")
    assert "turtle" in str(caught.value) and "application/sparql-results+json" in str(caught.value)


# --- malformed and hostile headers: a format or 406, never anything else -------------------

MALFORMED = [
    "garbage", "text", ";;;", ",,,", "/", "//", "text/html/x", "\x00\xff\ufffd", "q=1", ";q=0.5",
    "text/turtle;q=abc", "text/turtle;q=2", "text/turtle;q=-1", "text/turtle;q=nan", "text/turtle;q=",
    '*/*;q="', 'text/turtle;a="b;c', "text/turtle;;;;", "=;=,=/=", "*/json", "text/", "/turtle",
    "a" * 100_000, "text/turtle;" + "x=1;" * 10_000, ", ".join(["text/html"] * 5_000) + ", text/turtle",
]


@pytest.mark.parametrize("accept", MALFORMED, ids=range(len(MALFORMED)))
@pytest.mark.parametrize("offered", [RESULT_FORMATS, GRAPH_FORMATS], ids=["results", "graphs"])
def test_malformed_accept_gives_a_format_or_406(accept, offered):
    try:
        assert negotiate(accept, offered) in offered
    except NotAcceptable:
        pass


def test_unparseable_ranges_are_dropped_and_the_rest_is_used():
    assert negotiate("garbage, application/sparql-results+xml", RESULT_FORMATS) is XML
    assert negotiate("garbage", RESULT_FORMATS) is JSON  # nothing usable: as if no Accept


def test_accept_is_read_only_up_to_the_cap():
    within = "x/y, " * ((MAX_ACCEPT - 100) // 5) + "text/csv"
    beyond = "x/y, " * (MAX_ACCEPT // 5 + 10) + "text/csv"
    assert len(within) < MAX_ACCEPT < len(beyond)
    assert negotiate(within, RESULT_FORMATS) is CSV
    with pytest.raises(NotAcceptable):  # text/csv lies beyond the cap
        negotiate(beyond, RESULT_FORMATS)


def test_random_headers_never_escape_as_other_errors():
    rng = random.Random(20240601)
    alphabet = "abcxyz*/;,=q. 0123456789\"'\\\t+-é\x00"
    for _ in range(2000):
        accept = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        try:
            assert negotiate(accept, RESULT_FORMATS) in RESULT_FORMATS
        except NotAcceptable:
            pass


# --- request bodies ----------------------------------------------------------------------

@pytest.mark.parametrize("content_type, expected", [
    ("text/turtle", TURTLE), ("text/turtle; charset=UTF-8", TURTLE), ("application/x-turtle", TURTLE),
    ("Application/LD+JSON", JSONLD), ("application/n-triples", NTRIPLES), ("application/rdf+xml", RDFXML),
    ("application/trig", TRIG), ("application/n-quads;charset=utf-8", NQUADS),
])
def test_upload_types(content_type, expected):
    assert for_upload(content_type) is expected


@pytest.mark.parametrize("content_type", [None, "", "text/html", "application/json", "turtle", "ttl",
                                          "*/*", "text/*", "garbage;;;", "a" * 100_000])
def test_unsupported_upload_types_are_415_naming_what_is_accepted(content_type):
    with pytest.raises(UnsupportedMediaType) as caught:
        for_upload(content_type)
    assert caught.value.accepted == GRAPH_FORMATS
    assert "text/turtle" in str(caught.value) and "application/ld+json" in str(caught.value)


def test_upload_can_be_limited_to_some_formats():
    assert for_upload("application/trig", DATASET_FORMATS) is TRIG
    with pytest.raises(UnsupportedMediaType):
        for_upload("text/turtle", DATASET_FORMATS)


def test_format_error_messages_are_what_a_client_reads():
    assert str(NotAcceptable([JSON, XML])) == (
        "no acceptable format; this response is available as application/sparql-results+json, "
        "application/sparql-results+xml (or ?format=json|xml)")

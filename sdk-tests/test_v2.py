"""paywise API v2 driven through the vendor's own Python SDK (PyPI `paywise` 0.1.0) against the mock.

Run it through `cargo test -p mock-paywise --test sdk` (which installs the SDK with
`sdk-tests/setup-venv`, starts the mock on a free port with a frozen clock and sets the variables
below), or against a running mock binary:

    sdk-tests/setup-venv && target/sdk-venv/bin/python -m pytest -q sdk-tests/test_v2.py

Environment: `PAYWISE_BASE_URL` (default `http://127.0.0.1:8280`), `PAYWISE_TOKEN` (sandbox/test
key, `paywise_test_token`), `PAYWISE_PRODUCTION_TOKEN` (`paywise_live_token`),
`PAYWISE_PARTNER_TOKEN` (`paywise_partner_token`), `PAYWISE_PARTNER_RESTRICTED_TOKEN`
(`paywise_partner_restricted_token`, the fixture partner's key without the api_only onboarding
entitlement).

One test function per resource group of the reference's operation catalogue (§3, 135 operations),
each creating its own data through the API; `test_suite_calls_every_sdk_operation` checks (without
the mock) that this file calls every operation the SDK has. Every client is built with
`max_retries=0`: the SDK retries 408, 409, 429 and 5xx twice by default (with 1 s and 2 s back-off),
which would hide refusals and slow the suite.

TODO (control routes assumed; to be confirmed by the mock's implementer). All are `POST` under
`/_mock/paywise/v2/`, JSON in and out, with the caller's `Authorization: Bearer` token (acting in
its company and environment, as the v1 control routes do), answering 2xx; anything else fails the
test that uses it with a message naming the route. The suite reads results back through the SDK;
it only takes an `id` from the answers of the routes that create something (2, 3, 4, 5, 9):

  1. orders/{order_id}/accept  {}
       paywise accepts a submitted order into a new mandate (order `accepted`, `mandate` set;
       order.accepted, mandate.created).
  2. orders/{order_id}/requests-to-client  {"title", "description", "allowed_answer_types",
       "attach_document": true}
       publishes an order-level request to client (order -> awaiting_client_response); with
       attach_document: true one question attachment (a small PDF). Answers the request ({"id", ...}).
  3. mandates/{mandate_id}/requests-to-client  (same body)  a mandate-level request; answers it.
  4. mandates/{mandate_id}/status-updates  {"title", "description", "attach_document": true}
       publishes a status update into the mandate's history, with one attachment when
       attach_document; answers the history entry ({"id", ...}).
  5. mandates/{mandate_id}/statements  {}
       publishes a collective statement containing the mandate and a single-mandate statement of it,
       both downloadable (full-pdf / PDF); answers {"statement": {"id", ...},
       "single_mandate_statement": {"id", ...}}.
  6. documents/{document_id}/status  {"status": "ready"}
       only called when an upload answers `status: pending`: the scan finished.
  7. memberships/{membership_id}/activate  {}  (Partner key) the invited user completes setup.
  8. companies/{company_id}/confirm  {}  (Partner key) a web_flow company's administrator confirms.
  9. mandates/{mandate_id}/messages  {"title", "body"}  paywise's own (published) message; answers it.
 10. orders/{order_id}/start-review, orders/{order_id}/reject {"reason"}, orders/{order_id}/merge
       {"into": order_id}, orders/{order_id}/expire, messages/{message_id}/review {"state": "handled"},
       order-requests/{request_id}/start-answer-review, statements/{id}/cancel {"comment"},
       single-mandate-statements/{id}/cancel  (all {} unless shown).
  Not yet in the mock when this suite was last run: the `attach_document` option of 2, 3 and 4
  (the only way this suite reaches the three attachment downloads, ops 36, 51 and 83); the checks
  that need it come last in their tests.
  Existing mock-core route used as is: POST /_mock/clock {"action": "advance", "by": "PT2M"} (events
  become visible ~60 s after they are recorded; incremental sync holds back rows younger than a
  minute). Also assumed: the mock accepts webhook URLs on loopback over plain http
  (`http://127.0.0.1:PORT/...`, a receiver this file runs) in the sandbox, as its v1 does.

Other choices where the reference leaves the status open (§7): the same Idempotency-Key with a
different body is a 409 (ConflictError); a POST without the key is a 400; finalizing an incomplete
draft is a 422; a second answer to a request to client is a 409. Where the mock documents its own
codes (`order_incomplete`, `order_not_withdrawable`, `order_expired`, `already_answered`,
`membership_exists`) the suite checks them.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import http.server
import inspect
import os
import re
import threading
import time
import uuid
from decimal import Decimal

import httpx
import pytest

from paywise import Paywise
from paywise.case_management import errors as ce
from paywise.case_management import (
    ClaimCreateRequest_Receivable,
    ClaimCreateRequest_Titled,
    DebtorWriteRequest_Business,
    DebtorWriteRequest_Consumer,
    StandaloneClaimCreateRequest_Receivable,
)
from paywise.case_management import types as ct
from paywise.core.api_error import ApiError
from paywise.core.pagination import SyncPager
from paywise.core.pydantic_utilities import parse_obj_as
from paywise.partner import errors as pe
from paywise.partner import types as ptypes

BASE_URL = os.environ.get("PAYWISE_BASE_URL", "http://127.0.0.1:8280").rstrip("/")
TOKEN = os.environ.get("PAYWISE_TOKEN", "paywise_test_token")
PRODUCTION_TOKEN = os.environ.get("PAYWISE_PRODUCTION_TOKEN", "paywise_live_token")
PARTNER_TOKEN = os.environ.get("PAYWISE_PARTNER_TOKEN", "paywise_partner_token")
PARTNER_RESTRICTED_TOKEN = os.environ.get("PAYWISE_PARTNER_RESTRICTED_TOKEN", "paywise_partner_restricted_token")

# A one-page PDF and a 1x1 PNG: the accepted upload types.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PDF_B64 = base64.b64encode(PDF).decode()
PNG_B64 = base64.b64encode(PNG).decode()
IBAN = "DE89370400440532013000"

# ---------------------------------------------------------------------------------------------
# Clients and small helpers
# ---------------------------------------------------------------------------------------------

# The SDK's pager follows `next` for as long as pages have items, without any bound: a `next` that
# never ends (or points back at a page already read) would hang the suite. Every iteration here
# goes through this bounded version, which fails naming the link instead.
MAX_PAGES = 50
_sdk_iter_pages = SyncPager.iter_pages


def _bounded_iter_pages(self):
    seen: set[str] = set()
    for n, page in enumerate(_sdk_iter_pages(self), start=1):
        link = getattr(page.response, "next", None)
        assert not (link and link in seen), f"the pager loops: page {n} links again to {link}"
        assert n <= MAX_PAGES, f"the pager did not end after {MAX_PAGES} pages (next: {link})"
        if link:
            seen.add(link)
        yield page


SyncPager.iter_pages = _bounded_iter_pages


def sdk(token: str | None = TOKEN, **kw) -> Paywise:
    """The SDK's client for `token`, pointed at the mock, without automatic retries."""
    return Paywise(token=token, base_url=BASE_URL, max_retries=0, timeout=30, **kw)


def case(token: str | None = TOKEN, **kw):
    return sdk(token, **kw).case_management


def partner(token: str = PARTNER_TOKEN):
    return sdk(token).partner


def key() -> str:
    """A fresh Idempotency-Key."""
    return str(uuid.uuid4())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def random_id() -> str:
    return str(uuid.uuid4())


def backoffice(path: str, json: dict | None = None, token: str = TOKEN) -> dict:
    """A mock-only control route: POST {BASE_URL}/_mock/paywise/v2/{path} (see the TODO list)."""
    url = f"{BASE_URL}/_mock/paywise/v2/{path}"
    res = httpx.post(url, json=json or {}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert 200 <= res.status_code < 300, (
        f"control route POST /_mock/paywise/v2/{path} answered {res.status_code}: {res.text[:500]}"
    )
    return res.json()


def mock_clock() -> dict:
    res = httpx.get(f"{BASE_URL}/_mock/clock", timeout=30)
    assert res.status_code == 200, f"GET /_mock/clock answered {res.status_code}: {res.text[:300]}"
    return res.json()


def mock_now() -> dt.datetime:
    return dt.datetime.fromisoformat(mock_clock()["now"].replace("Z", "+00:00"))


def advance_clock(by: str) -> None:
    res = httpx.post(f"{BASE_URL}/_mock/clock", json={"action": "advance", "by": by}, timeout=30)
    assert res.status_code == 200, f"POST /_mock/clock answered {res.status_code}: {res.text[:300]}"


@functools.lru_cache(maxsize=1)
def today() -> dt.date:
    """The mock's date (its clock, not the machine's)."""
    return dt.date.fromisoformat(mock_clock()["today"])


def days_ago(n: int) -> dt.date:
    return today() - dt.timedelta(days=n)


def month_start(months_back: int) -> dt.date:
    d = today().replace(day=1)
    for _ in range(months_back):
        d = (d - dt.timedelta(days=1)).replace(day=1)
    return d


def aware(value: dt.datetime | None) -> dt.datetime:
    assert isinstance(value, dt.datetime), f"expected a datetime, got {value!r}"
    assert value.tzinfo is not None, f"timestamp {value!r} has no UTC offset (RFC 3339 wants one)"
    return value


def amount(a) -> Decimal:
    assert a is not None, "amount missing"
    assert isinstance(a.value, str), f"amount value {a.value!r} is not a decimal string"
    return Decimal(a.value)


def etag_of(raw) -> str:
    value = raw.headers.get("etag")
    req = raw.response.request
    assert value, f"no ETag on {req.method} {req.url}"
    return value


def not_modified(fn, *args, **kw) -> None:
    """The SDK turns a 304 into an ApiError (it parses every 2xx and 304 is not one)."""
    with pytest.raises(ApiError) as info:
        fn(*args, **kw)
    assert info.value.status_code == 304, f"expected 304, got {info.value.status_code}: {info.value.body!r}"


def conditional(group, name: str, *args, **kw):
    """GET `group.name(*args)` raw: its ETag, then the same GET with If-None-Match answers 304."""
    raw = getattr(group.with_raw_response, name)(*args, **kw)
    assert raw.status_code == 200, f"{name}: status {raw.status_code}"
    tag = etag_of(raw)
    not_modified(getattr(group, name), *args, if_none_match=tag, **kw)
    return raw.data, tag


def envelope(exc: ApiError) -> dict:
    """The error body as a dict, checked to be v2's `{code, detail, errors?}` envelope."""
    body = exc.body
    if hasattr(body, "model_dump"):
        body = body.model_dump(mode="json", by_alias=True)
    assert isinstance(body, dict), f"status {exc.status_code}: body {body!r} is not an object"
    parse_obj_as(ct.Error, body)  # code, detail required; errors[] items need code and message
    assert body["code"], f"empty error code in {body!r}"
    return body


@contextlib.contextmanager
def refused(error_cls, code: str | None = None):
    """Expect the SDK's typed error `error_cls` with v2's envelope (and `code`, if given)."""
    box: dict = {}
    with pytest.raises(error_cls) as info:
        yield box
    body = envelope(info.value)
    if code is not None:
        assert body["code"] == code, f"expected code {code!r}, got {body!r}"
    box["body"] = body
    box["exc"] = info.value


def download(chunks) -> bytes:
    data = b"".join(chunks)
    assert data, "empty download"
    return data


def ensure_ready(doc):
    """Uploads may start `pending` (scan running); the back office finishes the scan."""
    if doc.status == "pending":
        doc = parse_obj_as(ct.DocumentRead, backoffice(f"documents/{doc.id}/status", {"status": "ready"}))
    assert doc.status == "ready", f"document {doc.id} is {doc.status}"
    assert doc.download_url, f"ready document {doc.id} has no download_url"
    return doc


def check_document(doc, *, type_: str, parent_type: str, parent_id: str, mime: str):
    assert doc.id
    assert doc.type == type_
    assert doc.parent is not None and doc.parent.type == parent_type and doc.parent.id == parent_id, doc.parent
    assert doc.mime_type == mime
    aware(doc.created_at)
    return ensure_ready(doc)


def find(items, **attrs):
    for item in items:
        if all(getattr(item, k) == v for k, v in attrs.items()):
            return item
    raise AssertionError(f"no item with {attrs} among {[getattr(i, 'id', i) for i in items]}")


# ---------------------------------------------------------------------------------------------
# Builders: the data each test creates for itself
# ---------------------------------------------------------------------------------------------


def address(**kw) -> dict:
    return {"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE", "primary": True, **kw}


def consumer(ref: str | None = None, **kw) -> DebtorWriteRequest_Consumer:
    return DebtorWriteRequest_Consumer(
        your_reference=ref or unique("deb"),
        person={"salutation": "ms", "first_name": "Erika", "last_name": "Mustermann", "birth_date": dt.date(1980, 5, 17)},
        addresses=[address()],
        communication_channels=[{"type": "email", "value": "erika@example.com"}],
        **kw,
    )


def business(ref: str | None = None) -> DebtorWriteRequest_Business:
    return DebtorWriteRequest_Business(
        your_reference=ref or unique("deb"),
        organization={"name": "Muster GmbH"},
        addresses=[address(street="Industrieweg 7", postal_code="20095", city="Hamburg")],
        bank_accounts=[{"iban": IBAN, "account_holder": "Muster GmbH"}],
    )


def new_debtor(cm, ref: str | None = None):
    return cm.debtors.create_debtor(idempotency_key=key(), request=consumer(ref))


def receivable_fields(value: str = "120.00", **kw) -> dict:
    fields = {
        "is_disputed": False,
        "principal_amount": {"value": value, "currency": "EUR"},
        "your_reference": unique("inv"),
        "document_reference": unique("RE"),
        "subject_matter": "Gartenmöbel",
        "document_date": days_ago(60),
        "due_date": days_ago(46),
    }
    fields.update(kw)
    return {k: v for k, v in fields.items() if v is not None}


def receivable(value: str = "120.00", **kw) -> ClaimCreateRequest_Receivable:
    return ClaimCreateRequest_Receivable(**receivable_fields(value, **kw))


def new_order(cm, debtor_id: str, claims=None, **kw):
    args = {
        "type": "invoice",
        "claims": claims if claims is not None else [receivable()],
        "starting_approach": "extrajudicial",
        "creditor_obligation_fulfilled": True,
    }
    args.update(kw)
    return cm.orders.create_order(idempotency_key=key(), debtor_id=debtor_id, **args)


def submitted_order(cm, **claim_kw):
    """A debtor and a finalized invoice order with one claim carrying an inline invoice PDF."""
    debtor = new_debtor(cm)
    claim = receivable(documents=[{"type": "invoice", "base64": PDF_B64, "filename": "rechnung.pdf"}], **claim_kw)
    order = new_order(cm, debtor.id, [claim])
    order = cm.orders.finalize_order(order.id, idempotency_key=key())
    assert order.status == "submitted", order.status
    return debtor, order


def accepted_mandate(cm):
    """A submitted order accepted by the back office: (debtor, order, mandate id)."""
    debtor, order = submitted_order(cm)
    backoffice(f"orders/{order.id}/accept")
    accepted = cm.orders.get_order(order.id)
    assert accepted.status == "accepted", accepted.status
    assert accepted.mandate, "the accepted order names no mandate"
    return debtor, accepted, accepted.mandate


# ---------------------------------------------------------------------------------------------
# A local webhook receiver
# ---------------------------------------------------------------------------------------------


class Receiver:
    def __init__(self):
        self.requests: list[dict] = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver.cond:
                    receiver.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                    receiver.cond.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def wait_for(self, pred, timeout: float = 15.0) -> dict:
        """The first received request matching `pred` (waits on a condition, up to `timeout`)."""
        with self.cond:
            found = []
            ok = self.cond.wait_for(lambda: found.extend(r for r in self.requests if pred(r)) or found, timeout)
            assert ok, f"no matching webhook request within {timeout}s; received {[r['headers'].get('webhook-id') for r in self.requests]}"
            return found[0]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


def settle(get, delivery_id: str, *, attempts: int = 200):
    """Poll a webhook delivery until it has settled (`success` or `failed`), in a bounded loop."""
    delivery = None
    for _ in range(attempts):
        delivery = get(delivery_id)
        if delivery.status in ("success", "failed"):
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"delivery {delivery_id} did not settle: {delivery!r}")


# =============================================================================================
# Conventions: health, info, usage, legal forms, authentication (ops 28-30, 98, 122-125)
# =============================================================================================


def test_health_info_usage_legal_forms():
    anonymous = sdk(None)
    health = anonymous.case_management.health.check()
    assert health.status == "ok" and health.version == "v2"
    partner_health = anonymous.partner.meta.health_check()
    assert partner_health.status == "ok" and partner_health.version

    cm = case()
    info = cm.info.get_case_credential_context()
    assert info.environment == "sandbox"
    assert info.company, "info names no company"
    assert isinstance(info.scopes, list)
    live = case(PRODUCTION_TOKEN).info.get_case_credential_context()
    assert live.environment == "production"

    with refused(ce.UnauthorizedError):
        case("not-a-paywise-token").info.get_case_credential_context()
    with refused(ce.UnauthorizedError):
        case(None).debtors.list_debtors()

    usage = cm.usage.get_rate_limit_headroom()
    aware(usage.generated_at)
    assert usage.limits, "usage lists no limits"
    for limit in usage.limits:
        assert limit.scope and limit.limit is not None and limit.remaining is not None and limit.window_seconds
        assert limit.used + limit.remaining <= limit.limit or limit.remaining == 0, limit

    forms, _ = conditional(cm.legal_forms, "list_legal_forms")
    assert forms, "empty legal-form catalogue"
    codes = [f.code for f in forms]
    assert all(codes) and len(set(codes)) == len(codes), "legal-form codes missing or repeated"
    assert all(f.label for f in forms)

    pt = partner()
    pinfo = pt.meta.get_partner_token_info()
    assert pinfo.environment == "sandbox"
    assert pinfo.partner is not None and pinfo.partner.id and pinfo.partner.name
    assert isinstance(pinfo.capabilities, list) and isinstance(pinfo.scopes, list)
    pusage = pt.usage.get_rate_limit_headroom()
    aware(pusage.generated_at)
    assert pusage.limits
    pforms, _ = conditional(pt.legal_forms, "list_legal_forms")
    assert pforms and all(f.code for f in pforms)
    with refused(pe.UnauthorizedError):
        partner("not-a-partner-key").meta.get_partner_token_info()


# =============================================================================================
# Debtors (ops 18-21) and the Idempotency-Key rules
# =============================================================================================


def test_debtors_and_idempotency():
    cm = case()
    k = key()
    ref = unique("deb")
    body = consumer(ref)
    d = cm.debtors.create_debtor(idempotency_key=k, request=body)
    assert d.id and d.acting_as == "consumer" and d.your_reference == ref
    assert d.person.first_name == "Erika" and d.person.last_name == "Mustermann" and d.person.salutation == "ms"
    assert d.person.birth_date == dt.date(1980, 5, 17)
    assert len(d.addresses) == 1 and d.addresses[0].primary is True and d.addresses[0].postal_code == "10115"
    assert d.addresses[0].id, "address rows carry an id"
    assert [(c.type, c.value) for c in d.communication_channels] == [("email", "erika@example.com")]
    assert d.legal_form is None and d.organization is None
    aware(d.created_at)
    aware(d.updated_at)

    # Replay: the same key and body answer the first response; a different body is refused.
    again = cm.debtors.create_debtor(idempotency_key=k, request=body)
    assert again.id == d.id
    with refused(ce.ConflictError):
        cm.debtors.create_debtor(idempotency_key=k, request=consumer(unique("deb")))
    # Without the key (the SDK leaves the header out for None).
    with refused(ce.BadRequestError):
        cm.debtors.create_debtor(idempotency_key=None, request=consumer())

    # Validation: v2's envelope with dotted field paths; unknown keys are rejected, not ignored.
    with refused(ce.BadRequestError, "validation_error") as r:
        cm.debtors.create_debtor(idempotency_key=key(), request={"acting_as": "consumer", "person": {"first_name": "Erika"}})
    fields = [e["field"] for e in r["body"].get("errors") or []]
    assert "person.last_name" in fields, r["body"]
    with refused(ce.BadRequestError, "validation_error"):
        cm.debtors.create_debtor(
            idempotency_key=key(), request={**consumer().dict(), "nickname": "Eri"}
        )

    b = cm.debtors.create_debtor(idempotency_key=key(), request=business())
    assert b.acting_as == "business" and b.organization.name == "Muster GmbH" and b.person is None
    assert b.bank_accounts[0].iban == IBAN and b.bank_accounts[0].id

    # Retrieve, conditional GET.
    got, tag = conditional(cm.debtors, "get_debtor", d.id)
    assert got.id == d.id and got.your_reference == ref
    with refused(ce.NotFoundError, "not_found"):
        cm.debtors.get_debtor(random_id())
    with refused(ce.NotFoundError, "not_found"):
        case(PRODUCTION_TOKEN).debtors.get_debtor(d.id)

    # Lists and filters.
    page = cm.debtors.list_debtors(your_reference=ref)
    assert page.response.count == 1 and [x.id for x in page.items] == [d.id]
    assert cm.debtors.list_debtors(id=d.id).response.count == 1
    by_kind = cm.debtors.list_debtors(acting_as="business", your_reference=b.your_reference)
    assert [x.id for x in by_kind.items] == [b.id]

    # Paging: limit/offset with absolute `next` links the SDK's pager follows.
    prefix = unique("pg")
    made = [cm.debtors.create_debtor(idempotency_key=key(), request=consumer(f"{prefix}-{i}")).id for i in range(3)]
    first = cm.debtors.list_debtors(your_reference=prefix, limit=2)
    assert first.response.count == 3 and len(first.items) == 2
    assert first.response.previous is None
    assert first.response.next and first.response.next.startswith(("http://", "https://")), first.response.next
    second = first.next_page()
    assert len(second.items) == 1 and second.response.previous and second.response.next is None
    assert sorted(x.id for x in cm.debtors.list_debtors(your_reference=prefix, limit=2)) == sorted(made)
    with refused(ce.BadRequestError):
        cm.debtors.list_debtors(acting_as="robot")

    # PATCH with If-Match: merge into person, replace collections; a stale ETag is refused.
    since = mock_now()
    new_ref = unique("deb")
    patched = cm.debtors.update_debtor(
        d.id,
        if_match=tag,
        your_reference=new_ref,
        person={"first_name": "Erica"},
        communication_channels=[{"type": "phone", "value": "+49 30 1234567"}],
    )
    assert patched.id == d.id and patched.your_reference == new_ref
    assert patched.person.first_name == "Erica" and patched.person.last_name == "Mustermann"
    assert [c.type for c in patched.communication_channels] == ["phone"]
    assert patched.communication_channels[0].value == "+49301234567", "phones are normalized to E.164"
    assert patched.updated_at >= d.updated_at
    with refused(ce.PreconditionFailedError, "precondition_failed"):
        cm.debtors.update_debtor(d.id, if_match=tag, your_reference=unique("deb"))
    assert cm.debtors.get_debtor(d.id).your_reference == new_ref
    with refused(ce.BadRequestError, "validation_error"):
        cm.debtors.update_debtor(d.id, person=None)  # a consumer without a person is no identity

    # Incremental sync: rows changed at or after `updated_since`, once older than a minute.
    advance_clock("PT2M")
    sync = cm.debtors.list_debtors(updated_since=since, limit=100)
    assert sync.response.previous is None
    assert d.id in [x.id for x in sync], "the patched debtor is missing from updated_since"


# =============================================================================================
# Orders (ops 57-63)
# =============================================================================================


def test_orders():
    cm = case()
    debtor = new_debtor(cm)
    co_debtor = cm.debtors.create_debtor(idempotency_key=key(), request=business())
    k = key()
    claim = receivable("120.00")
    order = cm.orders.create_order(
        idempotency_key=k,
        debtor_id=debtor.id,
        type="invoice",
        claims=[claim],
        confirmation_email="buchhaltung@example.com",
        starting_approach="extrajudicial",
        creditor_obligation_fulfilled=True,
    )
    assert order.type == "invoice" and order.status == "draft"
    assert order.debtor.id == debtor.id and order.debtor.person.last_name == "Mustermann"
    assert order.additional_debtors == []
    assert order.confirmation_email == "buchhaltung@example.com"
    assert len(order.claims) == 1
    c0 = order.claims[0]
    assert c0.type == "receivable" and c0.status == "draft" and c0.order_id == order.id and c0.debtor_id == debtor.id
    assert c0.your_reference == claim.your_reference and amount(c0.principal_amount) == Decimal("120.00")
    assert amount(order.totals.main_claims) == Decimal("120.00")
    assert amount(order.totals.order_value) == Decimal("120.00")
    assert order.mandate is None and order.merged_into is None and order.rejection is None
    assert aware(order.expires_at) - aware(order.updated_at) == dt.timedelta(days=90)
    assert cm.orders.create_order(
        idempotency_key=k,
        debtor_id=debtor.id,
        type="invoice",
        claims=[claim],
        confirmation_email="buchhaltung@example.com",
        starting_approach="extrajudicial",
        creditor_obligation_fulfilled=True,
    ).id == order.id
    with refused(ce.BadRequestError, "validation_error"):
        cm.orders.create_order(idempotency_key=key(), debtor_id=random_id(), claims=[receivable()])
    # An Idempotency-Key is scoped to the operation and path: the debtor's key is new here.
    debtor_key = key()
    third_debtor = cm.debtors.create_debtor(idempotency_key=debtor_key, request=consumer())
    reused = cm.orders.create_order(idempotency_key=debtor_key, debtor_id=third_debtor.id, claims=[receivable()])
    assert reused.id != third_debtor.id and reused.debtor.id == third_debtor.id

    got, tag = conditional(cm.orders, "get_order", order.id)
    assert got.id == order.id and got.claims[0].id == c0.id

    assert [o.id for o in cm.orders.list_orders(q=order.id).items] == [order.id]
    second = new_order(cm, debtor.id)
    by_debtor = cm.orders.list_orders(q=debtor.id, limit=100)
    assert by_debtor.response.count == 2 and {o.id for o in by_debtor.items} == {order.id, second.id}
    drafts = cm.orders.list_orders(q=debtor.id, status="draft", type="invoice", ordering="-created")
    assert drafts.response.count == 2
    assert cm.orders.list_orders(q=debtor.id, status="submitted").response.count == 0
    with refused(ce.BadRequestError):
        cm.orders.list_orders(status="lost")

    patched = cm.orders.update_order(
        order.id, if_match=tag, confirmation_email=None, additional_debtor_ids=[co_debtor.id]
    )
    assert patched.confirmation_email is None
    assert [x.id for x in patched.additional_debtors] == [co_debtor.id]
    assert patched.claims[0].additional_debtor_ids == [co_debtor.id]
    with refused(ce.PreconditionFailedError, "precondition_failed"):
        cm.orders.update_order(order.id, if_match=tag, confirmation_email="x@example.com")
    with refused(ce.BadRequestError, "validation_error"):
        cm.orders.update_order(order.id, additional_debtor_ids=[debtor.id])  # repeats the primary

    incomplete = new_order(cm, debtor.id, starting_approach=None, creditor_obligation_fulfilled=None)
    with refused(ce.UnprocessableEntityError, "order_incomplete") as r:
        cm.orders.finalize_order(incomplete.id, idempotency_key=key())
    gaps = [e["field"] or "" for e in r["body"].get("errors") or []]
    assert any("starting_approach" in f for f in gaps) and any("creditor_obligation_fulfilled" in f for f in gaps), gaps

    fk = key()
    final = cm.orders.finalize_order(order.id, idempotency_key=fk)
    assert final.status == "submitted" and final.expires_at is None
    assert all(c.status == "submitted" for c in final.claims)
    assert cm.orders.finalize_order(order.id, idempotency_key=fk).status == "submitted"  # replay
    with refused(ce.ConflictError):
        cm.orders.finalize_order(order.id, idempotency_key=key())
    with refused(ce.ConflictError):
        cm.orders.update_order(order.id, confirmation_email="late@example.com")
    with refused(ce.ConflictError):
        cm.orders.delete_draft_order(order.id)

    withdrawn = cm.orders.withdraw_order(order.id, idempotency_key=key(), reason="Debtor paid directly")
    assert withdrawn.id == order.id and withdrawn.status == "withdrawn"
    assert all(c.status == "withdrawn" for c in withdrawn.claims)
    with refused(ce.ConflictError):
        cm.orders.withdraw_order(second.id, idempotency_key=key())  # a draft cannot be withdrawn

    _, second_tag = conditional(cm.orders, "get_order", second.id)
    assert cm.orders.delete_draft_order(second.id, if_match=second_tag) is None
    with refused(ce.NotFoundError, "not_found"):
        cm.orders.get_order(second.id)
    with refused(ce.NotFoundError):
        case(PRODUCTION_TOKEN).orders.get_order(order.id)

    # paywise's side (the back office): review start, rejection, merge, expiry.
    _, reviewed = submitted_order(cm)
    backoffice(f"orders/{reviewed.id}/start-review")
    with refused(ce.ConflictError, "order_not_withdrawable"):
        cm.orders.withdraw_order(reviewed.id, idempotency_key=key())
    backoffice(f"orders/{reviewed.id}/reject", {"reason": "Die Forderung ist verjährt."})
    rejected = cm.orders.get_order(reviewed.id)
    assert rejected.status == "rejected" and rejected.rejection.reason == "Die Forderung ist verjährt."
    aware(rejected.rejection.rejected_at)
    assert isinstance(rejected.rejection.notified_to, list)
    assert all(c.status == "rejected" for c in rejected.claims)
    assert [o.id for o in cm.orders.list_orders(q=reviewed.id, status="rejected").items] == [reviewed.id]

    absorbed = cm.orders.finalize_order(new_order(cm, debtor.id).id, idempotency_key=key())
    survivor = cm.orders.finalize_order(new_order(cm, debtor.id).id, idempotency_key=key())
    moved_claim = absorbed.claims[0].id
    backoffice(f"orders/{absorbed.id}/merge", {"into": survivor.id})
    merged = cm.orders.get_order(absorbed.id)
    assert merged.status == "merged" and merged.merged_into == survivor.id
    kept = find(cm.orders.get_order(survivor.id).claims, id=moved_claim)
    assert kept.order_id == survivor.id, "a merged order's claims move with their ids"

    stale = new_order(cm, debtor.id)
    backoffice(f"orders/{stale.id}/expire")
    expired = cm.orders.get_order(stale.id)
    assert expired.status == "expired"
    assert [o.id for o in cm.orders.list_orders(q=stale.id, status="expired").items] == [stale.id]
    with refused(ce.ConflictError, "order_expired"):
        cm.orders.update_order(stale.id, confirmation_email="zu-spaet@example.com")
    with refused(ce.ConflictError, "order_expired"):
        cm.orders.finalize_order(stale.id, idempotency_key=key())


# =============================================================================================
# Claims: standalone create, PATCH, DELETE, payments, documents (ops 1-2, 12-17, 22-26)
# =============================================================================================


def test_claims_payments_documents():
    cm = case()
    debtor = new_debtor(cm)
    order = new_order(cm, debtor.id)
    inline = order.claims[0]

    k = key()
    ref = unique("inv")
    doc_ref = unique("RE")
    standalone = StandaloneClaimCreateRequest_Receivable(
        order_id=order.id,
        is_disputed=False,
        principal_amount={"value": "100.00"},
        your_reference=ref,
        document_reference=doc_ref,
        subject_matter="Wartungsvertrag",
        document_date=days_ago(50),
        due_date=days_ago(36),
        items=[{"description": "Wartung", "quantity": "2", "unit": "h", "unit_price": {"value": "50.00"}}],
        additional_charges=[
            {"type": "reminder_fee", "amount": {"value": "5.00"}, "occurrence_date": days_ago(20), "subject_matter": "Mahngebühr"}
        ],
        reminders=[{"date": days_ago(30), "due_date": days_ago(20)}],
        legal_basis={"description": "Wartungsvertrag vom Januar"},
        metadata=[{"type": "comment", "value": "per SDK"}],
        events=[{"type": "delivery", "title": "Zugestellt", "occurence": dt.datetime(2026, 8, 1, 12, tzinfo=dt.timezone.utc)}],
    )
    c = cm.claims.create_claim(idempotency_key=k, request=standalone)
    assert c.type == "receivable" and c.id and c.status == "draft"
    assert c.order_id == order.id and c.debtor_id == debtor.id and c.mandate_id is None
    assert c.your_reference == ref and c.document_reference == doc_ref
    assert amount(c.principal_amount) == Decimal("100.00")
    assert amount(c.additional_charges_amount) == Decimal("5.00")
    assert amount(c.total_amount) == Decimal("105.00")
    assert c.items[0].quantity is not None and Decimal(c.items[0].quantity) == 2
    assert amount(c.items[0].amount) == Decimal("100.00")
    charge = c.additional_charges[0]
    assert charge.id and charge.type == "reminder_fee" and charge.occurrence_date == days_ago(20)
    assert c.reminders[0].id and c.reminders[0].date == days_ago(30)
    assert c.delay_date is not None, "delay_date is computed when omitted"
    assert [(m.type, m.value) for m in c.metadata] == [("comment", "per SDK")]
    assert c.events[0].title == "Zugestellt"
    assert c.payments == [] and c.documents == []
    assert cm.claims.create_claim(idempotency_key=k, request=standalone).id == c.id
    with refused(ce.BadRequestError, "validation_error") as r:
        cm.claims.create_claim(
            idempotency_key=key(),
            request=StandaloneClaimCreateRequest_Receivable(order_id=order.id, is_disputed=False, principal_amount={"value": "0.00"}),
        )
    assert any((e["field"] or "").startswith("principal_amount") for e in r["body"].get("errors") or []), r["body"]

    got, tag = conditional(cm.claims, "get_claim", c.id)
    assert got.id == c.id and got.type == "receivable"
    with refused(ce.NotFoundError, "not_found"):
        cm.claims.get_claim(random_id())

    listed = cm.claims.list_claims(order_id=order.id)
    assert listed.response.count == 2 and {x.id for x in listed.items} == {inline.id, c.id}
    assert [x.id for x in cm.claims.list_claims(your_reference=f"  {ref.upper()} ")] == [c.id]
    assert [x.id for x in cm.claims.list_claims(document_reference=doc_ref)] == [c.id]
    assert cm.claims.list_claims(order_id=order.id, status="draft").response.count == 2
    assert cm.claims.list_claims(order_id=order.id, status="accepted").response.count == 0

    patched = cm.claims.update_claim(
        c.id, if_match=tag, is_disputed=True, dispute_reason="Leistung mangelhaft", subject_matter="Wartung 2026"
    )
    assert patched.is_disputed is True and patched.dispute_reason == "Leistung mangelhaft"
    assert patched.subject_matter == "Wartung 2026" and amount(patched.principal_amount) == Decimal("100.00")
    with refused(ce.PreconditionFailedError, "precondition_failed"):
        cm.claims.update_claim(c.id, if_match=tag, subject_matter="stale")
    with refused(ce.BadRequestError, "validation_error"):
        cm.claims.update_claim(inline.id, is_disputed=True)  # disputed needs a reason
    cleared = cm.claims.update_claim(c.id, is_disputed=False, additional_charges=[])
    assert cleared.is_disputed is False and not cleared.dispute_reason
    assert cleared.additional_charges == [] and amount(cleared.total_amount) == Decimal("100.00")

    # Payments already received (on a draft: a claim fact, deletable).
    pk = key()
    pay = cm.claims.create_claim_payment(
        c.id, idempotency_key=pk, amount={"value": "20.00"}, value_date=days_ago(10), your_reference="Überweisung 1",
        metadata=[{"type": "comment", "value": "Teilzahlung"}],
    )
    assert pay.id and pay.claim.id == c.id and amount(pay.amount) == Decimal("20.00") and pay.amount.currency == "EUR"
    assert pay.value_date == days_ago(10) and pay.your_reference == "Überweisung 1" and pay.mandate is None
    assert cm.claims.create_claim_payment(
        c.id, idempotency_key=pk, amount={"value": "20.00"}, value_date=days_ago(10), your_reference="Überweisung 1",
        metadata=[{"type": "comment", "value": "Teilzahlung"}],
    ).id == pay.id
    with refused(ce.BadRequestError, "validation_error"):
        cm.claims.create_claim_payment(c.id, idempotency_key=key(), amount={"value": "5.00"}, value_date=today() + dt.timedelta(days=1))
    pays = cm.claims.list_claim_payments(c.id)
    assert pays.response.count == 1 and pays.items[0].id == pay.id
    assert amount(cm.claims.get_claim(c.id).total_amount) == Decimal("80.00")
    assert cm.claims.delete_claim_payment(c.id, pay.id) is None
    assert cm.claims.list_claim_payments(c.id).response.count == 0

    # Documents: multipart file, multipart base64; download; delete.
    dk = key()
    doc = cm.documents.create_claim_document(
        c.id, idempotency_key=dk, type="invoice", file=("rechnung.pdf", PDF, "application/pdf"), filename="Rechnung 1001.pdf"
    )
    doc = check_document(doc, type_="invoice", parent_type="claim", parent_id=c.id, mime="application/pdf")
    assert doc.filename.endswith(".pdf") and doc.failure_reason is None
    img = cm.documents.create_claim_document(c.id, idempotency_key=key(), type="payment_proof", base64=PNG_B64, filename="beleg.jpg")
    img = check_document(img, type_="payment_proof", parent_type="claim", parent_id=c.id, mime="image/png")
    assert img.filename.endswith(".png"), "the extension follows the detected type"
    with refused(ce.BadRequestError):
        cm.documents.create_claim_document(c.id, idempotency_key=key(), type="invoice", base64=PDF_B64, file=("x.pdf", PDF))
    with refused(ce.BadRequestError):
        cm.documents.create_claim_document(c.id, idempotency_key=key(), type="invoice")
    with refused(ce.BadRequestError):
        cm.documents.create_claim_document(c.id, idempotency_key=key(), type="rental_agreement", base64=PDF_B64)

    docs = cm.documents.list_claim_documents(c.id)
    assert docs.response.count == 2 and {x.id for x in docs.items} == {doc.id, img.id}
    got_doc, doc_tag = conditional(cm.documents, "get_claim_document", c.id, doc.id)
    assert got_doc.id == doc.id and got_doc.status == "ready"
    assert download(cm.documents.download_claim_document(c.id, doc.id)) == PDF
    assert download(cm.documents.download_claim_document(c.id, img.id)) == PNG
    assert {d.id for d in cm.claims.get_claim(c.id).documents} == {doc.id, img.id}
    assert cm.documents.delete_claim_document(c.id, img.id, if_match=etag_of(cm.documents.with_raw_response.get_claim_document(c.id, img.id))) is None
    assert cm.documents.list_claim_documents(c.id).response.count == 1
    with refused(ce.NotFoundError):
        download(cm.documents.download_claim_document(c.id, img.id))

    # DELETE a draft claim; after finalization claims are frozen.
    _, claim_tag = conditional(cm.claims, "get_claim", c.id)
    assert cm.claims.delete_claim(c.id, if_match=claim_tag) is None
    with refused(ce.NotFoundError):
        cm.claims.get_claim(c.id)
    cm.orders.finalize_order(order.id, idempotency_key=key())
    with refused(ce.ConflictError, "claim_not_editable"):
        cm.claims.update_claim(inline.id, subject_matter="too late")
    with refused(ce.ConflictError, "claim_not_editable"):
        cm.claims.delete_claim(inline.id)
    with refused(ce.ConflictError, "claim_not_editable"):
        cm.claims.create_claim(
            idempotency_key=key(),
            request=StandaloneClaimCreateRequest_Receivable(order_id=order.id, **receivable_fields()),
        )
    submitted_claim = cm.claims.get_claim(inline.id)
    assert submitted_claim.status == "submitted"
    # Payments stay recordable in every state; draft-only deletion.
    late = cm.claims.create_claim_payment(inline.id, idempotency_key=key(), amount={"value": "10.00"}, value_date=days_ago(1))
    assert late.claim.id == inline.id
    with refused(ce.ConflictError):
        cm.claims.delete_claim_payment(inline.id, late.id)
    # An expired draft answers order_expired instead.
    stale = new_order(cm, debtor.id)
    backoffice(f"orders/{stale.id}/expire")
    with refused(ce.ConflictError, "order_expired"):
        cm.claims.update_claim(stale.claims[0].id, subject_matter="zu spät")


# =============================================================================================
# Titled claims and the enforceable title (ops 3-11)
# =============================================================================================


def test_titled_claims_and_enforceable_title():
    cm = case()
    debtor = new_debtor(cm)
    titled = ClaimCreateRequest_Titled(
        is_disputed=False,
        your_reference=unique("tit"),
        subject_matter="Vollstreckungsbescheid Kaufpreis",
        enforceable_title={
            "title_type": "enforcement_order",
            "amount": {"value": "1500.00", "currency": "EUR"},
            "file_number": "24-1234567-0-1",
            "issuing_authority": "Amtsgericht Hünfeld",
            "issued_on": days_ago(400),
            "documents": [{"type": "enforceable_title", "base64": PDF_B64, "filename": "vb.pdf"}],
        },
    )
    order = cm.orders.create_order(
        idempotency_key=key(), debtor_id=debtor.id, type="titled", claims=[titled], success_fee_confirmed=True
    )
    assert order.type == "titled" and order.status == "draft" and order.success_fee_confirmed is True
    claim = order.claims[0]
    assert claim.type == "titled" and claim.principal_amount is None
    assert amount(claim.total_amount) == Decimal("1500.00")
    assert claim.enforceable_title.title_type == "enforcement_order"

    title, tag = conditional(cm.claims, "get_enforceable_title", claim.id)
    assert title.id and amount(title.amount) == Decimal("1500.00") and title.issued_on == days_ago(400)
    assert title.file_number == "24-1234567-0-1" and title.issuing_authority == "Amtsgericht Hünfeld"
    assert len(title.documents) == 1 and title.documents[0].type == "enforceable_title"
    primary_doc = title.documents[0]

    patched = cm.claims.update_enforceable_title(claim.id, if_match=tag, served_on=days_ago(390))
    assert patched.served_on == days_ago(390) and patched.title_type == "enforcement_order"
    with refused(ce.PreconditionFailedError, "precondition_failed"):
        cm.claims.update_enforceable_title(claim.id, if_match=tag, served_on=days_ago(380))
    with refused(ce.BadRequestError, "validation_error"):
        cm.claims.update_enforceable_title(claim.id, served_on=days_ago(500))  # before issued_on
    tag = etag_of(cm.claims.with_raw_response.get_enforceable_title(claim.id))
    replaced = cm.claims.replace_enforceable_title(
        claim.id,
        if_match=tag,
        title_type="final_judgment",
        amount={"value": "1600.00"},
        file_number="3 O 12/25",
        issuing_authority="Landgericht Berlin",
        issued_on=days_ago(300),
        legally_binding_since=days_ago(270),
    )
    assert replaced.title_type == "final_judgment" and amount(replaced.amount) == Decimal("1600.00")
    assert replaced.served_on is None, "PUT replaces the whole title"
    assert replaced.legally_binding_since == days_ago(270)
    assert amount(cm.claims.get_claim(claim.id).total_amount) == Decimal("1600.00")

    other = cm.claims.create_enforceable_title_document(
        claim.id, idempotency_key=key(), type="other", file=("anlage.png", PNG, "image/png")
    )
    other = check_document(other, type_="other", parent_type="enforceable_title", parent_id=title.id, mime="image/png")
    docs = cm.claims.list_enforceable_title_documents(claim.id)
    assert docs.response.count == 2 and {d.id for d in docs.items} == {primary_doc.id, other.id}
    got, doc_tag = conditional(cm.claims, "get_enforceable_title_document", claim.id, other.id)
    assert got.id == other.id
    assert download(cm.claims.download_enforceable_title_document(claim.id, other.id)) == PNG
    assert download(cm.claims.download_enforceable_title_document(claim.id, primary_doc.id)) == PDF
    assert cm.claims.delete_enforceable_title_document(claim.id, other.id, if_match=doc_tag) is None

    # The title cannot go while documents remain: 409 naming them.
    with refused(ce.ConflictError, "title_has_documents") as r:
        cm.claims.delete_enforceable_title(claim.id)
    conflict = parse_obj_as(ct.TitledDeleteConflictError, r["body"])
    assert conflict.document_ids == [primary_doc.id], r["body"]
    assert cm.claims.delete_enforceable_title_document(claim.id, primary_doc.id) is None
    tag = etag_of(cm.claims.with_raw_response.get_enforceable_title(claim.id))
    assert cm.claims.delete_enforceable_title(claim.id, if_match=tag) is None
    # The mock's reading: a titled claim keeps a blank title to fill in again.
    blank = cm.claims.get_enforceable_title(claim.id)
    assert blank.title_type is None and blank.amount is None and blank.file_number is None
    assert blank.issued_on is None and blank.documents == []

    receivable_order = new_order(cm, debtor.id)
    with refused(ce.NotFoundError):
        cm.claims.get_enforceable_title(receivable_order.claims[0].id)


# =============================================================================================
# Rental orders: the rental agreement and its documents (ops 73-79)
# =============================================================================================


def test_rental_agreement():
    cm = case()
    debtor = new_debtor(cm)
    rent_claim = receivable(
        "950.00",
        subject_matter="Miete",
        document_date=month_start(2),
        due_date=None,
        legal_basis={"claim_type_code": "H19"},
    )
    order = cm.orders.create_order(
        idempotency_key=key(),
        debtor_id=debtor.id,
        type="rental",
        claims=[rent_claim],
        starting_approach="extrajudicial",
        creditor_obligation_fulfilled=True,
        rental_agreement={
            "contract_date": dt.date(2024, 1, 15),
            "monthly_rent": {"value": "950.00"},
            "property_address": {"street": "Gartenweg 3", "postal_code": "04109", "city": "Leipzig", "country": "DE"},
            "due_rule": {"day": 3, "kind": "business_day"},
        },
    )
    assert order.type == "rental" and order.rental_agreement is not None
    claim = order.claims[0]
    assert claim.legal_basis.claim_type_code == "H19"
    assert claim.legal_basis.contract_date == dt.date(2024, 1, 15), "the agreement supplies the contract date"
    assert claim.due_date is not None and claim.due_date > claim.document_date, "due date derived from the due rule"

    agreement, tag = conditional(cm.orders, "get_rental_agreement", order.id)
    assert agreement.id == order.rental_agreement.id
    assert agreement.contract_date == dt.date(2024, 1, 15) and amount(agreement.monthly_rent) == Decimal("950.00")
    assert agreement.property_address.city == "Leipzig" and agreement.property_address.postal_code == "04109"
    assert agreement.due_rule.day == 3 and agreement.due_rule.kind == "business_day"

    patched = cm.orders.update_rental_agreement(
        order.id, if_match=tag, monthly_rent={"value": "1000.00"}, due_rule={"day": 1, "kind": "calendar_day"}
    )
    assert amount(patched.monthly_rent) == Decimal("1000.00") and patched.due_rule.kind == "calendar_day"
    assert patched.contract_date == dt.date(2024, 1, 15)
    with refused(ce.PreconditionFailedError, "precondition_failed"):
        cm.orders.update_rental_agreement(order.id, if_match=tag, monthly_rent={"value": "1.00"})
    with refused(ce.BadRequestError, "validation_error"):
        cm.orders.update_rental_agreement(order.id, due_rule={"day": 5})  # both keys required
    moved = cm.orders.update_rental_agreement(order.id, contract_date=dt.date(2024, 2, 1))
    assert moved.contract_date == dt.date(2024, 2, 1)
    assert cm.claims.get_claim(claim.id).legal_basis.contract_date == dt.date(2024, 2, 1)

    doc = cm.orders.create_rental_agreement_document(
        order.id, idempotency_key=key(), type="rental_agreement", file=("mietvertrag.pdf", PDF, "application/pdf")
    )
    doc = check_document(doc, type_="rental_agreement", parent_type="rental_agreement", parent_id=agreement.id, mime="application/pdf")
    extra = cm.orders.create_rental_agreement_document(order.id, idempotency_key=key(), type="other", base64=PNG_B64)
    extra = check_document(extra, type_="other", parent_type="rental_agreement", parent_id=agreement.id, mime="image/png")
    listed = cm.orders.list_rental_agreement_documents(order.id)
    assert listed.response.count == 2 and {d.id for d in listed.items} == {doc.id, extra.id}
    got, doc_tag = conditional(cm.orders, "get_rental_agreement_document", order.id, extra.id)
    assert got.id == extra.id
    assert download(cm.orders.download_rental_agreement_document(order.id, doc.id)) == PDF
    assert cm.orders.delete_rental_agreement_document(order.id, extra.id, if_match=doc_tag) is None
    assert cm.orders.list_rental_agreement_documents(order.id).response.count == 1

    final = cm.orders.finalize_order(order.id, idempotency_key=key())
    assert final.status == "submitted"
    with refused(ce.ConflictError):
        cm.orders.update_rental_agreement(order.id, monthly_rent={"value": "999.00"})

    invoice_order = new_order(cm, debtor.id)
    with refused(ce.NotFoundError):
        cm.orders.get_rental_agreement(invoice_order.id)


# =============================================================================================
# Order messages and their documents (ops 64-72)
# =============================================================================================


def test_order_messages():
    cm = case()
    _, order = submitted_order(cm)
    k = key()
    msg = cm.orders.create_order_message(
        order.id,
        idempotency_key=k,
        title="Rückfrage zur Forderung",
        body="<p>Bitte <b>prüfen</b>.</p><script>alert(1)</script>",
        documents=[{"type": "correspondence", "base64": PDF_B64, "filename": "brief.pdf"}],
    )
    assert msg.id and msg.title == "Rückfrage zur Forderung"
    assert "prüfen" in msg.body and "<script" not in msg.body, "the body is sanitized"
    assert msg.author.type == "api" and msg.sender == "client" and msg.state == "under_review" and msg.editable is True
    assert msg.parent.type == "order" and msg.parent.id == order.id and msg.response_to is None
    assert msg.href and msg.href.endswith(f"/v2/orders/{order.id}/messages/{msg.id}/"), msg.href
    assert len(msg.documents) == 1 and msg.documents[0].type == "correspondence"
    inline_doc = msg.documents[0]
    assert cm.orders.create_order_message(
        order.id,
        idempotency_key=k,
        title="Rückfrage zur Forderung",
        body="<p>Bitte <b>prüfen</b>.</p><script>alert(1)</script>",
        documents=[{"type": "correspondence", "base64": PDF_B64, "filename": "brief.pdf"}],
    ).id == msg.id
    with refused(ce.BadRequestError, "validation_error"):
        cm.orders.create_order_message(order.id, idempotency_key=key(), title="Leer", body="<script></script>")

    msgs = cm.orders.list_order_messages(order.id)
    assert msg.id in [m.id for m in msgs.items] and msgs.response.count >= 1
    got, tag = conditional(cm.orders, "get_order_message", order.id, msg.id)
    assert got.id == msg.id and got.editable is True

    edited = cm.orders.update_order_message(order.id, msg.id, if_match=tag, title="Rückfrage (ergänzt)")
    assert edited.title == "Rückfrage (ergänzt)" and edited.body == msg.body
    with refused(ce.PreconditionFailedError, "precondition_failed"):
        cm.orders.update_order_message(order.id, msg.id, if_match=tag, body="stale")
    with refused(ce.BadRequestError, "validation_error"):
        cm.orders.update_order_message(order.id, msg.id)  # at least one of title, body

    up = cm.orders.create_order_message_document(
        order.id, msg.id, idempotency_key=key(), type="other", file=("foto.png", PNG, "image/png")
    )
    up = check_document(up, type_="other", parent_type="message", parent_id=msg.id, mime="image/png")
    docs = cm.orders.list_order_message_documents(order.id, msg.id)
    assert docs.response.count == 2 and {d.id for d in docs.items} == {inline_doc.id, up.id}
    got_doc, doc_tag = conditional(cm.orders, "get_order_message_document", order.id, msg.id, up.id)
    assert got_doc.id == up.id
    assert download(cm.orders.download_order_message_document(order.id, msg.id, up.id)) == PNG
    assert download(cm.orders.download_order_message_document(order.id, msg.id, inline_doc.id)) == PDF
    assert cm.orders.delete_order_message_document(order.id, msg.id, up.id, if_match=doc_tag) is None
    assert cm.orders.list_order_message_documents(order.id, msg.id).response.count == 1
    with refused(ce.NotFoundError):
        cm.orders.get_order_message(order.id, random_id())

    backoffice(f"messages/{msg.id}/review", {"state": "handled"})
    handled = cm.orders.get_order_message(order.id, msg.id)
    assert handled.state == "handled" and handled.editable is False
    with refused(ce.ConflictError):
        cm.orders.update_order_message(order.id, msg.id, title="zu spät")


# =============================================================================================
# Order-level requests to client and answers (ops 80-88)
# =============================================================================================


def test_order_requests_to_client():
    cm = case()
    _, order = submitted_order(cm)
    published = backoffice(
        f"orders/{order.id}/requests-to-client",
        {"title": "Rechnungskopie", "description": "Bitte die Rechnung hochladen.", "allowed_answer_types": "fileupload"},
    )
    rtc = cm.orders.get_order_request_to_client(order.id, published["id"])
    assert rtc.id == published["id"] and rtc.answered is False and rtc.answer is None and rtc.order.id == order.id
    awaiting = cm.orders.get_order(order.id)
    assert awaiting.status == "awaiting_client_response"
    assert all(c.status == "awaiting_client_response" for c in awaiting.claims)

    assert [r.id for r in cm.orders.list_order_requests_to_client(order.id, answered=False).items] == [rtc.id]
    assert cm.orders.list_order_requests_to_client(order.id, answered=True).response.count == 0
    got, _ = conditional(cm.orders, "get_order_request_to_client", order.id, rtc.id)
    assert got.allowed_answer_types == "fileupload" and got.title == "Rechnungskopie"
    assert got.href and got.href.endswith(f"/v2/orders/{order.id}/requests-to-client/{rtc.id}/"), got.href
    assert got.question_attachments == []

    doc = cm.orders.create_order_request_to_client_answer_document(
        order.id, rtc.id, idempotency_key=key(), type="invoice", file=("rechnung.pdf", PDF, "application/pdf")
    )
    doc = check_document(doc, type_="invoice", parent_type="request_to_client_answer", parent_id=doc.parent.id, mime="application/pdf")
    spare = cm.orders.create_order_request_to_client_answer_document(order.id, rtc.id, idempotency_key=key(), type="other", base64=PNG_B64)
    spare = check_document(spare, type_="other", parent_type="request_to_client_answer", parent_id=doc.parent.id, mime="image/png")
    docs = cm.orders.list_order_request_to_client_answer_documents(order.id, rtc.id)
    assert docs.response.count == 2
    got_doc, spare_tag = conditional(cm.orders, "get_order_request_to_client_answer_document", order.id, rtc.id, spare.id)
    assert got_doc.id == spare.id
    assert download(cm.orders.download_order_request_to_client_answer_document(order.id, rtc.id, doc.id)) == PDF
    assert cm.orders.delete_order_request_to_client_answer_document(order.id, rtc.id, spare.id, if_match=spare_tag) is None
    assert [d.id for d in cm.orders.list_order_request_to_client_answer_documents(order.id, rtc.id).items] == [doc.id]

    answered = cm.orders.answer_order_request_to_client(order.id, rtc.id, idempotency_key=key(), text="Anbei die Rechnung.")
    assert answered.id == rtc.id and answered.answered is True
    aware(answered.answered_at)
    assert answered.answer is not None and answered.answer.text == "Anbei die Rechnung."
    assert [d.id for d in answered.answer.documents] == [doc.id]
    with refused(ce.ConflictError, "already_answered"):
        cm.orders.answer_order_request_to_client(order.id, rtc.id, idempotency_key=key(), text="Nochmal")
    backoffice(f"order-requests/{rtc.id}/start-answer-review")
    with refused(ce.ConflictError):
        cm.orders.create_order_request_to_client_answer_document(order.id, rtc.id, idempotency_key=key(), type="other", base64=PNG_B64)
    assert cm.orders.list_order_requests_to_client(order.id, answered=True).response.count == 1
    assert cm.orders.get_order(order.id).status == "submitted", "review resumes once every request is answered"

    yes_no = cm.orders.get_order_request_to_client(
        order.id,
        backoffice(f"orders/{order.id}/requests-to-client", {"title": "Bestritten?", "description": "Hat der Schuldner widersprochen?", "allowed_answer_types": "yes-no"})["id"],
    )
    with refused(ce.BadRequestError, "validation_error"):
        cm.orders.answer_order_request_to_client(order.id, yes_no.id, idempotency_key=key(), text="vielleicht")
    with refused(ce.BadRequestError, "validation_error"):
        cm.orders.answer_order_request_to_client(order.id, yes_no.id, idempotency_key=key(), text="no", booking_date=today())
    ok = cm.orders.answer_order_request_to_client(order.id, yes_no.id, idempotency_key=key(), text="no")
    assert ok.answered is True and ok.answer.text == "no"

    # A request with a file from paywise (control-route option `attach_document`, see the TODO).
    asked = backoffice(
        f"orders/{order.id}/requests-to-client",
        {"title": "Lieferschein", "description": "Stimmt dieser Lieferschein?", "allowed_answer_types": "yes-no", "attach_document": True},
    )["id"]
    attachment = find(cm.orders.get_order_request_to_client(order.id, asked).question_attachments or [], mime_type="application/pdf")
    assert attachment.id and attachment.filename and attachment.download_url
    assert download(cm.orders.download_order_request_to_client_attachment(order.id, asked, attachment.id))
    with refused(ce.NotFoundError):
        download(cm.orders.download_order_request_to_client_attachment(order.id, asked, random_id()))


# =============================================================================================
# Mandates: list, detail, history, documents, payments (ops 31-36, 46-47)
# =============================================================================================


def test_mandates_history_documents_payments():
    cm = case()
    debtor, order, mandate_id = accepted_mandate(cm)
    assert cm.orders.get_order(order.id).mandate == mandate_id
    claim = cm.claims.get_claim(order.claims[0].id)
    assert claim.status == "accepted" and claim.mandate_id == mandate_id

    mandate, tag = conditional(cm.mandates, "get_mandate", mandate_id)
    assert mandate.id == mandate_id and mandate.reference_number
    assert [c.id for c in mandate.claims] == [claim.id]
    assert mandate.debtor.person.last_name == "Mustermann" and mandate.debtor.your_reference == debtor.your_reference
    assert mandate.state.processing.code == "in_progress" and mandate.state.payment.code == "unpaid"
    assert mandate.state.legal_stage.code, "legal stage code missing"
    assert amount(mandate.total_amount) == Decimal("120.00") and mandate.total_amount.currency == "EUR"
    assert mandate.archived is False and mandate.main_case is None and mandate.subcases == []
    balance = mandate.legal_balance
    assert amount(balance.legal_claim_of_principal_claim) == Decimal("120.00")
    assert amount(balance.total_balance) == amount(balance.total_legal_claim) - amount(balance.total_payment)
    ref = mandate.reference_number

    assert [m.id for m in cm.mandates.list_mandates(reference_number=ref).items] == [mandate_id]
    assert [m.id for m in cm.mandates.list_mandates(q=mandate_id).items] == [mandate_id]
    assert [m.id for m in cm.mandates.list_mandates(q=claim.id).items] == [mandate_id]
    filtered = cm.mandates.list_mandates(
        q=ref, processing_state=["in_progress", "paused"], payment_state=["unpaid"], requests=["has_no_requests_to_client"], archived=False
    )
    assert [m.id for m in filtered.items] == [mandate_id]
    assert cm.mandates.list_mandates(q=ref, payment_state=["fully_paid"]).response.count == 0
    row = cm.mandates.list_mandates(reference_number=ref).items[0]
    assert row.reference_number == ref and row.state.payment.code == "unpaid"
    with refused(ce.BadRequestError):
        cm.mandates.list_mandates(processing_state=["sleeping"])
    with refused(ce.NotFoundError):
        case(PRODUCTION_TOKEN).mandates.get_mandate(mandate_id)

    # History: a published status update.
    entry_id = backoffice(
        f"mandates/{mandate_id}/status-updates", {"title": "Mahnung versandt", "description": "Erste Mahnung an den Schuldner."}
    )["id"]
    history = list(cm.mandates.get_mandate_history(mandate_id, limit=100))
    mine = find(history, id=entry_id)
    assert mine.type == "status_update"
    assert mine.title == "Mahnung versandt" and mine.description == "Erste Mahnung an den Schuldner."
    aware(mine.occurred_at)
    assert mine.source_mandate.id == mandate_id and mine.source_mandate.relation == "main_case"
    expanded = cm.mandates.get_mandate_history(mandate_id, expand="history.related_resources")
    assert entry_id in [h.id for h in expanded]
    detailed = cm.mandates.get_mandate(mandate_id, history=True, expand="history.related_resources")
    assert entry_id in [h.id for h in detailed.history]

    # The case's documents: the claim's inline invoice.
    docs = cm.mandates.get_mandate_documents(mandate_id)
    assert docs.response.count is not None and docs.response.count >= 1
    invoice = find(list(docs), type="invoice")
    assert invoice.mime_type == "application/pdf" and invoice.download_url
    assert download(cm.mandates.download_mandate_document(mandate_id, invoice.id)) == PDF

    # Direct payments reported on the case.
    pk = key()
    pay = cm.mandates.create_mandate_payment(
        mandate_id, idempotency_key=pk, amount={"value": "30.00", "currency": "EUR"}, value_date=days_ago(3), your_reference=unique("zahlung")
    )
    assert pay.id and pay.mandate.id == mandate_id and pay.mandate.reference_number == ref
    assert amount(pay.amount) == Decimal("30.00")
    assert cm.mandates.create_mandate_payment(
        mandate_id, idempotency_key=pk, amount={"value": "30.00", "currency": "EUR"}, value_date=days_ago(3), your_reference=pay.your_reference
    ).id == pay.id
    with refused(ce.BadRequestError, "validation_error"):
        cm.mandates.create_mandate_payment(mandate_id, idempotency_key=key(), amount={"value": "0.00"}, value_date=days_ago(1))
    assert pay.id in [p.id for p in cm.mandates.list_mandate_payments(mandate_id)]
    after = cm.mandates.get_mandate(mandate_id)
    assert amount(after.legal_balance.total_payment) == Decimal("30.00")
    assert amount(after.legal_balance.total_balance) == Decimal("90.00")
    assert after.state.payment.code == "partially_paid"

    # A status update with a file attached (control-route option `attach_document`, see the TODO).
    with_file = backoffice(
        f"mandates/{mandate_id}/status-updates", {"title": "Vollstreckungsbescheid", "description": "Anbei.", "attach_document": True}
    )["id"]
    entry = find(list(cm.mandates.get_mandate_history(mandate_id, limit=100)), id=with_file)
    assert len(entry.attachments) == 1
    attachment = entry.attachments[0]
    assert attachment.id and attachment.filename and attachment.download_url
    assert download(cm.mandates.download_mandate_history_attachment(mandate_id, with_file, attachment.id))
    with refused(ce.NotFoundError):
        download(cm.mandates.download_mandate_history_attachment(mandate_id, with_file, random_id()))


# =============================================================================================
# Mandate messages and their documents (ops 37-45)
# =============================================================================================


def test_mandate_messages():
    cm = case()
    _, _, mandate_id = accepted_mandate(cm)
    msg = cm.mandates.create_mandate_message(
        mandate_id, idempotency_key=key(), title="Ratenzahlung", body="Der Schuldner bietet Raten an.",
        documents=[{"type": "correspondence", "base64": PDF_B64, "filename": "angebot.pdf"}],
    )
    assert msg.id and msg.parent.type == "mandate" and msg.parent.id == mandate_id
    assert msg.state == "under_review" and msg.editable is True and msg.author.type == "api"
    assert msg.href and msg.href.endswith(f"/v2/mandates/{mandate_id}/messages/{msg.id}/"), msg.href
    inline_doc = msg.documents[0]
    assert msg.id in [m.id for m in cm.mandates.list_mandate_messages(mandate_id)]
    got, tag = conditional(cm.mandates, "get_mandate_message", mandate_id, msg.id)
    assert got.title == "Ratenzahlung"
    edited = cm.mandates.update_mandate_message(mandate_id, msg.id, if_match=tag, body="Raten à 50 EUR.")
    assert edited.body == "Raten à 50 EUR." and edited.title == "Ratenzahlung"
    with refused(ce.PreconditionFailedError, "precondition_failed"):
        cm.mandates.update_mandate_message(mandate_id, msg.id, if_match=tag, title="stale")

    up = cm.mandates.create_mandate_message_document(
        mandate_id, msg.id, idempotency_key=key(), type="payment_proof", file=("beleg.png", PNG, "image/png")
    )
    up = check_document(up, type_="payment_proof", parent_type="message", parent_id=msg.id, mime="image/png")
    docs = cm.mandates.list_mandate_message_documents(mandate_id, msg.id)
    assert docs.response.count == 2 and {d.id for d in docs.items} == {inline_doc.id, up.id}
    got_doc, doc_tag = conditional(cm.mandates, "get_mandate_message_document", mandate_id, msg.id, up.id)
    assert got_doc.id == up.id
    assert download(cm.mandates.download_mandate_message_document(mandate_id, msg.id, up.id)) == PNG
    assert cm.mandates.delete_mandate_message_document(mandate_id, msg.id, up.id, if_match=doc_tag) is None
    assert cm.mandates.list_mandate_message_documents(mandate_id, msg.id).response.count == 1
    with refused(ce.NotFoundError):
        cm.mandates.create_mandate_message(random_id(), idempotency_key=key(), title="x", body="y")

    staff = backoffice(f"mandates/{mandate_id}/messages", {"title": "Zahlungseingang", "body": "Der Schuldner hat gezahlt."})
    theirs = cm.mandates.get_mandate_message(mandate_id, staff["id"])
    assert theirs.author.type == "paywise" and theirs.sender == "paywise"
    assert theirs.state == "published" and theirs.editable is False
    assert {msg.id, theirs.id} <= {m.id for m in cm.mandates.list_mandate_messages(mandate_id)}
    with refused(ce.ConflictError):
        cm.mandates.update_mandate_message(mandate_id, theirs.id, title="von uns")


# =============================================================================================
# Mandate-level requests to client and answers (ops 48-56)
# =============================================================================================


def test_mandate_requests_to_client():
    cm = case()
    _, _, mandate_id = accepted_mandate(cm)
    published = backoffice(
        f"mandates/{mandate_id}/requests-to-client",
        {"title": "Zahlungseingang?", "description": "Ist eine Zahlung eingegangen?", "allowed_answer_types": "yes-with-date-no-freetext-on-no"},
    )
    rtc = cm.mandates.get_mandate_request_to_client(mandate_id, published["id"])
    assert rtc.answered is False and rtc.answer is None and rtc.mandate.id == mandate_id
    assert [r.id for r in cm.mandates.list_mandate_requests_to_client(mandate_id, answered=False).items] == [rtc.id]
    got, _ = conditional(cm.mandates, "get_mandate_request_to_client", mandate_id, rtc.id)
    assert got.allowed_answer_types == "yes-with-date-no-freetext-on-no" and got.mandate.reference_number
    assert got.href and got.href.endswith(f"/v2/mandates/{mandate_id}/requests-to-client/{rtc.id}/"), got.href
    assert got.question_attachments == []
    with refused(ce.NotFoundError):
        download(cm.mandates.download_mandate_request_to_client_attachment(mandate_id, rtc.id, random_id()))

    doc = cm.mandates.create_mandate_request_to_client_answer_document(
        mandate_id, rtc.id, idempotency_key=key(), type="bank_statement", file=("auszug.pdf", PDF, "application/pdf")
    )
    doc = check_document(doc, type_="bank_statement", parent_type="request_to_client_answer", parent_id=doc.parent.id, mime="application/pdf")
    spare = cm.mandates.create_mandate_request_to_client_answer_document(mandate_id, rtc.id, idempotency_key=key(), type="other", base64=PNG_B64)
    docs = cm.mandates.list_mandate_request_to_client_answer_documents(mandate_id, rtc.id)
    assert docs.response.count == 2
    got_doc, spare_tag = conditional(cm.mandates, "get_mandate_request_to_client_answer_document", mandate_id, rtc.id, spare.id)
    assert got_doc.id == spare.id
    assert download(cm.mandates.download_mandate_request_to_client_answer_document(mandate_id, rtc.id, doc.id)) == PDF
    assert cm.mandates.delete_mandate_request_to_client_answer_document(mandate_id, rtc.id, spare.id, if_match=spare_tag) is None
    assert cm.mandates.list_mandate_request_to_client_answer_documents(mandate_id, rtc.id).response.count == 1

    with refused(ce.BadRequestError, "validation_error"):
        cm.mandates.answer_mandate_request_to_client(mandate_id, rtc.id, idempotency_key=key(), text="yes")  # needs a date
    with refused(ce.BadRequestError, "validation_error"):
        cm.mandates.answer_mandate_request_to_client(mandate_id, rtc.id, idempotency_key=key(), text="no")  # needs a comment
    ak = key()
    answered = cm.mandates.answer_mandate_request_to_client(mandate_id, rtc.id, idempotency_key=ak, text="yes", booking_date=days_ago(2))
    assert answered.answered is True and answered.answer.text == "yes" and answered.answer.booking_date == days_ago(2)
    aware(answered.answered_at)
    replay = cm.mandates.answer_mandate_request_to_client(mandate_id, rtc.id, idempotency_key=ak, text="yes", booking_date=days_ago(2))
    assert replay.id == rtc.id and replay.answer.id == answered.answer.id
    with refused(ce.ConflictError, "already_answered"):
        cm.mandates.answer_mandate_request_to_client(mandate_id, rtc.id, idempotency_key=key(), text="no", additional_comment="doch nicht")
    assert [r.id for r in cm.mandates.list_mandate_requests_to_client(mandate_id, answered=True).items] == [rtc.id]

    # A request with a file from paywise (control-route option `attach_document`, see the TODO).
    asked = backoffice(
        f"mandates/{mandate_id}/requests-to-client",
        {"title": "Vollmacht", "description": "Bitte unterschreiben.", "allowed_answer_types": "fileupload", "attach_document": True},
    )["id"]
    attachment = find(cm.mandates.get_mandate_request_to_client(mandate_id, asked).question_attachments or [], mime_type="application/pdf")
    assert attachment.id and attachment.filename and attachment.download_url
    assert download(cm.mandates.download_mandate_request_to_client_attachment(mandate_id, asked, attachment.id))


# =============================================================================================
# Payments (ops 89-90)
# =============================================================================================


def test_payments():
    cm = case()
    _, order, mandate_id = accepted_mandate(cm)
    claim_id = order.claims[0].id
    ref = unique("zahlung")
    reported = cm.mandates.create_mandate_payment(mandate_id, idempotency_key=key(), amount={"value": "15.00"}, value_date=days_ago(5), your_reference=ref)
    via_claim = cm.claims.create_claim_payment(claim_id, idempotency_key=key(), amount={"value": "25.00"}, value_date=days_ago(4))
    assert via_claim.claim.id == claim_id

    by_mandate = cm.payments.list_payments(mandate=mandate_id, limit=100)
    assert reported.id in [p.id for p in by_mandate.items]
    assert via_claim.id in [p.id for p in cm.payments.list_payments(claim=claim_id, limit=100)]
    assert [p.id for p in cm.payments.list_payments(your_reference=ref).items] == [reported.id]
    window = cm.payments.list_payments(mandate=mandate_id, value_date_after=days_ago(5), value_date_before=days_ago(5))
    assert [p.id for p in window.items] == [reported.id]
    assert cm.payments.list_payments(mandate=mandate_id, value_date_after=days_ago(1)).response.count == 0

    got, _ = conditional(cm.payments, "get_payment", reported.id)
    assert got.id == reported.id and amount(got.amount) == Decimal("15.00") and got.amount.currency == "EUR"
    assert got.mandate.id == mandate_id and got.value_date == days_ago(5) and got.your_reference == ref
    aware(got.created_at)
    with refused(ce.NotFoundError, "not_found"):
        cm.payments.get_payment(random_id())
    with refused(ce.BadRequestError):
        cm.payments.list_payments(claim="not-a-uuid")


# =============================================================================================
# Statements and single-mandate statements (ops 91-97)
# =============================================================================================


def test_statements():
    cm = case()
    _, _, mandate_id = accepted_mandate(cm)
    ref = cm.mandates.get_mandate(mandate_id).reference_number
    published = backoffice(f"mandates/{mandate_id}/statements")
    statement = cm.statements.get_statement(published["statement"]["id"])
    single = cm.single_mandate_statements.get_single_mandate_statement(published["single_mandate_statement"]["id"])

    assert statement.id in [s.id for s in cm.statements.list_statements(mandate_reference_number=ref)]
    assert [s.id for s in cm.statements.list_statements(q=statement.id).items] == [statement.id]
    assert statement.id in [s.id for s in cm.statements.list_statements(status="published", ordering="-booking_date", limit=100)]
    got, _ = conditional(cm.statements, "get_statement", statement.id)
    assert got.status == "published" and got.cancelled_at is None and got.clearing_no
    aware(got.published_at)
    assert got.mandate_count is not None and got.mandate_count >= 1
    row = find(got.mandates, id=mandate_id)
    assert row.reference_number == ref
    full = find(got.files, type="full-pdf")
    assert full.download_url and full.media_type == "application/pdf"
    for entry in got.financials.vat_entries or []:
        rate = Decimal(entry.vat_rate)
        assert rate == 0 or rate >= 1, f"collective statements use percent VAT rates, got {entry.vat_rate}"
    assert download(cm.statements.download_statement(statement.id)).startswith(b"%PDF")
    assert download(cm.statements.download_statement(statement.id, type="full-pdf")).startswith(b"%PDF")
    with refused(ce.BadRequestError):
        download(cm.statements.download_statement(statement.id, type="everything-zip"))
    transferred = {f.type for f in got.files}
    for kind in ("third-party-money-xlsx", "cost-burden-xlsx", "closing-xlsx"):
        if kind in transferred:
            assert download(cm.statements.download_statement(statement.id, type=kind))
        else:
            with refused(ce.NotFoundError):
                download(cm.statements.download_statement(statement.id, type=kind))
    cases = cm.statements.list_statement_cases(statement.id)
    assert mandate_id in [r.id for r in cases]
    assert [r.id for r in cm.statements.list_statement_cases(statement.id, reference_number=ref).items] == [mandate_id]

    listed = cm.single_mandate_statements.list_single_mandate_statements(mandate=mandate_id)
    assert single.id in [s.id for s in listed]
    by_ref = cm.single_mandate_statements.list_single_mandate_statements(reference_number=ref, status="published")
    assert single.id in [s.id for s in by_ref]
    assert single.id in [
        s.id for s in cm.single_mandate_statements.list_single_mandate_statements(mandate=mandate_id, statement_type=single.statement_type)
    ]
    got_single, _ = conditional(cm.single_mandate_statements, "get_single_mandate_statement", single.id)
    assert got_single.mandate.id == mandate_id and got_single.reference_number == ref
    assert got_single.status == "published" and got_single.statement_type
    assert got_single.file is not None and got_single.file.download_url
    for entry in got_single.financials.vat_entries or []:
        assert Decimal(entry.vat_rate) < 1, f"single-mandate statements use fraction VAT rates, got {entry.vat_rate}"
    assert download(cm.single_mandate_statements.download_single_mandate_statement_pdf(single.id)).startswith(b"%PDF")
    with refused(ce.NotFoundError):
        cm.single_mandate_statements.get_single_mandate_statement(random_id())

    # paywise cancels both (control routes statements/{id}/cancel, single-mandate-statements/{id}/cancel).
    backoffice(f"statements/{statement.id}/cancel", {"comment": "Korrektur folgt"})
    cancelled = cm.statements.get_statement(statement.id)
    assert cancelled.status == "cancelled"
    aware(cancelled.cancelled_at)
    assert statement.id in [s.id for s in cm.statements.list_statements(mandate_reference_number=ref, status="cancelled")]
    assert statement.id not in [s.id for s in cm.statements.list_statements(mandate_reference_number=ref, status="published")]
    backoffice(f"single-mandate-statements/{single.id}/cancel")
    gone = cm.single_mandate_statements.get_single_mandate_statement(single.id)
    assert gone.status == "cancelled"
    aware(gone.cancelled_at)
    assert single.id in [s.id for s in cm.single_mandate_statements.list_single_mandate_statements(mandate=mandate_id, status="cancelled")]


# =============================================================================================
# Case webhooks and deliveries (ops 99-108)
# =============================================================================================


def test_webhooks_and_deliveries(receiver):
    cm = case()
    url = receiver.url(f"/case/{uuid.uuid4().hex}")
    k = key()
    hook = cm.webhooks.create_webhook(
        idempotency_key=k, url=url, description="SDK suite", events=["order.submitted", "order.accepted"], max_consecutive_failures=10
    )
    try:
        assert hook.id and hook.url == url and hook.secret_key, "create answers the secret once"
        assert hook.enabled is True and hook.auto_disabled is False and hook.contract_version == "v2"
        assert hook.events == ["order.submitted", "order.accepted"] and hook.max_consecutive_failures == 10
        assert hook.consecutive_failures == 0 and hook.last_failure_at is None
        replay = cm.webhooks.create_webhook(
            idempotency_key=k, url=url, description="SDK suite", events=["order.submitted", "order.accepted"], max_consecutive_failures=10
        )
        assert replay.id == hook.id and not replay.secret_key, "replays omit the secret"

        assert hook.id in [w.id for w in cm.webhooks.list_webhooks(enabled=True, limit=100)]
        assert hook.id not in [w.id for w in cm.webhooks.list_webhooks(enabled=False, limit=100)]
        got, tag = conditional(cm.webhooks, "get_webhook", hook.id)
        assert got.url == url and "secret_key" not in (got.model_extra or {})
        patched = cm.webhooks.update_webhook(hook.id, if_match=tag, description="SDK suite (all)", events=["*"])
        assert patched.description == "SDK suite (all)" and patched.events == ["*"]
        with refused(ce.PreconditionFailedError, "precondition_failed"):
            cm.webhooks.update_webhook(hook.id, if_match=tag, description="stale")
        with refused(ce.BadRequestError, "validation_error"):
            cm.webhooks.update_webhook(hook.id, events=["*", "order.submitted"])  # the wildcard stands alone

        rotated = cm.webhooks.rotate_webhook_secret(hook.id, idempotency_key=key())
        assert rotated.id == hook.id and rotated.secret_key and rotated.secret_key != hook.secret_key

        sent = cm.webhooks.test_webhook(hook.id, idempotency_key=key(), event="order.submitted")
        assert sent.delivery_id and sent.event_id and sent.detail
        arrived = receiver.wait_for(lambda r: r["headers"].get("webhook-id") == sent.event_id)
        assert arrived["path"].startswith("/case/")
        delivery = settle(cm.webhook_deliveries.get_webhook_delivery, sent.delivery_id)
        assert delivery.status == "success" and delivery.response_status_code == 204
        assert delivery.webhook == hook.id and delivery.webhook_url == url and delivery.event_id == sent.event_id
        assert delivery.event_type == "order.submitted" and delivery.payload.type == "order.submitted"
        assert delivery.payload.id == sent.event_id and delivery.attempts >= 1 and delivery.idempotency_key
        aware(delivery.completed_at)
        got_delivery, _ = conditional(cm.webhook_deliveries, "get_webhook_delivery", sent.delivery_id)
        assert got_delivery.id == sent.delivery_id

        assert sent.delivery_id in [d.id for d in cm.webhook_deliveries.list_webhook_deliveries(webhook=hook.id, limit=100)]
        only = cm.webhook_deliveries.list_webhook_deliveries(webhook=hook.id, event_type="order.submitted", status="success")
        assert sent.delivery_id in [d.id for d in only.items]
        assert cm.webhook_deliveries.list_webhook_deliveries(webhook=hook.id, status="failed").response.count == 0
        with refused(ce.BadRequestError):
            cm.webhook_deliveries.list_webhook_deliveries(status="lost")

        again = cm.webhook_deliveries.redeliver_webhook_delivery(sent.delivery_id, idempotency_key=key())
        assert again.event_id == sent.event_id and again.delivery_id
        redelivery = settle(cm.webhook_deliveries.get_webhook_delivery, again.delivery_id)
        assert redelivery.event_id == sent.event_id
        if again.delivery_id != sent.delivery_id:
            assert redelivery.idempotency_key != delivery.idempotency_key, "a redelivery gets a new idempotency key"

        off = cm.webhooks.update_webhook(hook.id, enabled=False)
        assert off.enabled is False
        with refused(ce.ConflictError):
            cm.webhook_deliveries.redeliver_webhook_delivery(sent.delivery_id, idempotency_key=key())
        with refused(ce.NotFoundError):
            cm.webhook_deliveries.get_webhook_delivery(random_id())
    finally:
        with contextlib.suppress(ApiError):
            tag = etag_of(cm.webhooks.with_raw_response.get_webhook(hook.id))
            assert cm.webhooks.delete_webhook(hook.id, if_match=tag) is None
    with refused(ce.NotFoundError):
        cm.webhooks.get_webhook(hook.id)


# =============================================================================================
# The Case event feed (op 27)
# =============================================================================================


def test_events():
    cm = case()
    company = cm.info.get_case_credential_context().company
    _, order, mandate_id = accepted_mandate(cm)
    advance_clock("PT2M")  # entries become visible about 60 s after they are recorded

    submitted = [e for e in cm.events.list_events(event_type=["order.submitted"], limit=100) if e.data.order_id == order.id]
    assert len(submitted) == 1, submitted
    ev = submitted[0]
    assert ev.type == "order.submitted" and ev.id
    aware(ev.created_at)
    assert ev.data.company_id == company and ev.data.order_url == f"/v2/orders/{order.id}/"
    assert ev.data.claim_ids == sorted(c.id for c in order.claims)

    accepted = [e for e in cm.events.list_events(event_type=["order.accepted"], limit=100) if e.data.order_id == order.id]
    assert len(accepted) == 1 and accepted[0].data.mandate_id == mandate_id
    assert accepted[0].data.mandate_url == f"/v2/mandates/{mandate_id}/"
    created = [e for e in cm.events.list_events(event_type=["mandate.created"], limit=100) if e.data.mandate_id == mandate_id]
    assert len(created) == 1

    # Cursor paging: `next` is followed by the SDK's pager as a URL; `cursor` is on every page.
    page = cm.events.list_events(event_type=["order.submitted", "order.accepted"], limit=1)
    assert len(page.items) == 1 and page.response.cursor
    assert page.response.next and page.response.next.startswith(("http://", "https://")), page.response.next
    seen, last = [], None
    for p in page.iter_pages():
        seen.extend(e.id for e in p.items)
        last = p
    assert ev.id in seen and accepted[0].id in seen and len(seen) == len(set(seen))
    assert last.response.next is None and last.response.cursor
    nothing = cm.events.list_events(since=last.response.cursor, event_type=["order.submitted", "order.accepted"])
    assert nothing.items == [] and nothing.response.cursor == last.response.cursor and nothing.response.next is None
    with refused(ce.BadRequestError):
        cm.events.list_events(event_type=["claim.created"])


# =============================================================================================
# Partner: companies (ops 109-113)
# =============================================================================================


def company_args(**kw) -> dict:
    args = {
        "name": unique("Muster Handel GmbH"),
        "onboarding_mode": "api_only",
        "external_reference": unique("crm"),
        "address": {"street": "Marktplatz 1", "postal_code": "80331", "city": "München", "country": "DE"},
        "phone": "+49891234567",
        "tax_treatment": "input_tax_deductible",
        "payout_bank_account": {"account_holder": "Muster Handel GmbH", "iban": IBAN},
        "notification_channels": [{"type": "email", "value": "ops@example.com", "notifications": ["statements", "requests_to_client"]}],
        "users": [{"email": f"{uuid.uuid4().hex[:8]}@example.com", "first_name": "Max", "last_name": "Muster", "role": "admin"}],
    }
    args.update(kw)
    return args


def onboard(pt, **kw):
    return pt.companies.onboard_a_company(idempotency_key=key(), **company_args(**kw))


def test_partner_companies():
    pt = partner()
    args = company_args()
    k = key()
    raw = pt.companies.with_raw_response.onboard_a_company(idempotency_key=k, **args)
    assert raw.status_code == 201, "company creation answers 201"
    co = raw.data
    assert co.id and co.name == args["name"] and co.external_reference == args["external_reference"]
    assert co.onboarding_mode == "api_only" and co.onboarding_status == "confirmation_not_required"
    assert co.case_access == "available" and co.sandbox_origin == "sandbox_native"
    assert co.phone == "+49891234567"
    assert co.address.city == "München" and co.payout_bank_account.iban == IBAN
    assert co.notification_channels[0].notifications == ["statements", "requests_to_client"]
    readiness = co.case_submission_readiness
    assert readiness is not None and isinstance(readiness.ready, bool)
    assert readiness.ready or readiness.issues, "a company that is not ready names its issues"
    for issue in readiness.issues or []:
        assert issue.code and issue.message
    assert len(co.users) == 1 and co.users[0].role == "admin" and co.users[0].status == "pending_setup"
    assert co.users[0].setup_url, "the first 201 carries the setup links"
    aware(co.created_at)

    replay = pt.companies.onboard_a_company(idempotency_key=k, **args)
    assert replay.id == co.id and not replay.users[0].setup_url, "replays omit setup_url"
    with refused(pe.ConflictError, "company_exists") as r:
        pt.companies.onboard_a_company(idempotency_key=key(), **company_args(external_reference=args["external_reference"]))
    assert parse_obj_as(ptypes.CompanyExistsError, r["body"]).company_id == co.id
    with refused(pe.BadRequestError, "onboarding_mode_required"):
        pt.companies.onboard_a_company(idempotency_key=key(), **company_args(onboarding_mode=None))
    with refused(pe.BadRequestError, "validation_error"):
        pt.companies.onboard_a_company(idempotency_key=key(), **company_args(tax_treatment="reverse_charge"))  # needs a VAT number
    with refused(pe.ForbiddenError, "onboarding_mode_not_allowed"):
        partner(PARTNER_RESTRICTED_TOKEN).companies.onboard_a_company(idempotency_key=key(), **company_args())

    assert [c.id for c in pt.companies.list_managed_companies(external_reference=args["external_reference"]).items] == [co.id]
    assert co.id in [c.id for c in pt.companies.list_managed_companies(search=f'"{args["name"]}"')]
    ours = [c.name for c in pt.companies.list_managed_companies(ordering="-name", limit=100) if c.name.startswith("Muster Handel GmbH-")]
    assert args["name"] in ours and ours == sorted(ours, reverse=True)
    if co.customer_number:
        assert co.id in [c.id for c in pt.companies.list_managed_companies(customer_number=co.customer_number)]

    got, tag = conditional(pt.companies, "get_a_managed_company", co.id)
    assert got.id == co.id and [u.id for u in got.users] == [co.users[0].id]
    assert "setup_url" not in (got.users[0].model_extra or {}), "reads never carry setup_url"

    patched = pt.companies.update_a_company_patch(co.id, if_match=tag, phone="+49897654321", address={"city": "Augsburg"})
    assert patched.phone == "+49897654321" and patched.address.city == "Augsburg" and patched.address.street == "Marktplatz 1"
    with refused(pe.PreconditionFailedError, "precondition_failed"):
        pt.companies.update_a_company_patch(co.id, if_match=tag, phone=None)
    tag2 = etag_of(pt.companies.with_raw_response.get_a_managed_company(co.id))
    noop = pt.companies.with_raw_response.update_a_company_patch(co.id)
    assert noop.data.updated_at == patched.updated_at and etag_of(noop) == tag2, "an empty PATCH changes nothing"
    with refused(pe.ConflictError, "onboarding_mode_immutable"):
        pt.companies.update_a_company_patch(co.id, request_options={"additional_body_parameters": {"onboarding_mode": "web_flow"}})

    rk = key()
    receipt = pt.companies.release_a_company(co.id, idempotency_key=rk, reason="Vertrag beendet")
    assert receipt.id == co.id and receipt.case_access == "unavailable"
    assert pt.companies.release_a_company(co.id, idempotency_key=rk, reason="Vertrag beendet").id == co.id
    with refused(pe.NotFoundError, "not_found"):
        pt.companies.release_a_company(co.id, idempotency_key=key())
    with refused(pe.NotFoundError, "not_found"):
        pt.companies.get_a_managed_company(co.id)
    # The external reference is free again after release.
    reused = onboard(pt, external_reference=args["external_reference"])
    assert reused.id != co.id

    # web_flow: provisional until the company's administrator confirms (no case access before).
    wf = onboard(pt, onboarding_mode="web_flow")
    assert wf.onboarding_mode == "web_flow" and wf.onboarding_status == "confirmation_pending"
    assert wf.case_access == "unavailable"
    backoffice(f"companies/{wf.id}/confirm", token=PARTNER_TOKEN)
    confirmed = pt.companies.get_a_managed_company(wf.id)
    assert confirmed.onboarding_status == "confirmed" and confirmed.case_access == "available"


# =============================================================================================
# Partner: memberships (ops 114-120)
# =============================================================================================


def test_partner_memberships():
    pt = partner()
    co = onboard(pt)
    admin = co.users[0]
    k = key()
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    m = pt.company_users.add_a_company_membership(co.id, idempotency_key=k, email=email, first_name="Mia", last_name="Beispiel", role="member")
    assert m.id and m.email == email and m.role == "member" and m.status == "pending_setup" and m.setup_url
    aware(m.invite_expires_at)
    again = pt.company_users.add_a_company_membership(co.id, idempotency_key=k, email=email, first_name="Mia", last_name="Beispiel", role="member")
    assert again.id == m.id and not again.setup_url
    with refused(pe.ConflictError, "membership_exists"):
        pt.company_users.add_a_company_membership(co.id, idempotency_key=key(), email=email, first_name="Mia", last_name="B.", role="member")
    with refused(pe.BadRequestError, "validation_error"):
        pt.company_users.add_a_company_membership(co.id, idempotency_key=key(), email="not-an-email", first_name="A", last_name="B", role="member")
    with refused(pe.NotFoundError):
        pt.company_users.add_a_company_membership(random_id(), idempotency_key=key(), email=email, first_name="A", last_name="B", role="member")

    listed = pt.company_users.list_company_memberships(co.id)
    assert listed.response.count == 2 and {x.id for x in listed.items} == {admin.id, m.id}
    got, tag = conditional(pt.company_users, "get_a_company_membership", co.id, m.id)
    assert got.id == m.id and "setup_url" not in (got.model_extra or {})

    changed = pt.company_users.change_a_pending_membership_role(co.id, m.id, role="readonly", if_match=tag)
    assert changed.role == "readonly" and changed.status == "pending_setup"
    with refused(pe.PreconditionFailedError, "precondition_failed"):
        pt.company_users.change_a_pending_membership_role(co.id, m.id, role="member", if_match=tag)

    resent = pt.company_users.replace_and_resend_a_pending_setup_token(co.id, m.id, idempotency_key=key())
    assert resent.id == m.id and resent.setup_url and resent.setup_url != m.setup_url

    cancelled = pt.company_users.cancel_a_pending_company_membership(co.id, m.id, idempotency_key=key())
    assert cancelled.id == m.id and cancelled.status == "cancelled"
    with refused(pe.ConflictError):
        pt.company_users.cancel_a_pending_company_membership(co.id, m.id, idempotency_key=key())
    with refused(pe.ConflictError):
        pt.company_users.change_a_pending_membership_role(co.id, m.id, role="member")

    dev = pt.company_users.add_a_company_membership(
        co.id, idempotency_key=key(), email=f"{uuid.uuid4().hex[:8]}@example.com", first_name="Dev", last_name="Eloper", role="developer"
    )
    with refused(pe.ConflictError):
        pt.company_users.revoke_an_active_company_membership(co.id, dev.id, idempotency_key=key(), reason="pending")
    backoffice(f"memberships/{dev.id}/activate", token=PARTNER_TOKEN)
    assert pt.company_users.get_a_company_membership(co.id, dev.id).status == "active"
    with refused(pe.ConflictError):
        pt.company_users.change_a_pending_membership_role(co.id, dev.id, role="member")
    revoked = pt.company_users.revoke_an_active_company_membership(co.id, dev.id, idempotency_key=key(), reason="Projekt beendet")
    assert revoked.status == "revoked" and revoked.revocation_reason == "Projekt beendet"
    aware(revoked.revoked_at)
    assert revoked.revoked_by_token_id, "revocations name the token"


# =============================================================================================
# Partner: webhooks and deliveries (ops 126-135)
# =============================================================================================


def test_partner_webhooks_and_deliveries(receiver):
    pt = partner()
    url = receiver.url(f"/partner/{uuid.uuid4().hex}")
    k = key()
    hook = pt.webhooks.create_webhook(idempotency_key=k, url=url, description="SDK partner", events=["company.created", "company.user.added"])
    try:
        assert hook.id and hook.secret_key and hook.enabled is True and hook.companies is None
        assert hook.events == ["company.created", "company.user.added"]
        replay = pt.webhooks.create_webhook(idempotency_key=k, url=url, description="SDK partner", events=["company.created", "company.user.added"])
        assert replay.id == hook.id and not replay.secret_key
        with refused(pe.BadRequestError, "validation_error"):
            pt.webhooks.create_webhook(idempotency_key=key(), url=receiver.url("/x"), events=["order.submitted"])  # Case events need companies

        assert hook.id in [w.id for w in pt.webhooks.list_webhooks(enabled=True, limit=100)]
        got, tag = conditional(pt.webhooks, "get_webhook", hook.id)
        assert got.url == url and "secret_key" not in (got.model_extra or {})
        patched = pt.webhooks.update_webhook(hook.id, if_match=tag, companies="*", events=["*"], description="SDK partner (all)")
        assert patched.companies == "*" and patched.events == ["*"]
        with refused(pe.PreconditionFailedError, "precondition_failed"):
            pt.webhooks.update_webhook(hook.id, if_match=tag, description="stale")
        rotated = pt.webhooks.rotate_webhook_secret(hook.id, idempotency_key=key())
        assert rotated.secret_key and rotated.secret_key != hook.secret_key

        with refused(pe.BadRequestError):
            pt.webhooks.test_webhook(hook.id, idempotency_key=key(), event="order.submitted")  # lifecycle types only
        sent = pt.webhooks.test_webhook(hook.id, idempotency_key=key(), event="company.created")
        assert sent.delivery_id and sent.event_id and sent.detail
        receiver.wait_for(lambda r: r["headers"].get("webhook-id") == sent.event_id)
        delivery = settle(pt.webhook_deliveries.get_webhook_delivery, sent.delivery_id)
        assert delivery.status == "success" and delivery.event_type == "company.created"
        assert delivery.payload.type == "company.created" and delivery.payload.id == sent.event_id
        conditional(pt.webhook_deliveries, "get_webhook_delivery", sent.delivery_id)
        assert sent.delivery_id in [d.id for d in pt.webhook_deliveries.list_webhook_deliveries(webhook=hook.id, limit=100)]
        assert sent.delivery_id in [
            d.id for d in pt.webhook_deliveries.list_webhook_deliveries(webhook=hook.id, event_type="company.created", status="success")
        ]
        again = pt.webhook_deliveries.redeliver_webhook_delivery(sent.delivery_id, idempotency_key=key())
        assert again.event_id == sent.event_id
        settle(pt.webhook_deliveries.get_webhook_delivery, again.delivery_id)

        off = pt.webhooks.update_webhook(hook.id, enabled=False)
        assert off.enabled is False
        with refused(pe.ConflictError, "conflict"):
            pt.webhook_deliveries.redeliver_webhook_delivery(sent.delivery_id, idempotency_key=key())
    finally:
        with contextlib.suppress(ApiError):
            tag = etag_of(pt.webhooks.with_raw_response.get_webhook(hook.id))
            assert pt.webhooks.delete_webhook(hook.id, if_match=tag) is None
    with refused(pe.NotFoundError):
        pt.webhooks.get_webhook(hook.id)


# =============================================================================================
# Partner: the event feed and real lifecycle events (op 121)
# =============================================================================================


def test_partner_events(receiver):
    pt = partner()
    url = receiver.url(f"/partner-events/{uuid.uuid4().hex}")
    hook = pt.webhooks.create_webhook(idempotency_key=key(), url=url, events=["company.created"])
    try:
        co = onboard(pt)  # emits company.created and, for its inline user, company.user.added
        advance_clock("PT2M")  # entries become visible about 60 s after they are recorded
        arrived = receiver.wait_for(lambda r: r["path"] == url[url.index("/partner-events"):] and co.id.encode() in r["body"])
        assert b"company.created" in arrived["body"] and arrived["headers"].get("webhook-id")

        created = [e for e in pt.events.list_events(event_type=["company.created"], limit=100) if e.data.company_id == co.id]
        assert len(created) == 1 and created[0].id == arrived["headers"]["webhook-id"]
        aware(created[0].created_at)
        assert created[0].data.company_url == f"/partner/v2/companies/{co.id}/"
        assert isinstance(created[0].data.case_submission_ready, bool)
        for_company = list(pt.events.list_events(company=co.id, limit=100))
        assert {"company.created", "company.user.added"} <= {e.type for e in for_company}
        assert all(e.data.company_id == co.id for e in for_company)
        added = find(for_company, type="company.user.added")
        assert added.data.membership_id == co.users[0].id

        page = pt.events.list_events(company=co.id, limit=1)
        assert len(page.items) == 1 and page.response.cursor
        assert page.response.next and page.response.next.startswith(("http://", "https://")), page.response.next
        last = None
        for last in page.iter_pages():
            pass
        assert last.response.next is None and last.response.cursor
        quiet = pt.events.list_events(company=co.id, since=last.response.cursor)
        assert quiet.items == [] and quiet.response.cursor == last.response.cursor
        with refused(pe.BadRequestError):
            pt.events.list_events(event_type=["company.deleted"])
    finally:
        with contextlib.suppress(ApiError):
            pt.webhooks.delete_webhook(hook.id)


# =============================================================================================
# Partner keys on the Case Management API (X-On-Behalf-Of-Company)
# =============================================================================================


def test_partner_acting_for_a_company():
    pt = partner()
    co = onboard(pt)
    acting = case(PARTNER_TOKEN, on_behalf_of_company=co.id)
    info = acting.info.get_case_credential_context()
    assert info.company == co.id and info.environment == "sandbox"
    debtor = new_debtor(acting)
    assert acting.debtors.get_debtor(debtor.id).id == debtor.id
    with refused(ce.NotFoundError):
        case().debtors.get_debtor(debtor.id)  # another company's debtor
    order = new_order(acting, debtor.id)
    acting.orders.finalize_order(order.id, idempotency_key=key())
    advance_clock("PT2M")
    events = [e for e in pt.events.list_events(company=co.id, event_type=["order.submitted"], limit=100)]
    assert [e.data.order_id for e in events] == [order.id]
    assert events[0].data.company_id == co.id
    # The SDK sends the header on Partner API calls too; they still answer for the Partner.
    assert sdk(PARTNER_TOKEN, on_behalf_of_company=co.id).partner.meta.get_partner_token_info().partner.id

    pt.companies.release_a_company(co.id, idempotency_key=key())
    with pytest.raises((ce.NotFoundError, ce.ForbiddenError)):
        acting.debtors.get_debtor(debtor.id)


# =============================================================================================
# The suite itself: every SDK operation is called somewhere in this file (no mock needed)
# =============================================================================================


def sdk_operations() -> list[tuple[str, str, str]]:
    client = Paywise(token="x", base_url="http://unused.invalid")
    ops = []
    for top in ("case_management", "partner"):
        root = getattr(client, top)
        for group in sorted(n for n in dir(root) if not n.startswith("_") and n != "with_raw_response"):
            sub = getattr(root, group)
            if not hasattr(sub, "with_raw_response"):
                continue
            for fn in sorted(n for n in dir(type(sub)) if not n.startswith("_") and n != "with_raw_response"):
                if callable(getattr(sub, fn)):
                    ops.append((top, group, fn))
    return ops


def test_suite_calls_every_sdk_operation():
    ops = sdk_operations()
    assert len(ops) == 135, f"the SDK has {len(ops)} operations, the reference 135"
    source = inspect.getsource(inspect.getmodule(test_suite_calls_every_sdk_operation))
    missing = []
    for top, group, fn in ops:
        var = "(?:cm|case_management)" if top == "case_management" else "(?:pt|partner)"
        called = re.search(rf"\b{var}\.{group}\.(?:with_raw_response\.)?{fn}\(", source)
        conditional_get = re.search(rf"conditional\({var}\.{group}, \"{fn}\"", source)
        if not (called or conditional_get):
            missing.append(f"{top}.{group}.{fn}")
    assert not missing, f"operations this file never calls: {missing}"

"""The agents' pages at scale (``make bench``, PostgreSQL only): 100,000 tickets, 1,000,000 messages.

Seeded with INSERT ... SELECT generate_series, like the audit's benchmark.
Measured through Django's test client, in process: the server's time per
request (``time.perf_counter()`` around ``client.get``) and its SQL queries,
for an agent of one queue and for a superuser. Each figure is p50 and p95 over
``BENCH_REQUESTS`` requests after a warm-up. The smoke run (tests/benchmarks/conftest.py): 2,000
tickets, 2,000 messages, one request a page.
"""

import os
import statistics
import time
from dataclasses import dataclass

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from tests.benchmarks.results import report
from tests.factories import ConnectionFactory, QueueFactory, StaffFactory, UserFactory
from tests.seeding import insert_select
from tickets.models import Message, Ticket
from tickets.selectors import InboxFilters, Tab, inbox_page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layer")]


@dataclass(frozen=True)
class Sizes:
    tickets: int
    messages: int
    big_ticket_messages: int
    warm_up: int  # requests of each page not measured
    requests: int  # of each page, measured after the warm-up
    deep_pages: int  # "load more" after this many pages of 50 rows


FULL = Sizes(100_000, 1_000_000, 5_000, 3, int(os.environ.get("BENCH_REQUESTS", "30")), 40)
SMOKE = Sizes(2_000, 2_000, 100, 0, 1, 1)
FIRST_NAMES = [
    "Ana",
    "João",
    "Maria",
    "José",
    "Antônio",
    "Francisca",
    "Carlos",
    "Paulo",
    "Luíza",
    "Pedro",
    "Lucas",
    "Juliana",
    "Márcia",
    "Rafael",
    "Beatriz",
    "Sebastião",
    "Fernanda",
    "Gabriel",
    "Letícia",
]
SURNAMES = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Conceição",
    "Araújo",
    "Ribeiro",
    "Carvalho",
    "Gonçalves",
    "Melo",
    "Barbosa",
]
WORDS = [
    "olá",
    "bom",
    "dia",
    "preciso",
    "pedido",
    "entrega",
    "endereço",
    "boleto",
    "cartão",
    "pagamento",
    "prazo",
    "frete",
    "troca",
    "obrigado",
    "não",
    "chegou",
    "ainda",
    "quando",
    "produto",
    "nota",
    "fiscal",
    "preço",
    "dúvida",
    "atendimento",
    "cancelar",
    "hoje",
    "amanhã",
    "semana",
    "valor",
    "desconto",
    "cupom",
    "loja",
]
RARE_WORD = "devolução"  # in one message of 1,000: a search that must look far
GOALS = {"queries": 10, "p50": 0.050, "p95": 0.150}


def seed(*, sizes: Sizes, connections: list[int], queues: list[int], agents: list[int]) -> None:
    """Contacts, one ticket each (60% closed, 20% open and assigned, 20% pending), then messages."""
    insert_select(
        Contact,
        rows_from="generate_series(1, %(total)s) AS n",
        values={
            "wa_id": "'5511' || n || '@c.us'",
            "phone": "'5511' || n",
            "name": "(%(first)s::text[])[1 + n %% %(nfirst)s] || ' ' || (%(last)s::text[])[1 + (n / 7) %% %(nlast)s]",
        },
        params={
            "first": FIRST_NAMES,
            "nfirst": len(FIRST_NAMES),
            "last": SURNAMES,
            "nlast": len(SURNAMES),
            "total": sizes.tickets,
        },
    )
    insert_select(
        Ticket,
        rows_from="(SELECT id, row_number() OVER (ORDER BY id) AS n FROM contacts_contact) AS c",
        values={
            "contact_id": "c.id",
            "connection_id": "(%(connections)s::bigint[])[1 + n %% %(nconn)s]",
            "queue_id": "(%(queues)s::bigint[])[1 + n %% 5]",
            "assignee_id": "CASE WHEN n %% 10 IN (6, 7) THEN (%(agents)s::bigint[])[1 + n %% %(nagents)s] END",
            "status": "CASE WHEN n %% 10 < 6 THEN 'closed' WHEN n %% 10 < 8 THEN 'open' ELSE 'pending' END",
            "last_message_at": "now() - n * interval '1 minute'",
            "last_message_preview": "'Olá'",
            "last_inbound_at": "now() - n * interval '1 minute'",
            "waiting_since": "now() - n * interval '1 minute'",
            "close_reason": "CASE WHEN n %% 10 < 6 THEN 'agent' ELSE '' END",
            "created_at": "now() - n * interval '1 minute' - interval '1 day'",
        },
        params={
            "connections": connections,
            "nconn": len(connections),
            "queues": [*queues, None],
            "agents": agents,
            "nagents": len(agents),
        },
    )
    with db.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM tickets_ticket")
        first, last = cursor.fetchone()
    # The first ``big_ticket_messages`` messages all go to the first ticket (the one opened below).
    insert_select(
        Message,
        rows_from="""generate_series(1, %(total)s) AS n
               CROSS JOIN (SELECT %(words)s::text[] AS w) AS words
               JOIN tickets_ticket AS t
                 ON t.id = CASE WHEN n <= %(big)s THEN %(first)s ELSE %(first)s + n %% %(span)s END""",
        values={
            "ticket_id": "t.id",
            "connection_id": "t.connection_id",
            "from_me": "n %% 3 = 0",
            "kind": "'text'",
            "body": "w[1 + n %% %(nwords)s] || ' ' || w[1 + (n / 7) %% %(nwords)s] || ' ' "
            "|| w[1 + (n / 53) %% %(nwords)s] || CASE WHEN n %% 1000 = 0 THEN ' ' || %(rare)s ELSE '' END",
            "status": "CASE WHEN n %% 3 = 0 THEN 'read' ELSE 'received' END",
            "created_at": "t.last_message_at - (n %% 500) * interval '1 second'",
        },
        params={
            "words": WORDS,
            "nwords": len(WORDS),
            "rare": RARE_WORD,
            "total": sizes.messages,
            "big": sizes.big_ticket_messages,
            "first": first,
            "span": last - first + 1,
        },
    )
    with db.cursor() as cursor:
        # As autovacuum leaves tables after a bulk load (PostgreSQL 13+ vacuums after inserts too): with
        # the visibility map set, the tabs' counts read their index only. Without it they read the
        # 40,000 open tickets' rows too: 13 ms instead of 4 (measured 2026-11-29, docs/benchmarks.md).
        cursor.execute("VACUUM (ANALYZE) contacts_contact, tickets_ticket, tickets_message")


def timed(client, path: str, *, sizes: Sizes, **headers) -> tuple[list[float], int, list[float]]:
    """(seconds of each request after a warm-up, queries of the last one, CPU seconds of each request).

    The CPU time (``time.process_time``: this process only, waits for PostgreSQL excluded)
    says what a request costs the server when the two cores are shared with other work.

    With ``BENCH_EXPLAIN=1``, prints the plan of the last request's slowest query.
    """
    for _ in range(sizes.warm_up):
        assert client.get(path, **headers).status_code == 200, path
    samples, cpu = [], []
    for _ in range(sizes.requests):
        with CaptureQueriesContext(db) as queries:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path, **headers)
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        assert response.status_code == 200, path
    if os.environ.get("BENCH_EXPLAIN"):
        slowest = max(queries.captured_queries, key=lambda query: float(query["time"]))
        with db.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
            print(path, slowest["time"], slowest["sql"], *(row[0] for row in cursor.fetchall()), sep="\n")
    return samples, len(queries), cpu


def figures(samples: list[float], queries: int, cpu: list[float]) -> tuple[float, float, str]:
    ordered = sorted(samples)
    p50, p95 = statistics.median(ordered), ordered[max(0, round(0.95 * len(ordered)) - 1)]
    met = queries <= GOALS["queries"] and p50 <= GOALS["p50"] and p95 <= GOALS["p95"]
    return (
        p50,
        p95,
        f"p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, {queries} queries, "
        f"CPU p50 {statistics.median(cpu) * 1000:.1f} ms{'' if met else ' (MISSED)'}",
    )


def deep_cursor(user, tab: Tab, pages: int) -> str:
    cursor = None
    for _ in range(pages):
        cursor = inbox_page(user=user, filters=InboxFilters(tab=tab), cursor=cursor).next_cursor
    return cursor


@pytest.mark.usefixtures("rendering_as_in_production")
def test_agents_pages_on_100k_tickets_and_1m_messages(client, scale):
    if db.vendor != "postgresql":
        pytest.skip("the published figures are PostgreSQL's (DATABASE_URL)")
    sizes = scale.pick(FULL, smoke=SMOKE)
    queues = [QueueFactory() for _ in range(4)]
    connections = [ConnectionFactory(status="CONNECTED").pk for _ in range(3)]
    agents = [UserFactory() for _ in range(8)]
    for number, agent in enumerate(agents):
        queues[number % 4].members.add(agent)
    admin = StaffFactory(is_superuser=True)
    started = time.perf_counter()
    seed(sizes=sizes, connections=connections, queues=[q.pk for q in queues], agents=[a.pk for a in agents])
    report(
        f"inbox bench: seeding {sizes.tickets:,} tickets, {sizes.messages:,} messages (and VACUUM ANALYZE)",
        f"{time.perf_counter() - started:.1f} s",
    )
    agent = agents[0]
    with db.cursor() as cursor:  # the ticket with many messages: open, the agent's, in their queue
        cursor.execute(
            "UPDATE tickets_ticket SET status = 'open', assignee_id = %s, queue_id = %s, close_reason = '' "
            "WHERE id = (SELECT min(id) FROM tickets_ticket) RETURNING id",
            [agent.pk, queues[0].pk],
        )
        big = cursor.fetchone()[0]

    misses, deep = [], sizes.deep_pages
    for who, user in (("agent", agent), ("superuser", admin)):
        client.force_login(user)
        tabs = [Tab.MINE, Tab.WAITING, Tab.CLOSED] + ([Tab.ALL] if user.is_superuser else [])
        pages = {f"tab={tab}": f"/inbox/?tab={tab}" for tab in tabs}
        pages |= {
            "search by name (q=Gonçalves)": "/inbox/?tab=closed&q=Gon%C3%A7alves",
            "full text, common word (q=endereço)": "/inbox/?tab=closed&q=endere%C3%A7o",
            "full text, common word unaccented (q=endereco)": "/inbox/?tab=closed&q=endereco",
            f"full text, rare word (q={RARE_WORD})": "/inbox/?tab=closed&q=devolu%C3%A7%C3%A3o",
            "full text, rare word unaccented (q=devolucao)": "/inbox/?tab=closed&q=devolucao",
            f"load more, tab=closed after {deep * 50:,} rows": f"/inbox/more/?tab=closed&cursor={deep_cursor(user, Tab.CLOSED, deep)}",
            f"load more, tab=waiting after {deep * 50:,} rows": f"/inbox/more/?tab=waiting&cursor={deep_cursor(user, Tab.WAITING, deep)}",
        }
        for name, path in pages.items():
            _p50, _p95, line = figures(*timed(client, path, sizes=sizes))
            report(f"{who}: {name}", line)
            if "MISSED" in line:
                misses.append(f"{who}: {name}")
        for name, headers in (("ticket page, htmx", {"HTTP_HX_REQUEST": "true"}), ("ticket page, full", {})):
            _p50, _p95, line = figures(*timed(client, f"/inbox/{big}/", sizes=sizes, **headers))
            report(f"{who}: {name} ({sizes.big_ticket_messages:,} messages)", line)
            if "MISSED" in line:
                misses.append(f"{who}: {name}")
    print("missed goals:", misses or "none")

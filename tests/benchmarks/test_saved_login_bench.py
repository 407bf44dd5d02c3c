"""The login kept centrally (issue 21): the archive's size and the time to save and to restore it, for
the simulator's profile and for one grown by a day of messages (docs/benchmarks.md).

The simulator's profile is a real one: a worker connects a number, saves its login and stops. The grown
one is a copy of it that Chromium itself filled, on the same origin, with what a busy number's day
leaves in WhatsApp Web's IndexedDB and Local Storage (DAY_MESSAGES messages of about 1 KiB, their
chats and contacts). Times are of the work alone: the archive built (read, compressed, encrypted) and
restored (decrypted, checked, written) on this machine's disk; the store's own write is the database's.
"""

import os
import shutil
import statistics
import time

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from tests.benchmarks.results import report
from tests.processes import wait_until
from whatsapp.browser import browser_args
from whatsapp.models import Connection
from whatsapp.profile_archive import archive_build, archive_restore, profile_files
from whatsapp.services import connection_create, connection_request

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.full_size_only(
        "tests/whatsapp/test_machine_loss.py saves and restores a real profile in make test"
    ),
]
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
DAY_MESSAGES = int(os.environ.get("BENCH_DAY_MESSAGES", "5000"))

FILL = """async ([messages, chats]) => {
  const words = "ok obrigado pedido entrega boleto amanhã preço endereço nota fiscal horário troca".split(" ");
  const pick = (n) => Array.from({length: n}, () => words[Math.floor(Math.random() * words.length)]).join(" ");
  const id = () => crypto.getRandomValues(new Uint8Array(10)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "");
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open("model-storage", 1);
    open.onupgradeneeded = () => {
      for (const store of ["message", "chat", "contact"]) open.result.createObjectStore(store, {keyPath: "id"});
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const put = (store, rows) => new Promise((resolve, reject) => {
    const tx = db.transaction(store, "readwrite");
    for (const row of rows) tx.objectStore(store).put(row);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  const chatIds = Array.from({length: chats}, (_, i) => `55119${String(10000000 + i)}@c.us`);
  await put("contact", chatIds.map((c, i) => ({id: c, name: `Cliente ${i}`, pushname: pick(2), verified: false})));
  await put("chat", chatIds.map((c) => ({id: c, t: Date.now(), unreadCount: 0, archive: false, muteExpiration: 0})));
  for (let start = 0; start < messages; start += 500) {
    const rows = [];
    for (let i = start; i < Math.min(messages, start + 500); i++) {
      const chat = chatIds[i % chats];
      rows.push({
        id: `${i % 2 ? "true" : "false"}_${chat}_${id().toUpperCase()}`,
        type: "chat", t: Math.floor(Date.now() / 1000) - i * 17, from: chat, to: "5511999990001@c.us",
        body: pick(8 + (i % 40)), ack: 3, star: false, mediaKey: btoa(id() + id()), encFilehash: btoa(id()),
        quotedStanzaID: i % 7 ? null : id(), isForwarded: false, labels: [],
      });
    }
    await put("message", rows);
  }
  for (let i = 0; i < chats; i++) localStorage.setItem(`last-read-${chatIds[i]}`, String(Date.now() - i));
  db.close();
}"""


def profile_size(path) -> int:
    return sum((path / name).stat().st_size for name in profile_files(path))


def measure(what: str, profile, tmp_path, connection_id: int) -> None:
    saves, restores, sizes = [], [], []
    for run in range(RUNS):
        started = time.perf_counter()
        data = archive_build(profile=profile, connection_id=connection_id)
        saves.append(time.perf_counter() - started)
        sizes.append(len(data))
        target = tmp_path / f"restored-{run}"
        started = time.perf_counter()
        archive_restore(data, profile=target, connection_id=connection_id)
        restores.append(time.perf_counter() - started)
        shutil.rmtree(target)
    report(
        what,
        f"{profile_size(profile) / 1024:.0f} KiB",
        f"{statistics.median(sizes) / 1024:.0f} KiB",
        f"{statistics.median(saves) * 1000:.0f} ms (max {max(saves) * 1000:.0f})",
        f"{statistics.median(restores) * 1000:.0f} ms (max {max(restores) * 1000:.0f})",
        f"n={RUNS}",
        to="logins.md",
    )


def grow_by_a_day(profile, url: str) -> None:
    """Chromium writes a day of a busy number into the profile's IndexedDB and Local Storage, on
    WhatsApp Web's origin (the simulator's, served blank here: the page does not log in)."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=settings.WHATSAPP_BROWSER_PATH or None,
            headless=True,
            args=browser_args(),
        )
        page = context.new_page()
        page.route(url + "**", lambda route: route.fulfill(status=200, content_type="text/html", body="<p>"))
        page.goto(url)
        page.evaluate(FILL, [DAY_MESSAGES, max(1, DAY_MESSAGES // 20)])
        time.sleep(6)  # Local Storage reaches the disk up to 5 s after a change
        context.close()


def test_the_saved_login_s_size_and_its_times_to_save_and_restore(engine, simulator, tmp_path, phone):
    worker = engine.start_worker()
    connection = connection_create(name="Vendas")
    connection_request(connection=connection, enabled=True)
    connection = engine.connect(connection, phone=phone)
    wait_until(connection.saved_logins.exists, timeout=30, message="the login saved centrally")
    worker.stop()  # the browser closed: its profile is complete on disk
    assert Connection.objects.get(pk=connection.pk).saved_logins.exists()
    profile = engine.var_dir / "sessions" / str(connection.pk)

    measure("the simulator's profile", profile, tmp_path, connection.pk)
    grown = tmp_path / "grown"
    shutil.copytree(profile, grown, ignore=shutil.ignore_patterns("Singleton*"))
    grow_by_a_day(grown, simulator.url)
    measure(f"grown by a day: {DAY_MESSAGES} messages", grown, tmp_path, connection.pk)
